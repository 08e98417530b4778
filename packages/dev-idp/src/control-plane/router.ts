/**
 * Routes requests under `/cp` (the control plane's base path on dev-idp's listener) to their
 * endpoints; see DESIGN.md "Control planes" for the wire protocol.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http.js';
import { handleAssumeUser } from './assume-user.js';
import type { ControlPlaneContext } from './context.js';
import { handleExchange } from './exchange.js';
import {
  handlePrincipalToken,
  handleServicePrincipals,
  PRINCIPAL_TOKEN_PATH,
  SERVICE_PRINCIPALS_PATH,
} from './service-principals.js';
import { handleTenants } from './tenant-list.js';
import { handleUsersMe } from './users-me.js';

/** The control plane's path on dev-idp's listener. */
export const CONTROL_PLANE_PATH = '/cp';
/** Where its public keys are served, under {@link CONTROL_PLANE_PATH}. */
export const CONTROL_PLANE_JWKS_PATH = '/.well-known/jwks.json';

type Handler = (context: ControlPlaneContext, req: IncomingMessage, res: ServerResponse) => Promise<void>;

const ROUTES: Record<string, { method: string; handler: Handler }> = {
  [CONTROL_PLANE_JWKS_PATH]: {
    method: 'GET',
    handler: async (context, _req, res) =>
      sendJson(res, 200, context.minter.jwks(), { 'cache-control': 'max-age=60' }),
  },
  '/v1/tenants': { method: 'GET', handler: handleTenants },
  '/v1/token': { method: 'POST', handler: handleExchange },
  '/v1/auth/assume_user': { method: 'POST', handler: handleAssumeUser },
  '/v1/users/me': { method: 'GET', handler: handleUsersMe },
  [PRINCIPAL_TOKEN_PATH]: { method: 'POST', handler: handlePrincipalToken },
};

/** True when `pathname` belongs to the control plane. */
export function isControlPlanePath(pathname: string): boolean {
  return pathname === CONTROL_PLANE_PATH || pathname.startsWith(`${CONTROL_PLANE_PATH}/`);
}

/** Serves one control-plane request. */
export async function handleControlPlane(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
): Promise<void> {
  const path = pathname.slice(CONTROL_PLANE_PATH.length);
  if (path === SERVICE_PRINCIPALS_PATH || path.startsWith(`${SERVICE_PRINCIPALS_PATH}/`)) {
    await handleServicePrincipals(context, req, res, path.slice(SERVICE_PRINCIPALS_PATH.length));
    return;
  }
  const route = ROUTES[path];
  if (!route) {
    req.resume();
    sendJson(res, 404, { error: 'not_found' });
    return;
  }
  if (req.method !== route.method) {
    req.resume();
    sendJson(res, 405, { error: 'method_not_allowed' }, { allow: route.method });
    return;
  }
  await route.handler(context, req, res);
}
