/**
 * The loopback redirect server of a browser login (RFC 8252 §7.3), bound to the browser that
 * started the login.
 *
 * It binds 127.0.0.1 (on `redirect_port`, or a port the system picks) and serves two paths:
 * - a one-time start link (`/start/<random>`): it sets a cookie with a name unique to the flow
 *   (`HttpOnly; SameSite=Lax; Path=/callback`) and redirects (302) to the provider. Opened a
 *   second time, it aborts the login: someone else may be racing it.
 * - the callback: only a request carrying that cookie **and** the flow's `state` is handed on;
 *   anything else gets 403, is reported through `onRefused`, and the login goes on waiting.
 *   Cookies ignore ports, so the state (never in any process's argv) stays the real secret.
 * The first accepted callback stops the server. Its parameters are otherwise not judged here:
 * openid-client checks `state`, `iss`, PKCE and the error response.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoginFailed, LoginTimeout } from '../errors.js';

/** The one callback the server accepted. */
export interface LoopbackCallback {
  /** The full callback URL as the browser requested it (`http://127.0.0.1:PORT/callback?...`). */
  url: URL;
  /** Answers the browser with a page saying the login worked, or why not, and releases it. */
  respond(outcome: { ok: true } | { ok: false; message: string }): void;
}

export interface LoopbackServer {
  /** The `redirect_uri` to send in the authorization request. */
  redirectUri: string;
  /** The one-time start link: the only thing a browser is given to open. */
  startUrl: string;
  /** Sets the provider's authorization URL the start link redirects to; call before handing it out. */
  arm(authorizationUrl: string): void;
  /** Resolves with the first callback that carries the flow's cookie and state. */
  callback: Promise<LoopbackCallback>;
  /** Stops listening and fails a pending wait; safe to call twice. */
  close(): void;
}

export interface LoopbackOptions {
  /** How long to wait for the browser, in milliseconds. */
  timeoutMs: number;
  /** The flow's `state`: a callback must carry it (besides the cookie) to be handed on. */
  state: string;
  signal?: AbortSignal;
  /** A fixed port (`redirect_port`), for providers that match the redirect URI exactly. */
  port?: number | null;
  /** The path of the callback; `/callback` by default. */
  path?: string;
  /** Name shown on the page, e.g. the integrator's app name. */
  appName?: string;
  /** Told (in plain words, no secret) about each refused callback request. */
  onRefused?: (reason: string) => void;
}

/** Refusals reported one by one; past this, a flood is summarised once instead of echoed. */
const MAX_REPORTED_REFUSALS = 10;

