/**
 * `GET /cp/v1/tenants`: the tenants of whoever the bearer token names (a dev-idp ID or access
 * token, a Firebase emulator ID token, or a control-plane token).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http.js';
import { bearerToken, type ControlPlaneContext, sendUnauthorized } from './context.js';
import { verifySubjectToken } from './subject.js';
import { tenantsOf } from './tenants.js';

/** Serves one tenants request. */
export async function handleTenants(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  context.stats.controlPlane('tenants');
  const token = bearerToken(req);
  if (token === null) return sendUnauthorized(res, 'control-plane');
  if (token === '')
    return sendUnauthorized(res, 'control-plane', 'the Authorization header is not a Bearer token');
  const verified = await verifySubjectToken(context.verifier, token);
  if ('reason' in verified) return sendUnauthorized(res, 'control-plane', verified.reason);
  // A service principal belongs to the one tenant it was created in.
  const tenants =
    verified.controlPlane?.kind === 'service_principal'
      ? context.tenants().filter((tenant) => tenant.tenant_id === verified.controlPlane?.tenant_id)
      : tenantsOf(verified.subject, context.tenants());
  sendJson(res, 200, { tenants });
}
