/**
 * The credential proxy's request handling: the key checked in constant time, the target mapped
 * under the upstream base (or refused), the caller's credentials and hop-by-hop headers dropped,
 * keyfob's credential placed, and the answer streamed back with `Set-Cookie` dropped and echoed
 * credentials redacted (headers and body, across chunk boundaries).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AuthenticationRequired, KeyfobError } from '../errors.js';
import { HeldSecrets } from '../held-secrets.js';
import { type CredentialPlacement, placeCredential } from '../http/credential.js';
import type { TokenResult } from '../instance/types.js';
import type { Logger } from '../log.js';
import type { ProxyCredential } from './credential.js';
import { RedactStream } from './redact-stream.js';
import { mapTarget, type Upstream } from './upstream.js';

export interface ProxyHandlerDeps {
  key: string;
  /** The app's key header, lower-case: `x-keyfob-proxy-key`. */
  keyHeader: string;
  /** For the `Proxy-Authenticate` realm. */
  app: string;
  upstream: Upstream;
  credential: ProxyCredential;
  placement: CredentialPlacement;
  fetch: typeof globalThis.fetch;
  loginCommand: string;
  log: Logger;
  /** The proxy's own port: `Host` must name it (DNS rebinding). */
  port(): number;
}

/** Request headers never forwarded: hop-by-hop, the transport's, and the caller's credentials. */
const DROPPED_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'cookie',
  'accept-encoding',
  'expect',
]);

/** Response headers never returned: hop-by-hop, cookies, and the body's framing (re-made here). */
const DROPPED_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'set-cookie',
  'set-cookie2',
  'content-length',
  'content-encoding',
]);

/** Methods whose request is retried once after a forced refresh when upstream answers 401. */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

