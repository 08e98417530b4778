/**
 * Service principals: created, listed and deleted with a control-plane token of a tenant
 * (exchanged or assumed), and their token endpoint, where a principal gets control-plane tokens
 * of its tenant by client credentials (`client_secret_basic`, or `client_secret_post`).
 *
 * - `POST   /cp/v1/service-principals`              needs `tenant:write`
 * - `GET    /cp/v1/service-principals`              needs `tenant:read`
 * - `DELETE /cp/v1/service-principals/{client_id}`  needs `tenant:write`
 * - `POST   /cp/oauth/token`                        `grant_type=client_credentials`
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestBody, readForm, readJsonObject, sendBadBody, sendJson } from '../http.js';
import {
  type ControlPlaneContext,
  hasScope,
  requireControlPlaneToken,
  sendInsufficientScope,
  sendOAuthError,
} from './context.js';
import { grantedScope } from './mint.js';

/** The collection path under the control plane. */
export const SERVICE_PRINCIPALS_PATH = '/v1/service-principals';
/** The principals' token endpoint path under the control plane. */
export const PRINCIPAL_TOKEN_PATH = '/oauth/token';
const REALM = 'control-plane';
const NAME_LIMIT = 200;
const DESCRIPTION_LIMIT = 1000;

/** Serves `/v1/service-principals` and `/v1/service-principals/{client_id}` (`rest` is after the collection). */
export async function handleServicePrincipals(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
  rest: string,
): Promise<void> {
  const method = req.method ?? 'GET';
  const allowed = rest === '' ? ['GET', 'POST'] : ['DELETE'];
  if (rest !== '' && !/^\/[A-Za-z0-9._-]{1,100}$/.test(rest)) {
    req.resume();
    sendJson(res, 404, { error: 'not_found' });
    return;
  }
  if (!allowed.includes(method)) {
    req.resume();
    sendJson(res, 405, { error: 'method_not_allowed' }, { allow: allowed.join(', ') });
    return;
  }
  const claims = await requireControlPlaneToken(context, req, res);
  if (!claims) {
    req.resume();
    return;
  }
  if (claims.kind === 'service_principal') {
    req.resume();
    sendJson(res, 403, {
      error: 'forbidden',
      error_description: 'a service principal cannot manage service principals',
    });
    return;
  }
  const needed = method === 'GET' ? 'tenant:read' : 'tenant:write';
  if (!hasScope(claims.scope, needed)) {
    req.resume();
    return sendInsufficientScope(res, REALM, needed);
  }
  if (method === 'GET') {
    sendJson(res, 200, { service_principals: context.principals.list(claims.tenant_id) });
  } else if (method === 'DELETE') {
    const deleted = context.principals.delete(claims.tenant_id, rest.slice(1));
    if (deleted) res.writeHead(204, { 'cache-control': 'no-store' }).end();
    else
      sendJson(res, 404, {
        error: 'not_found',
        error_description: 'no such service principal in this tenant',
      });
  } else {
    await create(context, req, res, claims.tenant_id);
  }
}

async function create(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
  tenantId: string,
): Promise<void> {
  let body: Record<string, unknown>;
  try {
    body = await readJsonObject(req);
  } catch (error) {
    if (error instanceof BadRequestBody) return sendBadBody(res, error);
    throw error;
  }
  const { name, description = '' } = body;
  if (typeof name !== 'string' || !name.trim() || name.length > NAME_LIMIT) {
    sendJson(res, 400, {
      error: 'invalid_request',
      error_description: `name must be a non-empty string of at most ${NAME_LIMIT} characters`,
    });
    return;
  }
  if (typeof description !== 'string' || description.length > DESCRIPTION_LIMIT) {
    sendJson(res, 400, {
      error: 'invalid_request',
      error_description: `description must be a string of at most ${DESCRIPTION_LIMIT} characters`,
    });
    return;
  }
  const { principal, secret } = context.principals.create(tenantId, name, description);
  context.log(`service principal ${principal.client_id} created in ${tenantId}`);
  sendJson(res, 201, {
    client_id: principal.client_id,
    client_secret: secret,
    name: principal.name,
    description: principal.description,
    tenant_id: principal.tenant_id,
    token_endpoint: `${context.base}${PRINCIPAL_TOKEN_PATH}`,
  });
}

/** The client id and secret of a Basic header, undefined when there is none, null when it is malformed. */
function basicCredentials(req: IncomingMessage): { id: string; secret: string } | null | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/** `POST /cp/oauth/token`: client credentials of a service principal. */
export async function handlePrincipalToken(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  context.stats.controlPlane('servicePrincipalTokens');
  let form: URLSearchParams;
  try {
    form = await readForm(req);
  } catch (error) {
    if (error instanceof BadRequestBody) return sendBadBody(res, error);
    throw error;
  }
  const duplicated = ['grant_type', 'client_id', 'client_secret', 'scope'].filter(
    (name) => form.getAll(name).length > 1,
  );
  if (duplicated.length > 0) {
    return sendOAuthError(res, 400, 'invalid_request', `duplicate parameter(s): ${duplicated.join(', ')}`);
  }
  const grantType = form.get('grant_type');
  if (!grantType) return sendOAuthError(res, 400, 'invalid_request', 'missing grant_type');
  if (grantType !== 'client_credentials') {
    return sendOAuthError(res, 400, 'unsupported_grant_type', 'this endpoint only does client_credentials');
  }
  const basic = basicCredentials(req);
  const posted = form.has('client_secret')
    ? { id: form.get('client_id') ?? '', secret: form.get('client_secret') ?? '' }
    : undefined;
  if (basic && posted) {
    return sendOAuthError(res, 400, 'invalid_request', 'authenticate with one method: Basic or the body');
  }
  const credentials = basic ?? posted;
  const principal = credentials
    ? context.principals.authenticate(credentials.id, credentials.secret)
    : undefined;
  if (!principal) {
    return sendOAuthError(res, 401, 'invalid_client', 'unknown client, deleted client or wrong secret', {
      'www-authenticate': `Basic realm="${REALM}"`,
    });
  }
  const tenant = context.tenants().find((candidate) => candidate.tenant_id === principal.tenant_id);
  if (!tenant) return sendOAuthError(res, 401, 'invalid_client', 'the tenant of this client is gone');
  const scope = grantedScope(form.get('scope') ?? undefined, false);
  if ('error' in scope) return sendOAuthError(res, 400, 'invalid_scope', scope.error);
  const { token } = await context.minter.mint({
    sub: principal.client_id,
    email: null,
    tenant_id: tenant.tenant_id,
    region: tenant.region,
    scope: scope.scope,
    kind: 'service_principal',
    ttl: context.ttl.controlPlane,
  });
  sendJson(res, 200, {
    access_token: token,
    token_type: 'Bearer',
    expires_in: context.ttl.controlPlane,
    scope: scope.scope,
  });
}