/** Starts the loopback server; the caller must eventually `close()` it (also done on callback). */
export async function startLoopbackServer(options: LoopbackOptions): Promise<LoopbackServer> {
  const path = options.path ?? '/callback';
  const appName = options.appName ?? 'keyfob';
  const startPath = `/start/${randomBytes(32).toString('base64url')}`;
  const cookieName = `keyfob_login_${randomBytes(8).toString('hex')}`;
  const cookieValue = randomBytes(32).toString('base64url');
  let authorizationUrl: string | null = null;
  let started = false;
  let refusals = 0;
  let settle: { resolve(cb: LoopbackCallback): void; reject(error: Error): void } | undefined;
  const callback = new Promise<LoopbackCallback>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The caller may abandon the promise after close(); never leave it as an unhandled rejection.
  callback.catch(() => {});
  let accepted = false;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (accepted || req.method !== 'GET') return notFound(res);
    if (url.pathname === startPath) return start(res);
    if (url.pathname !== path) return notFound(res);
    const why = refusal(req, url);
    if (why) return refuse(res, why);
    accept(req, res);
  });
  server.requestTimeout = 30_000;

  function start(res: ServerResponse): void {
    if (started || !authorizationUrl) {
      page(res, 409, { ok: false, message: 'This login link was already used' });
      fail(
        new LoginFailed('the login link was opened twice; someone else may be racing this login', {
          hint: 'run the login again, and open its link only once',
        }),
      );
      return;
    }
    started = true;
    res.writeHead(302, {
      location: authorizationUrl,
      'set-cookie': `${cookieName}=${cookieValue}; HttpOnly; SameSite=Lax; Path=${path}`,
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      connection: 'close',
    });
    res.end();
  }

  /** Why a callback request is not from the browser that started the login, or null. */
  function refusal(req: IncomingMessage, url: URL): string | null {
    const cookie = cookieOf(req.headers.cookie, cookieName);
    if (cookie === null)
      return 'it did not come from the browser that opened the login link (no login cookie)';
    if (!sameSecret(cookie, cookieValue)) return 'its login cookie is wrong';
    const state = url.searchParams.get('state');
    if (state === null) return 'it carries no state';
    if (!sameSecret(state, options.state)) return 'its state does not match this login';
    return null;
  }

  function refuse(res: ServerResponse, why: string): void {
    page(res, 403, { ok: false, message: 'This request was not sent by the browser that started the login' });
    refusals += 1;
    if (refusals <= MAX_REPORTED_REFUSALS) options.onRefused?.(why);
    if (refusals === MAX_REPORTED_REFUSALS)
      options.onRefused?.('further refused requests are not reported one by one');
  }

  function accept(req: IncomingMessage, res: ServerResponse): void {
    accepted = true;
    stopListening();
    const full = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    let answered = false;
    settle?.resolve({
      url: full,
      respond(outcome) {
        if (answered) return;
        answered = true;
        page(res, outcome.ok ? 200 : 400, outcome);
      },
    });
  }

  function page(res: ServerResponse, status: number, outcome: { ok: true } | { ok: false; message: string }) {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      connection: 'close',
    });
    res.end(resultPage(appName, outcome));
  }

  const port = await listen(server, options.port ?? 0);

  const timer = setTimeout(() => {
    fail(
      new LoginTimeout(`no browser login completed within ${Math.round(options.timeoutMs / 1000)} s`, {
        hint: 'run the login again, or use --device on a machine without a browser',
      }),
    );
  }, options.timeoutMs);
  timer.unref();

  const onAbort = () => fail(new LoginFailed('the login was cancelled'));
  options.signal?.addEventListener('abort', onAbort, { once: true });

  function stopListening() {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    // Stop accepting; the accepted request's socket stays open until it is answered.
    server.close();
  }

  function fail(error: Error) {
    stopListening();
    // Let the page that says why reach the browser before the sockets go.
    setImmediate(() => server.closeAllConnections());
    settle?.reject(error);
  }

  return {
    redirectUri: `http://127.0.0.1:${port}${path}`,
    startUrl: `http://127.0.0.1:${port}${startPath}`,
    arm(url) {
      authorizationUrl = url;
    },
    callback,
    close() {
      if (!accepted) fail(new LoginFailed('the login was cancelled'));
      else stopListening();
    },
  };
}

/** Listens on 127.0.0.1:`port` (0: any); a busy fixed port is an error naming it. */
function listen(server: ReturnType<typeof createServer>, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'it is already in use' : (error.code ?? error.message);
      const which = port === 0 ? 'a free port' : `port ${port} (redirect_port)`;
      reject(
        new LoginFailed(`cannot listen for the login on 127.0.0.1 ${which}: ${why}`, {
          hint:
            port === 0
              ? 'run the login again'
              : `stop the program that holds port ${port}, or set another redirect_port that the provider allows`,
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** The value of cookie `name` in a `Cookie` header, or null. */
function cookieOf(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Constant-time equality of two secrets (hashed first, so their lengths leak nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end('Not found\n');
}

function resultPage(appName: string, outcome: { ok: true } | { ok: false; message: string }): string {
  const title = outcome.ok ? 'You are logged in' : 'Login failed';
  const body = outcome.ok
    ? `${escapeHtml(appName)} received your login. You can close this window and return to the terminal.`
    : `${escapeHtml(outcome.message)}. Return to the terminal for details.`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto"><h1 id="result" data-ok="${outcome.ok}">${title}</h1><p>${body}</p></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
