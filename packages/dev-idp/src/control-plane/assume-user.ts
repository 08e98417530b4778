/**
 * `POST /cp/v1/auth/assume_user`: an administrator (holding the admin API key) gets a token of
 * one user in one tenant, as support tools do. The key is compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { userBySub } from '../accounts.js';
import { BadRequestBody, readJsonObject, sendBadBody, sendJson } from '../http.js';
import type { ControlPlaneContext } from './context.js';
import { DEFAULT_TENANT_SCOPE } from './mint.js';
import { isMember } from './tenants.js';

/** True when `given` is the admin key; constant time whatever the lengths. */
export function isAdminKey(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}

/** Serves one assume_user request. */
export async function handleAssumeUser(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  context.stats.controlPlane('assumeUser');
  const key = req.headers['x-admin-api-key'];
  if (!isAdminKey(context.adminApiKey, typeof key === 'string' ? key : undefined)) {
    req.resume();
    sendJson(res, 401, { error: 'invalid_admin_key', error_description: 'wrong or missing X-Admin-Api-Key' });
    return;
  }
  let body: Record<string, unknown>;
  try {
    body = await readJsonObject(req);
  } catch (error) {
    if (error instanceof BadRequestBody) return sendBadBody(res, error);
    throw error;
  }
  const { tenant_id: tenantId, user_id: userId } = body;
  if (typeof tenantId !== 'string' || typeof userId !== 'string' || !tenantId || !userId) {
    sendJson(res, 400, {
      error: 'invalid_request',
      error_description: 'tenant_id and user_id must be strings',
    });
    return;
  }
  const tenant = context.tenants().find((candidate) => candidate.tenant_id === tenantId);
  if (!tenant) {
    sendJson(res, 404, {
      error: 'tenant_not_found',
      error_description: `no tenant ${tenantId.slice(0, 100)}`,
    });
    return;
  }
  const user = userBySub(userId);
  if (!user || !isMember({ sub: user.sub, email: user.email }, tenantId)) {
    sendJson(res, 404, {
      error: 'user_not_found',
      error_description: `no user ${userId.slice(0, 100)} in tenant ${tenantId}`,
    });
    return;
  }
  const { token } = await context.minter.mint({
    sub: user.sub,
    email: user.email,
    tenant_id: tenant.tenant_id,
    region: tenant.region,
    scope: DEFAULT_TENANT_SCOPE,
    kind: 'assumed',
    ttl: context.ttl.assumeUser,
    act: { sub: 'admin' },
  });
  sendJson(res, 200, { token });
}
