/**
 * A tool's URL and header templates (DESIGN.md, Agent tools): `${VAR}` from the keyfob
 * instance's environment, bound once when the executor is made, and `{param}` from a call's
 * parameters, which may fill only path segments and query values, each at most once, URL-encoded
 * (`encodeURIComponent`), in a single pass: neither a variable's value nor a parameter's is ever
 * read as a template again. A value cannot change the URL's structure: `/`, `?`, `#` and `%` are
 * encoded, and a filled path that the URL parser would rewrite (`.` or `..` segments) is refused.
 */
import { InvalidInput } from '../errors.js';

/** One piece of a template: literal text, a `${VAR}` or a `{param}`. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string }
  | { kind: 'param'; name: string };

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Splits a template into its parts.
 * @param allowParams false for header values, which no parameter may fill.
 * @throws InvalidInput for an unclosed or malformed `${…}` / `{…}`, a stray `}`, a parameter
 *   used twice, or a parameter where none is allowed; `what` names the template.
 */
export function parseTemplate(template: string, what: string, allowParams: boolean): TemplatePart[] {
  const parts: TemplatePart[] = [];
  const seen = new Set<string>();
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    const isVar = c === '$' && template[i + 1] === '{';
    if (c !== '{' && !isVar) {
      if (c === '}') throw new InvalidInput(`${what}: a "}" without its "{"`);
      text += c;
      continue;
    }
    const open = isVar ? i + 2 : i + 1;
    const close = template.indexOf('}', open);
    if (close < 0) throw new InvalidInput(`${what}: a "${isVar ? '${' : '{'}" without its "}"`);
    const name = template.slice(open, close);
    if (text) parts.push({ kind: 'text', text });
    text = '';
    if (isVar) {
      if (!VAR_NAME.test(name)) throw new InvalidInput(`${what}: \${${name}} is not a variable name`);
      parts.push({ kind: 'var', name });
    } else {
      if (!PARAM_NAME.test(name)) throw new InvalidInput(`${what}: {${name}} is not a parameter name`);
      if (!allowParams) {
        throw new InvalidInput(
          `${what}: parameters may fill only the URL's path and query values, not {${name}} here`,
        );
      }
      if (name === 'action') throw new InvalidInput(`${what}: {action} is reserved (it picks the action)`);
      if (seen.has(name))
        throw new InvalidInput(`${what}: {${name}} is used twice (each parameter fills one place)`);
      seen.add(name);
      parts.push({ kind: 'param', name });
    }
    i = close;
  }
  if (text) parts.push({ kind: 'text', text });
  return parts;
}

/** The parameter names of a template, in order. */
export function paramsOf(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((p) => (p.kind === 'param' ? [p.name] : []));
}

/** The variable names of a template, in order. */
export function varsOf(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((p) => (p.kind === 'var' ? [p.name] : []));
}

/** A URL template with its variables bound: an origin, and a path and query still holding parameters. */
export interface BoundUrl {
  /** `https://host:port`, no parameter in it. */
  readonly origin: string;
  readonly path: TemplatePart[];
  readonly query: TemplatePart[];
}

/**
 * Binds a URL template's variables and checks where its parameters stand: only in the path or
 * in query values (never the scheme, userinfo, host, port, fragment or a query key).
 * @param value a variable's value, or `undefined` when it is unset.
 * @throws InvalidInput for an unset variable, a URL that is not http(s), userinfo or a fragment
 *   in the template, or a parameter anywhere else.
 */
export function bindUrl(
  parts: readonly TemplatePart[],
  what: string,
  value: (name: string) => string | undefined,
): BoundUrl {
  // Each parameter stands as a marker no variable value can forge (a nonce), so the URL parser
  // shows where it landed.
  const nonce = Math.random().toString(36).slice(2, 10);
  const marker = (i: number) => `kfp${nonce}x${i}x`;
  const names: string[] = [];
  let rendered = '';
  for (const part of parts) {
    if (part.kind === 'text') rendered += part.text;
    else if (part.kind === 'var') {
      const v = value(part.name);
      if (v === undefined) throw new InvalidInput(`${what}: \${${part.name}} is not set in the environment`);
      rendered += v;
    } else {
      rendered += marker(names.length);
      names.push(part.name);
    }
  }
  const url = URL.parse(rendered);
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new InvalidInput(`${what}: not an http(s) URL once its variables are set`);
  }
  if (url.username || url.password) throw new InvalidInput(`${what}: a URL with userinfo is refused`);
  if (url.hash || rendered.includes('#')) throw new InvalidInput(`${what}: a URL with a fragment is refused`);
  const has = (s: string) => s.includes(`kfp${nonce}`);
  if (has(url.host) || has(url.protocol)) {
    throw new InvalidInput(`${what}: a parameter may not fill the scheme, host or port`);
  }
  const query = url.search.replace(/^\?/, '');
  for (const pair of query.split('&')) {
    const key = pair.split('=')[0] ?? '';
    if (has(key)) throw new InvalidInput(`${what}: a parameter may fill a query value, not a query key`);
  }
  const split = (s: string): TemplatePart[] => {
    const out: TemplatePart[] = [];
    const re = new RegExp(`kfp${nonce}x(\\d+)x`, 'g');
    let last = 0;
    for (const m of s.matchAll(re)) {
      if (m.index > last) out.push({ kind: 'text', text: s.slice(last, m.index) });
      out.push({ kind: 'param', name: names[Number(m[1])] ?? '' });
      last = m.index + m[0].length;
    }
    if (last < s.length) out.push({ kind: 'text', text: s.slice(last) });
    return out;
  };
  return { origin: url.origin, path: split(url.pathname), query: split(url.search) };
}

/** Fills a template that has no parameters (a header value) with its variables. */
export function bindText(
  parts: readonly TemplatePart[],
  what: string,
  value: (name: string) => string | undefined,
): string {
  return parts
    .map((part) => {
      if (part.kind === 'text') return part.text;
      const v = part.kind === 'var' ? value(part.name) : undefined;
      if (v === undefined) throw new InvalidInput(`${what}: \${${part.name}} is not set in the environment`);
      return v;
    })
    .join('');
}

/**
 * The request URL for a call: every parameter URL-encoded into its place, in one pass.
 * @returns the URL, or a sentence saying why the values cannot be used (nothing is sent then).
 */
export function fillUrl(bound: BoundUrl, values: Readonly<Record<string, string>>): URL | string {
  const fill = (parts: readonly TemplatePart[]) =>
    parts
      .map((p) =>
        p.kind === 'param' ? encodeURIComponent(values[p.name] ?? '') : p.kind === 'text' ? p.text : '',
      )
      .join('');
  for (const part of bound.path) {
    if (part.kind === 'param' && (values[part.name] ?? '') === '') {
      return `parameter ${part.name} is empty; a path segment needs a value`;
    }
  }
  const path = fill(bound.path);
  const search = fill(bound.query);
  const url = new URL(`${bound.origin}${path}${search}`);
  // `.` and `..` segments (also as `%2e`) are rewritten by the URL parser: the request would go
  // elsewhere than the declaration says, so it is not sent.
  if (url.pathname !== path || url.search !== search) {
    return 'a parameter value would change the path (a "." or ".." segment); refused';
  }
  return url;
}
