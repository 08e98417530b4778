/** `GET /cp/v1/users/me`: who a control-plane token stands for. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http.js';
import { type ControlPlaneContext, requireControlPlaneToken } from './context.js';

/** Serves one users/me request. */
export async function handleUsersMe(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  context.stats.controlPlane('usersMe');
  const claims = await requireControlPlaneToken(context, req, res);
  if (!claims) return;
  const tenant = context.tenants().find((candidate) => candidate.tenant_id === claims.tenant_id);
  sendJson(res, 200, {
    id: claims.sub,
    email: claims.email,
    tenant_id: claims.tenant_id,
    tenant_name: tenant?.tenant_name ?? null,
    region: claims.region,
    kind: claims.kind,
    expires_at: new Date(claims.exp * 1000).toISOString(),
  });
}
