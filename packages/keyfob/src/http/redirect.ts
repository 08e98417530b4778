/**
 * What a redirect may carry. DESIGN.md, Security rules: `fetch` sends nothing of the caller's to
 * another origin on a redirect. A hop that leaves the scope the credential was sent under (its
 * origin, and a path prefix such as a tenant's `server_url`) is followed only when it resends no
 * body (a GET or HEAD, or a 303 and a POST's 301/302, which become GET), and then with only
 * headers that carry no credential; a hop that would resend a body is not followed at all, and
 * the caller gets the redirect response.
 *
 * Pure functions, so that every client that sends a credential (kf.fetch, the control planes)
 * applies the same rule.
 */

/** Where a credential was sent: an origin and a path prefix under it, in whole segments. */
export interface CredentialScope {
  /** `scheme://host[:port]`, as `URL.origin` gives it. */
  origin: string;
  /** `/` for the whole origin; `/north-1` covers `/north-1` and `/north-1/…`, never `/north-10`. */
  pathPrefix: string;
}

/** Statuses keyfob follows by hand. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Headers that may follow a redirect out of the credential's scope: they describe what the
 * client accepts and carry nothing of the caller's (no cookie, key, token or custom header).
 */
export const CROSS_SCOPE_HEADERS: ReadonlySet<string> = new Set(['accept', 'accept-language', 'user-agent']);

/** Headers that describe a request body; they go when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];

/** The scope of a credential sent to `url`, under `pathPrefix` (the whole origin by default). */
export function credentialScope(url: URL, pathPrefix = '/'): CredentialScope {
  return { origin: url.origin, pathPrefix: normalizePrefix(pathPrefix) };
}

/** Whether `url` is inside `scope`: the same origin, and the prefix as whole path segments. */
export function inScope(url: URL, scope: CredentialScope): boolean {
  if (url.origin !== scope.origin) return false;
  const prefix = normalizePrefix(scope.pathPrefix);
  if (prefix === '/') return true;
  return url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
}

/** The request a redirect leads to, or why it is not followed. */
export type RedirectDecision =
  | {
      follow: true;
      url: URL;
      method: string;
      /** `false` when the body is dropped (the request became a GET). */
      keepBody: boolean;
      /** The headers to send, already stripped when the hop leaves the scope. */
      headers: Headers;
      /** Whether this hop leaves the credential's scope (the credential is dropped for good). */
      leavesScope: boolean;
      /** Lower-case names of the caller's headers dropped on this hop; never their values. */
      dropped: string[];
    }
  | { follow: false; url: URL; reason: string };

/** A redirect answer and the request that got it. */
export interface RedirectInput {
  status: number;
  /** The `Location` header. */
  location: string;
  /** The URL that answered. */
  from: URL;
  method: string;
  headers: Headers;
  scope: CredentialScope;
  /** Whether an earlier hop already left the scope: then every later hop counts as leaving it. */
  alreadyOut: boolean;
}

/**
 * Decides a redirect. The method changes as fetch does (303 → GET except for HEAD; 301/302 of
 * a POST → GET); out of scope, a request that would still carry a body (a 307/308 of anything
 * but GET or HEAD) is not followed, and the rest keep only {@link CROSS_SCOPE_HEADERS}.
 */
export function decideRedirect(input: RedirectInput): RedirectDecision {
  const url = new URL(input.location, input.from);
  const method = input.method.toUpperCase();
  const toGet =
    (input.status === 303 && method !== 'HEAD') ||
    ((input.status === 301 || input.status === 302) && method === 'POST');
  const nextMethod = toGet ? 'GET' : method;
  const leavesScope = input.alreadyOut || !inScope(url, input.scope);
  if (leavesScope && nextMethod !== 'GET' && nextMethod !== 'HEAD') {
    return {
      follow: false,
      url,
      reason: `a ${input.status} to another origin would resend the ${method} request's body`,
    };
  }
  const headers = new Headers(input.headers);
  const dropped: string[] = [];
  const drop = (name: string) => {
    if (!headers.has(name)) return;
    headers.delete(name);
    dropped.push(name);
  };
  if (toGet) for (const name of BODY_HEADERS) drop(name);
  if (leavesScope) {
    for (const name of [...headers.keys()]) if (!CROSS_SCOPE_HEADERS.has(name)) drop(name);
  }
  return { follow: true, url, method: nextMethod, keepBody: !toGet, headers, leavesScope, dropped };
}

function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
