/**
 * `POST /v1/auth/assume_user` (DESIGN.md, Control planes): the admin API key in
 * `X-Admin-Api-Key`, JSON `{"tenant_id","user_id"}`, answered `{"token":"<jwt>"}`. A 401 is a
 * wrong or revoked key (`AdminKeyRefused`, exit 2); a 404 names what is unknown
 * (`UserNotFound` or `TenantNotFound`, exit 1). The key never appears in a message.
 */
import { TenantNotFound, UserNotFound } from '../errors.js';
import { isRecord } from '../shape.js';
import { safeText } from '../text.js';
import { AdminKeyRefused, type CallOptions, type ControlPlaneToken } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';
import { expiryOfToken, isSendableToken, unverifiedClaims } from './refusals.js';
import { answerError, answerWords, callControlPlane, controlPlaneUrl, unexpectedAnswer } from './request.js';

/** Assumes `userId` in `tenantId` with the admin API key; no message ever holds the key. */
export async function assumeUser(
  ctx: EndpointContext,
  request: { adminApiKey: string; tenantId: string; userId: string },
  call?: CallOptions,
): Promise<ControlPlaneToken> {
  try {
    return await assumeOnce(ctx, request, call);
  } catch (error) {
    // A control plane that echoes the key in its words must not get it printed.
    if (error instanceof Error && error.message.includes(request.adminApiKey)) {
      error.message = error.message.replaceAll(request.adminApiKey, '[the admin API key]');
    }
    throw error;
  }
}

async function assumeOnce(
  ctx: EndpointContext,
  request: { adminApiKey: string; tenantId: string; userId: string },
  call?: CallOptions,
): Promise<ControlPlaneToken> {
  const url = controlPlaneUrl(ctx.options.url, '/v1/auth/assume_user', ctx.options.assume_user_endpoint);
  const action = `assume_user at ${url}`;
  const tenant = safeText(request.tenantId, 100);
  const user = safeText(request.userId, 100);
  const answer = await callControlPlane(ctx.runtime, {
    method: 'POST',
    url,
    headers: { 'x-admin-api-key': request.adminApiKey },
    json: { tenant_id: request.tenantId, user_id: request.userId },
    action,
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  if (answer.status === 401) {
    throw new AdminKeyRefused(
      `${action} refused the admin API key (${answerWords(answer)}): it is wrong or was revoked`,
    );
  }
  if (answer.status === 404) {
    const { error } = answerError(answer);
    if (error === 'user_not_found') {
      throw new UserNotFound(`User not found: ${user} in tenant ${tenant} (${answerWords(answer)})`);
    }
    if (error === 'tenant_not_found') {
      throw new TenantNotFound(`Tenant not found: ${tenant} (${answerWords(answer)})`);
    }
    throw unexpectedAnswer(
      action,
      answer,
      `${answerWords(answer)}, neither user_not_found nor tenant_not_found`,
    );
  }
  if (answer.status !== 200) throw unexpectedAnswer(action, answer);
  const body = isRecord(answer.body) ? answer.body : null;
  if (!body) throw unexpectedAnswer(action, answer, 'HTTP 200 without a JSON object');
  if (!isSendableToken(body.token)) {
    throw unexpectedAnswer(
      action,
      answer,
      'HTTP 200 without a usable "token" (a JWT of printable characters)',
    );
  }
  const expiresAt = expiryOfToken(body.token, answer);
  if (expiresAt && expiresAt.getTime() <= answer.receivedAt.getTime()) {
    throw unexpectedAnswer(action, answer, 'a token that had already expired (its exp is not after its iat)');
  }
  const claims = unverifiedClaims(body.token);
  const scope = typeof claims?.scope === 'string' ? claims.scope : '';
  return {
    accessToken: body.token,
    tokenType: 'Bearer',
    expiresAt: expiresAt ? expiresAt.toISOString() : null,
    obtainedAt: answer.receivedAt.toISOString(),
    scopes: [...new Set(scope.split(/\s+/).filter((s) => s !== ''))].sort().slice(0, 100),
    tenant: null,
  };
}
