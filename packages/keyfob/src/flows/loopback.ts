/**
 * The loopback redirect server of a browser login (RFC 8252 §7.3).
 *
 * It binds 127.0.0.1 on a port the system picks, accepts exactly one request on the callback
 * path, then stops listening, so a second callback (a replay, a second tab) finds nothing. The
 * callback's parameters are not judged here: openid-client checks `state`, `iss` and the error
 * response, and the browser is answered with a page that says how that ended.
 */
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
  /** Resolves with the first request on the callback path. */
  callback: Promise<LoopbackCallback>;
  /** Stops listening and fails a pending wait; safe to call twice. */
  close(): void;
}

export interface LoopbackOptions {
  /** How long to wait for the browser, in milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** The path of the callback; `/callback` by default. */
  path?: string;
  /** Name shown on the page, e.g. the integrator's app name. */
  appName?: string;
}

/** Starts the loopback server; the caller must eventually `close()` it (also done on callback). */
export async function startLoopbackServer(options: LoopbackOptions): Promise<LoopbackServer> {
  const path = options.path ?? '/callback';
  const appName = options.appName ?? 'keyfob';
  let settle: { resolve(cb: LoopbackCallback): void; reject(error: Error): void } | undefined;
  const callback = new Promise<LoopbackCallback>((resolve, reject) => {
    settle = { resolve, reject };
  });
  // The caller may abandon the promise after close(); never leave it as an unhandled rejection.
  callback.catch(() => {});
  let accepted = false;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1`);
    if (accepted || req.method !== 'GET' || url.pathname !== path) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end('Not found\n');
      return;
    }
    accepted = true;
    stopListening();
    const address = server.address() as AddressInfo | null;
    const full = new URL(req.url ?? '/', `http://127.0.0.1:${address?.port ?? port}`);
    let answered = false;
    settle?.resolve({
      url: full,
      respond(outcome) {
        if (answered) return;
        answered = true;
        res.writeHead(outcome.ok ? 200 : 400, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'referrer-policy': 'no-referrer',
          connection: 'close',
        });
        res.end(resultPage(appName, outcome));
      },
    });
  });
  server.requestTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

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
    server.closeAllConnections();
    settle?.reject(error);
  }

  return {
    redirectUri: `http://127.0.0.1:${port}${path}`,
    callback,
    close() {
      if (!accepted) fail(new LoginFailed('the login was cancelled'));
      else stopListening();
    },
  };
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