/** The request handler of the proxy's server. */
export function proxyHandler(deps: ProxyHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const expected = digest(deps.key);
  /** The token last renewed after a 401: each token is renewed that way once, never in a loop. */
  let renewedAfter401: string | undefined;
  const renewAfter401 = async (used: string): Promise<TokenResult | undefined> => {
    if (renewedAfter401 === used) return undefined;
    renewedAfter401 = used;
    return deps.credential.token(true);
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      deps.log.debug('proxy.failed', { reason: error instanceof KeyfobError ? error.code : 'error' });
      if (!res.headersSent) {
        answer(res, 502, { error: 'proxy_error', message: 'the request could not be forwarded' });
      } else {
        res.destroy();
      }
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!keyMatches(req, deps.keyHeader, expected)) {
      // 407 answers the proxy's own scheme; fetch() reports any 407 as a bare "fetch failed", so a
      // tool that sent the key header (or nothing) gets a 401 it can read.
      const proxyStyle = req.headers['proxy-authorization'] !== undefined;
      if (proxyStyle) res.setHeader('proxy-authenticate', `Bearer realm="${deps.app}-proxy"`);
      else res.setHeader('www-authenticate', `ProxyKey realm="${deps.app}-proxy"`);
      answer(res, proxyStyle ? 407 : 401, {
        error: 'proxy_key_required',
        message: `send the proxy key as Proxy-Authorization: Bearer KEY or ${deps.keyHeader}: KEY`,
      });
      return;
    }
    if (!hostMatches(req.headers.host, deps.port())) {
      answer(res, 403, {
        error: 'bad_host',
        message: 'the Host header must name the proxy (127.0.0.1:PORT)',
      });
      return;
    }
    if (req.headers.upgrade !== undefined) {
      answer(res, 501, {
        error: 'upgrade_refused',
        message: 'the proxy does not forward Upgrade (WebSocket)',
      });
      return;
    }
    const mapped = mapTarget(req.url ?? '', deps.upstream);
    if (!mapped.ok) {
      answer(res, mapped.status, { error: mapped.error, message: mapped.message });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const length = req.headers['content-length'];
    // A zero Content-Length (sent by some clients on DELETE) is no body: the request may be retried.
    const hasBody =
      req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });

    let token: TokenResult;
    try {
      token = await deps.credential.token(false);
    } catch (error) {
      authRequired(res, error);
      return;
    }
    const send = (current: TokenResult) =>
      deps.fetch(mapped.url.href, {
        method,
        headers: forwardHeaders(req, deps, current.access_token),
        body:
          hasBody && method !== 'GET' && method !== 'HEAD' ? (Readable.toWeb(req) as ReadableStream) : null,
        redirect: 'manual',
        signal: aborted.signal,
        ...({ duplex: 'half' } as object),
      });
    let response: Response;
    try {
      response = await send(token);
      if (response.status === 401) {
        const renewed = await renewAfter401(token.access_token);
        if (renewed && RETRYABLE.has(method) && !hasBody) {
          await response.body?.cancel();
          token = renewed;
          response = await send(token);
        }
      }
    } catch (error) {
      if (error instanceof AuthenticationRequired) {
        authRequired(res, error);
        return;
      }
      if (aborted.signal.aborted) return;
      answer(res, 502, {
        error: 'upstream_unreachable',
        message: `${deps.upstream.base.origin} could not be reached${error instanceof KeyfobError ? ` (${error.code})` : ''}`,
      });
      return;
    }
    const secrets = new HeldSecrets([deps.key, ...(await deps.credential.secrets(token)).values]);
    res.writeHead(response.status, responseHeaders(response.headers, secrets));
    if (!response.body || method === 'HEAD') {
      await response.body?.cancel();
      res.end();
      return;
    }
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      new RedactStream(secrets),
      res,
    );
  }

  /** 401 with `{error: 'auth_required', command}`: the person must log in; never a token. */
  function authRequired(res: ServerResponse, error: unknown): void {
    if (!(error instanceof AuthenticationRequired)) throw error;
    const command = /`([^`]+)`/.exec(error.hint ?? '')?.[1] ?? deps.loginCommand;
    answer(res, 401, { error: 'auth_required', command, message: error.message });
  }
}

/** Whether the request carries the key, in either header, compared in constant time. */
function keyMatches(req: IncomingMessage, keyHeader: string, expected: Buffer): boolean {
  const proxyAuth = req.headers['proxy-authorization'];
  const own = req.headers[keyHeader];
  const presented =
    typeof proxyAuth === 'string' && /^Bearer\s+\S+$/i.test(proxyAuth)
      ? proxyAuth.replace(/^Bearer\s+/i, '')
      : typeof own === 'string'
        ? own.trim()
        : undefined;
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), expected);
}

/** Equal-length digests, so the comparison's time says nothing about the key's length either. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function hostMatches(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}

/** The caller's headers minus what is never forwarded, plus keyfob's credential. */
function forwardHeaders(req: IncomingMessage, deps: ProxyHandlerDeps, token: string): Headers {
  const connectionNamed = new Set(
    String(req.headers.connection ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean),
  );
  const credentialHeader = deps.placement.kind === 'header' ? deps.placement.name.toLowerCase() : undefined;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (DROPPED_REQUEST.has(name) || connectionNamed.has(name) || name === deps.keyHeader) continue;
    if (name === credentialHeader) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  // Identity, so an echoed credential can be found in the body and redacted.
  headers.set('accept-encoding', 'identity');
  if (deps.placement.kind === 'bearer') {
    headers.set('authorization', `Bearer ${token}`);
    return headers;
  }
  return placeCredential(headers, deps.placement, token);
}

/** Upstream's headers minus cookies and framing, with echoed credentials redacted. */
function responseHeaders(from: Headers, secrets: HeldSecrets): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of from) {
    if (DROPPED_RESPONSE.has(name)) continue;
    const clean = secrets.redact(value).text;
    const previous = out[name];
    out[name] =
      previous === undefined ? clean : [...(Array.isArray(previous) ? previous : [previous]), clean];
  }
  return out;
}

function answer(res: ServerResponse, status: number, body: Record<string, string>): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** `CONNECT` is refused: the proxy forwards requests, it opens no tunnels. */
export function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}

/** `Upgrade` (WebSocket) is refused: a tunnel's frames could not be redacted. */
export function refuseUpgrade(_req: IncomingMessage, socket: Duplex): void {
  socket.end('HTTP/1.1 501 Not Implemented\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
}
