/**
 * A package registry under `/api/registry`, the kind of API an agent's tools call: one public
 * endpoint and two that need their own scopes, plus an endpoint that misbehaves on purpose by
 * echoing the credentials it was sent (to prove keyfob redacts what a server sends back).
 *
 * - `GET  /api/registry/search?q=TEXT`   public: `{q, results: [{name, description}]}`
 * - `GET  /api/registry/packages`        scope `registry:read`: `{packages: [{name, size}]}`
 * - `PUT  /api/registry/packages/NAME`   scope `registry:write`, a body of at most 64 KiB:
 *                                         201 `{name, size}`
 * - `GET|POST /api/registry/echo[?chunk=N]` no token check: answers with every request header
 *   (Authorization, Cookie, X-Api-Key included) in the JSON body and the Authorization header in
 *   `x-echo-authorization`, sets a cookie, and with `chunk=N` writes the body N bytes at a time
 *   (so a secret straddles chunk boundaries).
 *
 * Packages live in memory per server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import { sendJson } from './http.js';

/** The registry's scopes; the API's resource server grants them with its own. */
export const REGISTRY_SCOPES = ['registry:read', 'registry:write'] as const;

const BODY_LIMIT_BYTES = 64 * 1024;
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The registry's packages, one map per server. */
export type RegistryPackages = Map<string, { size: number }>;

/** Seed packages a fresh server lists and finds. */
export function seededPackages(): RegistryPackages {
  return new Map([
    ['left-pad', { size: 410 }],
    ['keyfob-demo', { size: 1337 }],
  ]);
}

/** Checks the token, answering 401 itself when there is none or it is bad. */
export type Authenticate = (req: IncomingMessage, res: ServerResponse) => Promise<JWTPayload | undefined>;

/** True when `pathname` belongs to the registry. */
export function isRegistryPath(pathname: string): boolean {
  return pathname === '/api/registry' || pathname.startsWith('/api/registry/');
}

/** Serves one registry request; never throws. */
export async function handleRegistry(
  packages: RegistryPackages,
  authenticate: Authenticate,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const path = url.pathname;
  if (path === '/api/registry/echo') return echo(req, res, url);
  if (path === '/api/registry/search' && req.method === 'GET') {
    const q = (url.searchParams.get('q') ?? '').toLowerCase();
    const results = [...packages.keys()]
      .filter((name) => name.includes(q))
      .map((name) => ({ name, description: `the ${name} package` }));
    sendJson(res, 200, { q, results });
    return;
  }
  if (path === '/api/registry/packages' && req.method === 'GET') {
    if (!(await withScope(authenticate, req, res, 'registry:read'))) return;
    sendJson(res, 200, { packages: [...packages].map(([name, { size }]) => ({ name, size })) });
    return;
  }
  const upload = /^\/api\/registry\/packages\/([^/]+)$/.exec(path);
  if (upload && req.method === 'PUT') {
    if (!(await withScope(authenticate, req, res, 'registry:write'))) return;
    const name = decodeName(upload[1] ?? '');
    if (name === undefined || !NAME.test(name)) {
      sendJson(res, 400, {
        error: 'invalid_request',
        error_description: 'a package name is [a-z0-9._-], at most 64',
      });
      return;
    }
    const size = await bodySize(req);
    if (size === undefined) {
      sendJson(res, 413, { error: 'invalid_request', error_description: 'a package is at most 64 KiB' });
      return;
    }
    packages.set(name, { size });
    sendJson(res, 201, { name, size });
    return;
  }
  sendJson(res, 404, { error: 'not_found' });
}

/** The token's claims when it holds `scope`; else answers 401 or 403 and returns undefined. */
async function withScope(
  authenticate: Authenticate,
  req: IncomingMessage,
  res: ServerResponse,
  scope: string,
): Promise<JWTPayload | undefined> {
  const claims = await authenticate(req, res);
  if (!claims) return undefined;
  const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
  if (scopes.includes(scope)) return claims;
  const description = `this endpoint needs scope ${scope}`;
  sendJson(
    res,
    403,
    { error: 'insufficient_scope', error_description: description },
    {
      'www-authenticate': `Bearer realm="dev-idp", error="insufficient_scope", error_description="${description}", scope="${scope}"`,
    },
  );
  return undefined;
}

function decodeName(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

async function bodySize(req: IncomingMessage): Promise<number | undefined> {
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT_BYTES) return undefined;
  }
  return size;
}

/** The misbehaving endpoint: every header back, in the body, a header and a cookie. */
async function echo(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const body = (await bodySize(req)) ?? -1;
  const text = JSON.stringify({
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body_size: body,
  });
  const authorization = req.headers.authorization ?? '';
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'set-cookie': `registry_session=${Buffer.from(authorization).toString('base64url').slice(0, 32) || 'none'}; Path=/; HttpOnly`,
  };
  if (authorization) headers['x-echo-authorization'] = authorization;
  const chunk = Number(url.searchParams.get('chunk') ?? '0');
  if (!Number.isInteger(chunk) || chunk <= 0) {
    res.writeHead(200, { ...headers, 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
    return;
  }
  // Chunked on purpose: each piece is flushed on its own turn so a reader sees it separately.
  res.writeHead(200, headers);
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += chunk) {
    res.write(bytes.subarray(at, at + chunk));
    await new Promise((resolve) => setImmediate(resolve));
  }
  res.end();
}
