/**
 * `kf.session(profile)`: an HTTP client bound to one profile, for SDKs whose API client used to
 * be a `requests.Session` with a bearer token. Every request goes through `kf.fetch`, so the
 * rules are the same: the credential only for the provider's allowed origins, one forced
 * refresh and one retry on a 401, nothing carried across origins on a redirect, relative URLs
 * under the provider's `api_base` (a tenant's `server_url` for an exchange profile).
 *
 * This module imports nothing heavy (only the error classes): the instance imports it up front
 * so that `kf.session()` can return synchronously, as `await using` needs; openid-client and
 * undici still load on the first request, through `kf.fetch`.
 */
import { SessionClosed } from '../errors.js';
import type { KeyfobRequestInit } from '../http/authenticated-fetch.js';

/**
 * A request body: anything `fetch` accepts, or a plain object or array, sent as JSON with
 * `content-type: application/json` (unless the caller set a content type).
 */
export type SessionBody = NonNullable<RequestInit['body']> | Record<string, unknown> | readonly unknown[];

/** What a session's requests accept: `kf.fetch`'s options, with a JSON-capable body. */
export interface SessionRequestInit extends Omit<KeyfobRequestInit, 'body' | 'profile'> {
  body?: SessionBody | null;
}

/** `kf.session(profile, options)`: settings for every request of the session. */
export interface SessionOptions {
  /** The tenant of every request (an exchange profile's); the profile's current one by default. */
  tenant?: string;
  /** RFC 8707 resource of the token; the provider's `resource` by default. */
  resource?: string | null;
  /** Origins outside the provider's own that may receive the credential (as `kf.fetch`'s). */
  allowOrigins?: readonly string[];
  /** Headers sent with every request (a request's own headers win). Never put a credential here. */
  headers?: ConstructorParameters<typeof Headers>[0];
}

/**
 * An HTTP session bound to one profile. Dispose of it when done: `await using session =
 * kf.session('corporate')` in TypeScript (5.2+), or `try { … } finally { await
 * session.close() }` in plain JavaScript.
 */
export interface KeyfobSession extends AsyncDisposable {
  /** The profile the session is bound to; `undefined` follows the instance's selected profile. */
  readonly profile: string | undefined;
  /** True once {@link KeyfobSession.close} was called: every later request is refused. */
  readonly closed: boolean;
  /**
   * Sends a request. A relative URL (`/v1/items` or `v1/items`) is appended to the provider's
   * `api_base` path; an absolute one to another origin is refused (`OriginNotAllowed`) unless
   * listed in `allowOrigins`.
   * @throws AuthenticationRequired when not logged in, or on a 401 that survives a refresh.
   * @throws PermissionDenied on a 403; OriginNotAllowed; SessionClosed after `close()`.
   */
  request(url: string | URL, init?: SessionRequestInit): Promise<Response>;
  /** `GET url`. See {@link KeyfobSession.request}. */
  get(url: string | URL, init?: SessionRequestInit): Promise<Response>;
  /** `POST url` with `body` (an object or array is sent as JSON). See {@link KeyfobSession.request}. */
  post(url: string | URL, body?: SessionBody | null, init?: SessionRequestInit): Promise<Response>;
  /** `PUT url` with `body` (an object or array is sent as JSON). */
  put(url: string | URL, body?: SessionBody | null, init?: SessionRequestInit): Promise<Response>;
  /** `PATCH url` with `body` (an object or array is sent as JSON). */
  patch(url: string | URL, body?: SessionBody | null, init?: SessionRequestInit): Promise<Response>;
  /** `DELETE url` (a body, if any, in `init.body`). */
  delete(url: string | URL, init?: SessionRequestInit): Promise<Response>;
  /**
   * Refuses new requests, waits for the requests in flight to get their answers, then closes
   * the instance's idle connections (those this session opened among them; the instance stays
   * usable and later calls open new ones). Idempotent. Read or cancel every response's body:
   * a connection whose answer is still unread stays open until it is.
   */
  close(): Promise<void>;
  /** Same as {@link KeyfobSession.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** What a session needs of its instance. */
export interface SessionDeps {
  /** The instance's `kf.fetch`. */
  fetch(input: string | URL, init?: KeyfobRequestInit): Promise<Response>;
  /** The instance's `kf.close()`: closes idle connections once requests in flight end. */
  closeConnections(): Promise<void>;
}

/**
 * `Symbol.asyncDispose`: Node 20.19 defines it (as `Symbol.for('nodejs.asyncDispose')`); the
 * fallback keeps `await using` (lowered by TypeScript or esbuild) working where it does not.
 */
const ASYNC_DISPOSE: typeof Symbol.asyncDispose =
  Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);

/** Creates a session; nothing is sent until the first request. */
export function createSession(
  deps: SessionDeps,
  profile: string | undefined,
  options: SessionOptions = {},
): KeyfobSession {
  const inFlight = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;

  const request = (url: string | URL, init: SessionRequestInit = {}): Promise<Response> => {
    if (closing) {
      return Promise.reject(
        new SessionClosed(`this session${profile ? ` of profile ${profile}` : ''} was closed`, {
          hint: 'create a new one with session()',
        }),
      );
    }
    const sent = deps.fetch(url, requestInit(profile, options, init));
    inFlight.add(sent);
    const forget = () => inFlight.delete(sent);
    sent.then(forget, forget);
    return sent;
  };
  const withBody =
    (method: string) =>
    (url: string | URL, body?: SessionBody | null, init: SessionRequestInit = {}) =>
      request(url, { ...init, method, ...(body !== undefined ? { body } : {}) });
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await Promise.allSettled([...inFlight]);
      await deps.closeConnections();
    })();
    return closing;
  };
  return {
    profile,
    get closed() {
      return closing !== undefined;
    },
    request,
    get: (url, init = {}) => request(url, { ...init, method: 'GET' }),
    post: withBody('POST'),
    put: withBody('PUT'),
    patch: withBody('PATCH'),
    delete: (url, init = {}) => request(url, { ...init, method: 'DELETE' }),
    close,
    [ASYNC_DISPOSE]: close,
  };
}

/** The `kf.fetch` options of one request: the session's settings under the request's own. */
function requestInit(
  profile: string | undefined,
  options: SessionOptions,
  init: SessionRequestInit,
): KeyfobRequestInit {
  const headers = new Headers(options.headers);
  for (const [name, value] of new Headers(init.headers)) headers.set(name, value);
  const { body, ...rest } = init;
  const out: KeyfobRequestInit = {
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    ...(options.resource !== undefined ? { resource: options.resource } : {}),
    ...rest,
    ...(profile !== undefined ? { profile } : {}),
    allowOrigins: [...(options.allowOrigins ?? []), ...(init.allowOrigins ?? [])],
    headers,
  };
  if (body === undefined || body === null) return out;
  if (isJsonBody(body)) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    // A string: kf.fetch replays it on the retry after a 401.
    return { ...out, body: JSON.stringify(body) };
  }
  return { ...out, body: body as NonNullable<RequestInit['body']> };
}

/** A plain object or an array: what `JSON.stringify` should send, not what fetch knows. */
function isJsonBody(body: SessionBody): body is Record<string, unknown> | readonly unknown[] {
  if (Array.isArray(body)) return true;
  if (typeof body !== 'object' || body === null) return false;
  const proto = Object.getPrototypeOf(body);
  return proto === Object.prototype || proto === null;
}
