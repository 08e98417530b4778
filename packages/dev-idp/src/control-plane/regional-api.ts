/**
 * The small protected API of one region, served under `/<region>` on the region's own listener.
 * It accepts only control-plane tokens (the control plane's key and issuer) of a tenant of
 * this region, as `Authorization: Bearer` or as the cookie `ks_uat`.
 *
 * - `GET /<region>/v1/hello`       → `{sub, email, tenant_id, region, scope, kind}`
 * - `GET /<region>/v1/admin`       also needs `tenant:admin`, else 403 insufficient_scope
 * - `GET /<region>/v1/echo-auth`   → `{authorization_present, cookie_present}` (never values)
 * - `GET /<region>/v1/redirect?to=URL&status=30x`  redirects, to test that credentials stay home
 * - `GET /<region>/v1/items?page=N&per_page=M` → `{items, page, next}`: the tenant's items, a
 *   page at a time (`next` is the following page's number, `null` on the last), so that a
 *   client's long loop over pages meets several token expiries
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { redirect } from '../api.js';
import { sendJson } from '../http.js';
import { bearerToken, hasScope, sendInsufficientScope, sendUnauthorized } from './context.js';
import { itemsPage } from './items.js';
import type { ControlPlaneClaims, Minter } from './mint.js';
import type { Tenant } from './tenants.js';

/** The cookie a browser-style client may carry the control-plane token in. */
export const TOKEN_COOKIE = 'ks_uat';

/** What one region's API needs. */
export interface RegionalContext {
  region: string;
  minter: Minter;
  tenants(): ReadonlyArray<Tenant>;
}

/** The value of cookie `name`, or undefined. */
function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Serves one request on a region's listener; `pathname` is the whole path. */
export async function handleRegional(
  context: RegionalContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  req.resume();
  const prefix = `/${context.region}/`;
  if (!url.pathname.startsWith(prefix)) {
    sendJson(res, 404, { error: 'not_found', error_description: `this server serves ${prefix} only` });
    return;
  }
  const path = url.pathname.slice(prefix.length - 1);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    return;
  }
  switch (path) {
    case '/v1/echo-auth':
      sendJson(res, 200, {
        authorization_present: req.headers.authorization !== undefined,
        cookie_present: req.headers.cookie !== undefined,
      });
      return;
    case '/v1/redirect':
      redirect(res, url);
      return;
    case '/v1/hello':
    case '/v1/admin': {
      const claims = await authenticate(context, req, res);
      if (!claims) return;
      const realm = context.region;
      if (path === '/v1/admin' && !hasScope(claims.scope, 'tenant:admin')) {
        sendInsufficientScope(res, realm, 'tenant:admin');
        return;
      }
      sendJson(res, 200, {
        sub: claims.sub,
        email: claims.email,
        tenant_id: claims.tenant_id,
        region: claims.region,
        scope: claims.scope,
        kind: claims.kind,
        ...(path === '/v1/admin' ? { admin: true } : {}),
      });
      return;
    }
    case '/v1/items': {
      const claims = await authenticate(context, req, res);
      if (!claims) return;
      const page = itemsPage(claims.tenant_id, url.searchParams);
      if ('error' in page) sendJson(res, 400, page);
      else sendJson(res, 200, page);
      return;
    }
    default:
      sendJson(res, 404, { error: 'not_found' });
  }
}

/** The claims of an acceptable token, or undefined after answering 401. */
async function authenticate(
  context: RegionalContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<ControlPlaneClaims | undefined> {
  const realm = context.region;
  const fromHeader = bearerToken(req);
  const token = fromHeader ?? cookie(req, TOKEN_COOKIE) ?? null;
  if (token === null) {
    sendUnauthorized(res, realm);
    return undefined;
  }
  if (token === '') {
    sendUnauthorized(res, realm, 'the Authorization header is not a Bearer token');
    return undefined;
  }
  let claims: ControlPlaneClaims;
  try {
    claims = await context.minter.verify(token);
  } catch {
    sendUnauthorized(res, realm, 'the token is not a valid control-plane token');
    return undefined;
  }
  const tenant = context.tenants().find((candidate) => candidate.tenant_id === claims.tenant_id);
  if (!tenant || tenant.region !== context.region || claims.region !== context.region) {
    sendUnauthorized(res, realm, `the token is for a tenant outside region ${context.region}`);
    return undefined;
  }
  return claims;
}
