/**
 * The rules every request of a keyfob instance passes, applied once at the root: the instance's
 * fetch, which openid-client (`customFetch`), oauth4webapi, jose's JWKS download, `kf.http` and
 * `kf.fetch` all go through.
 *
 * - Plain `http` only on a loopback address, for every URL, checked before anything is sent:
 *   a discovery document on 127.0.0.1 that names `http://<another host>/token` must not receive
 *   the client secret in clear text. Redirects a caller asked fetch to follow are followed here,
 *   one hop at a time, so each hop passes the same rule.
 * - Every response keyfob reads is read up to a bound, counting bytes as they arrive (a declared
 *   `Content-Length` past the bound is refused before reading); past it the connection is
 *   closed and the request fails with `ResponseTooLarge`, memory staying bounded.
 *
 * The body is read here, whole and bounded, before the response is handed on: the error is then
 * thrown by the fetch call itself, so the libraries above report keyfob's error whatever they
 * would have made of a body that broke off (a content-type complaint, a JSON syntax error).
 */
import { InsecureUrl, NetworkError, ResponseTooLarge } from '../errors.js';
import { isLoopbackHost } from '../url.js';

type Fetch = typeof globalThis.fetch;
type FetchInput = Parameters<Fetch>[0];

const MIB = 1024 * 1024;
/** The most keyfob reads of a response to a GET (discovery, JWKS, userinfo). */
export const RESPONSE_LIMIT_BYTES = 1 * MIB;
/**
 * The most keyfob reads of a response to any other method: token, device authorization,
 * revocation and introspection requests are POSTs, and a token response may carry large tokens.
 */
export const POST_RESPONSE_LIMIT_BYTES = 4 * MIB;
const MAX_REDIRECTS = 20;
const REDIRECTS: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Statuses whose response cannot carry a body (the Response constructor refuses one). */
const NULL_BODY: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);
/** Headers that carry a credential: never sent on to another origin by a redirect. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

export interface GuardOptions {
  /**
   * Read each response whole, up to the bounds. `false` for `kf.fetch`, whose caller reads the
   * body of its own API (which may be any size); the URL rule holds either way.
   */
  bounded: boolean;
}

/**
 * Wraps a fetch (the instance's dispatcher, or one given to `createKeyfob`) with keyfob's
 * transport rules.
 * @throws InsecureUrl before sending anything to a plain-http URL off loopback (or a redirect to
 *   one); ResponseTooLarge when a bounded response exceeds its bound; NetworkError after more
 *   than 20 redirects.
 */
export function guardFetch(fetch: Fetch, options: GuardOptions): Fetch {
  const guarded = (async (input: FetchInput, init?: RequestInit) => {
    const url = requestUrl(input);
    refuseInsecure(url, 'a request');
    const request = asRequest(input);
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const mode = init?.redirect ?? request?.redirect ?? 'follow';
    const response =
      mode === 'follow' ? await follow(fetch, url, input, init, method) : await fetch(input, init);
    if (!options.bounded) return response;
    const limit = method === 'GET' || method === 'HEAD' ? RESPONSE_LIMIT_BYTES : POST_RESPONSE_LIMIT_BYTES;
    return readBounded(response, limit, response.url ? safeUrl(response.url, url) : url);
  }) as Fetch;
  if (options.bounded) alreadyBounded.add(guarded);
  return guarded;
}

/** Fetches that {@link guardFetch} made with `bounded: true`. */
const alreadyBounded = new WeakSet<Fetch>();
const boundedVersions = new WeakMap<Fetch, Fetch>();

/**
 * `fetch` under the transport rules with every response bounded: the instance's own fetch as it
 * is, and any other (a caller's, given to `checkToken`) wrapped once and kept, so caches keyed
 * by the fetch (discovery, JWKS) still find their entries.
 */
export function boundedFetch(fetch: Fetch): Fetch {
  if (alreadyBounded.has(fetch)) return fetch;
  let wrapped = boundedVersions.get(fetch);
  if (!wrapped) {
    wrapped = guardFetch(fetch, { bounded: true });
    boundedVersions.set(fetch, wrapped);
  }
  return wrapped;
}

/**
 * Holds every endpoint a discovery document names to the issuer's rule, before any is used.
 * @param metadata The server's metadata as discovery returned it.
 * @param source What the metadata is, for the message: `the discovery document of <issuer>`.
 * @returns `true` when some endpoint is plain http on loopback (the OAuth library must then be
 *   told to allow plain http, which it refuses by default).
 * @throws InsecureUrl naming the first endpoint that is plain http off loopback.
 */
export function checkMetadataEndpoints(metadata: Readonly<Record<string, unknown>>, source: string): boolean {
  let loopbackHttp = false;
  for (const [name, value] of Object.entries(metadata)) {
    if (!(name.endsWith('_endpoint') || name === 'jwks_uri') || typeof value !== 'string') continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue; // not a URL: the library refuses it where it is used, if it is used
    }
    if (url.protocol !== 'http:') continue;
    if (!isLoopbackHost(url.hostname)) {
      throw new InsecureUrl(
        `${source} names ${name} ${display(url)}, which is plain http on a non-loopback address; nothing was sent to it`,
        {
          hint: 'the provider must publish https endpoints (plain http is allowed only on 127.0.0.0/8, ::1 and localhost; 0.0.0.0 is not loopback)',
        },
      );
    }
    loopbackHttp = true;
  }
  return loopbackHttp;
}

