/**
 * A minimal browser for the HTTP robot: a cookie jar for one origin, manual redirects, and a
 * parser for the plain HTML forms dev-idp serves. It understands dev-idp's own pages and
 * oidc-provider's auto-submit form, nothing more.
 */

/** One response, with the redirect target resolved. */
export interface RobotPage {
  url: string;
  status: number;
  html: string;
  /** Absolute redirect target of a 3xx response. */
  location?: string;
}

/** A control of a form: an `<input>` or a `<button>`. */
export interface FormControl {
  tag: 'input' | 'button';
  name?: string;
  value: string;
  type: string;
  id?: string;
}

/** A parsed `<form>`. */
export interface RobotForm {
  action: string;
  method: string;
  controls: FormControl[];
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

const MAX_REDIRECTS = 20;
const ATTRIBUTE = /([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;

/** Decodes the character references dev-idp and oidc-provider emit. */
export function decodeHtml(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos|#39);/gi, (_all, entity: string) => {
    const lower = entity.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(Number.parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number.parseInt(lower.slice(1), 10));
    return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[lower] ?? '';
  });
}

function attributes(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of source.matchAll(ATTRIBUTE)) {
    const name = match[1]?.toLowerCase();
    if (name) out[name] = decodeHtml(match[2] ?? match[3] ?? match[4] ?? '');
  }
  return out;
}

/** Every form of a page, with its action resolved against the page URL. */
export function parseForms(html: string, pageUrl: string): RobotForm[] {
  const forms: RobotForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = attributes(match[1] ?? '');
    const body = match[2] ?? '';
    const controls: FormControl[] = [];
    for (const control of body.matchAll(/<(input|button)\b([^>]*?)\/?>/gi)) {
      const tag = control[1]?.toLowerCase() === 'button' ? 'button' : 'input';
      const a = attributes(control[2] ?? '');
      controls.push({
        tag,
        name: a.name,
        value: a.value ?? '',
        type: (a.type ?? (tag === 'button' ? 'submit' : 'text')).toLowerCase(),
        id: a.id,
      });
    }
    forms.push({
      action: new URL(attrs.action ?? pageUrl, pageUrl).href,
      method: (attrs.method ?? 'get').toLowerCase(),
      controls,
    });
  }
  return forms;
}

/** True when the page has an element with this id. */
export function hasId(html: string, id: string): boolean {
  return new RegExp(`\\bid="${id}"`).test(html);
}

/** The text inside the element with this id, tags stripped, or undefined. */
export function textOfId(html: string, id: string): string | undefined {
  const match = new RegExp(`<(\\w+)\\b[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(html);
  if (!match) return undefined;
  return decodeHtml((match[2] ?? '').replace(/<[^>]*>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
}

/** The page's `<title>`, for error messages. */
export function titleOf(html: string): string {
  return decodeHtml(/<title>([\s\S]*?)<\/title>/i.exec(html)?.[1] ?? '').trim();
}

/** A cookie-keeping HTTP client confined to one origin. */
export class RobotBrowser {
  readonly origin: string;
  #cookies: Cookie[] = [];

  constructor(origin: string) {
    this.origin = origin;
  }

  /** True when `url` is on this browser's origin. */
  isHome(url: string): boolean {
    return new URL(url).origin === this.origin;
  }

  /** One request, redirects not followed. */
  async request(url: string, init: { method?: string; form?: URLSearchParams } = {}): Promise<RobotPage> {
    const target = new URL(url);
    if (target.origin !== this.origin)
      throw new Error(`dev-idp robot: refusing to send cookies to ${target.origin}`);
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = this.#cookieHeader(target.pathname);
    if (cookie) headers.cookie = cookie;
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(target, {
      method: init.method ?? 'GET',
      headers,
      body: init.form?.toString(),
      redirect: 'manual',
    });
    for (const line of response.headers.getSetCookie()) this.#store(line, target.pathname);
    const html = await response.text();
    const location = response.headers.get('location');
    return {
      url: target.href,
      status: response.status,
      html,
      ...(location ? { location: new URL(location, target).href } : {}),
    };
  }

  /**
   * Follows redirects while they stay on this origin; returns the first page that is not a
   * redirect, or the redirect that leaves the origin (unfollowed).
   */
  async follow(page: RobotPage): Promise<RobotPage> {
    let current = page;
    for (let hops = 0; hops < MAX_REDIRECTS; hops += 1) {
      if (current.status < 300 || current.status >= 400 || !current.location) return current;
      if (!this.isHome(current.location)) return current;
      current = await this.request(current.location);
    }
    throw new Error(`dev-idp robot: more than ${MAX_REDIRECTS} redirects from ${page.url}`);
  }

  /** Submits `form` as a browser would after clicking `button` (or pressing Enter). */
  async submit(
    form: RobotForm,
    fields: Record<string, string> = {},
    button?: FormControl,
  ): Promise<RobotPage> {
    const body = new URLSearchParams();
    for (const control of form.controls) {
      if (!control.name || control.tag === 'button' || control.type === 'submit' || control.type === 'button')
        continue;
      body.append(control.name, fields[control.name] ?? control.value);
    }
    for (const [name, value] of Object.entries(fields)) {
      if (!body.has(name)) body.append(name, value);
    }
    if (button?.name) body.append(button.name, button.value);
    const method = form.method === 'post' ? 'POST' : 'GET';
    if (method === 'GET') {
      const url = new URL(form.action);
      url.search = body.toString();
      return this.follow(await this.request(url.href));
    }
    return this.follow(await this.request(form.action, { method, form: body }));
  }

  #cookieHeader(path: string): string {
    return this.#cookies
      .filter((cookie) => pathMatches(path, cookie.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  #store(line: string, requestPath: string): void {
    const [pair = '', ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let path = requestPath.slice(0, requestPath.lastIndexOf('/')) || '/';
    let expired = false;
    for (const attr of attrs) {
      const [key = '', ...rest] = attr.split('=');
      const attrValue = rest.join('=').trim();
      switch (key.trim().toLowerCase()) {
        case 'path':
          if (attrValue.startsWith('/')) path = attrValue;
          break;
        case 'max-age':
          if (Number(attrValue) <= 0) expired = true;
          break;
        case 'expires':
          if (Date.parse(attrValue) <= Date.now()) expired = true;
          break;
      }
    }
    this.#cookies = this.#cookies.filter((cookie) => !(cookie.name === name && cookie.path === path));
    if (!expired) this.#cookies.push({ name, value, path });
  }
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}
