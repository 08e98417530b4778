/**
 * `GET /v1/tenants` with the login's (subject) token: the tenants the caller belongs to, each
 * checked before it is used or stored (`answer-tenant.ts`). A 401 is `AuthenticationRequired`
 * (the caller renews its login once), a 403 `PermissionDenied`.
 */
import { AuthenticationRequired, ControlPlaneError, PermissionDenied } from '../errors.js';
import { isRecord } from '../shape.js';
import { tenantFromAnswer } from './answer-tenant.js';
import type { CallOptions, ListedTenant } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';
import { answerWords, callControlPlane, controlPlaneUrl, unexpectedAnswer } from './request.js';

/** Lists the caller's tenants; the control plane's order is kept. */
export async function listTenants(
  ctx: EndpointContext,
  subjectToken: string,
  call?: CallOptions,
): Promise<ListedTenant[]> {
  const url = controlPlaneUrl(ctx.options.url, '/v1/tenants', ctx.options.tenants_endpoint);
  const action = `listing tenants at ${url}`;
  const answer = await callControlPlane(ctx.runtime, {
    method: 'GET',
    url,
    bearer: subjectToken,
    action,
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  if (answer.status === 401) {
    throw new AuthenticationRequired(
      `${action} failed: the control plane refused the login's token (${answerWords(answer)})`,
    );
  }
  if (answer.status === 403) throw new PermissionDenied(`${action} failed: ${answerWords(answer)}`);
  if (answer.status !== 200) throw unexpectedAnswer(action, answer);
  const where = `the tenants answer of ${url}`;
  if (!isRecord(answer.body) || !Array.isArray(answer.body.tenants)) {
    throw new ControlPlaneError(`${where} is not JSON with a "tenants" list`, { status: answer.status });
  }
  const seen = new Set<string>();
  return answer.body.tenants.map((entry) => {
    const tenant = tenantFromAnswer(entry, where);
    if (seen.has(tenant.id)) throw new ControlPlaneError(`${where} lists tenant ${tenant.id} twice`);
    seen.add(tenant.id);
    const marker = isRecord(entry) ? entry.default : undefined;
    if (marker !== undefined && typeof marker !== 'boolean') {
      throw new ControlPlaneError(`${where}: tenant ${tenant.id} has a "default" that is not true or false`);
    }
    return { ...tenant, isDefault: marker === true };
  });
}