/** The text of a URL keyfob may print: origin and path, never a query or fragment; at most 200 characters. */
function display(url: URL): string {
  const text = `${url.origin}${url.pathname}`;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function refuseInsecure(url: URL, what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
  const why =
    url.protocol === 'http:'
      ? 'plain http is allowed only on loopback (127.0.0.0/8, ::1, localhost; 0.0.0.0 is not loopback)'
      : `keyfob speaks only https (or http on loopback), not ${url.protocol.slice(0, 20)}`;
  throw new InsecureUrl(`refused ${what} to ${display(url)}: ${why}; nothing was sent`, {
    hint: 'use an https URL for this endpoint (check the provider configuration and its discovery document)',
  });
}

function asRequest(input: FetchInput): Request | null {
  return typeof input === 'object' && !(input instanceof URL) ? input : null;
}

function requestUrl(input: FetchInput): URL {
  const request = asRequest(input);
  try {
    return new URL(request ? request.url : String(input));
  } catch {
    throw new InsecureUrl('refused a request to something that is not an absolute URL; nothing was sent');
  }
}

/** The URL a response came from, or the one asked for when it does not parse. */
function safeUrl(text: string, fallback: URL): URL {
  try {
    return new URL(text);
  } catch {
    return fallback;
  }
}

/**
 * What fetch's `redirect: 'follow'` does, one checked hop at a time: 303 (and 301/302 after a
 * POST) turn into a GET without a body; 307/308 resend the body when it can be sent twice, else
 * the redirect itself is the answer; credential headers never cross to another origin.
 */
async function follow(
  fetch: Fetch,
  url: URL,
  input: FetchInput,
  init: RequestInit | undefined,
  firstMethod: string,
): Promise<Response> {
  const request = asRequest(input);
  let response = await fetch(input, { ...init, redirect: 'manual' });
  let current = url;
  let method = firstMethod;
  let body: RequestInit['body'] = init?.body ?? null;
  // A Request's own body is a stream that has been sent: it cannot go out again.
  const bodyUnsendable = init?.body === undefined && request?.body != null;
  const headers = new Headers(init?.headers ?? request?.headers);
  const signal = init?.signal ?? request?.signal ?? null;
  for (let hop = 1; ; hop++) {
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null) return response;
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      return response;
    }
    const toGet =
      (response.status === 303 && method !== 'HEAD') ||
      ((response.status === 301 || response.status === 302) && method === 'POST');
    if (!toGet && method !== 'GET' && method !== 'HEAD' && (bodyUnsendable || !replayable(body))) {
      return response;
    }
    await response.body?.cancel();
    if (hop > MAX_REDIRECTS) {
      throw new NetworkError(`more than ${MAX_REDIRECTS} redirects from ${display(url)}`);
    }
    refuseInsecure(next, `a redirect from ${display(current)}`);
    if (toGet) {
      method = 'GET';
      body = null;
      headers.delete('content-type');
    }
    if (next.origin !== current.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
    current = next;
    response = await fetch(next.href, { ...init, method, headers, body, signal, redirect: 'manual' });
  }
}

/** A body fetch can send a second time: anything but a stream. */
function replayable(body: RequestInit['body']): boolean {
  return (
    !(body instanceof ReadableStream) &&
    !(typeof body === 'object' && body !== null && Symbol.asyncIterator in body)
  );
}

/**
 * The response with its body read, up to `limit` bytes. Past it the body stream is cancelled,
 * which closes the connection, and nothing read so far is kept.
 */
async function readBounded(response: Response, limit: number, url: URL): Promise<Response> {
  if (response.body === null) return response;
  const tooLarge = () =>
    new ResponseTooLarge(
      `the response from ${display(url)} is larger than ${limit / MIB} MiB, the most keyfob reads of it; keyfob stopped reading and closed the connection`,
      { hint: "no OAuth response is that large: check that the provider's URLs point at the right server" },
    );
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  // A compressed body's length says nothing certain about the decoded one: count that instead.
  if (!response.headers.has('content-encoding') && declared > limit) {
    await response.body.cancel().catch(() => {});
    throw tooLarge();
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      chunks.length = 0;
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const bytes = Buffer.concat(chunks, total);
  const status = response.status;
  const copy = buildResponse(NULL_BODY.has(status) ? null : bytes, response);
  // The constructor cannot set these; callers (redirect handling, messages) may read them.
  Object.defineProperty(copy, 'url', { value: response.url });
  Object.defineProperty(copy, 'redirected', { value: response.redirected });
  return copy;
}

function buildResponse(body: Uint8Array | null, from: Response): Response {
  const init = { status: from.status, statusText: from.statusText, headers: from.headers };
  try {
    return new Response(body, init);
  } catch {
    // A reason phrase the constructor will not take: it carries no meaning, drop it.
    return new Response(body, { ...init, statusText: '' });
  }
}
