/**
 * `POST /v1/token`, RFC 8693: the login's token for a tenant-scoped control-plane token.
 *
 * Every field of the answer is checked before anything is kept: a token, a known issued type,
 * `Bearer`, a positive `expires_in` (else the token's `exp`, read not verified, corrected by the
 * answer's `Date`), the tenant asked for. A returned `refresh_token` is ignored: the login's own
 * refresh token is what renews.
 */
import { decodeJwt } from 'jose';
import { ControlPlaneError, PermissionDenied, TenantNotFound } from '../errors.js';
import { parseScopes } from '../session.js';
import { isRecord } from '../shape.js';
import { safeText } from '../text.js';
import { tenantFromAnswer } from './answer-tenant.js';
import {
  type ControlPlaneToken,
  type ExchangeRequest,
  SubjectTokenRefused,
  TOKEN_TYPE_URIS,
} from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';
import {
  answerError,
  answerWords,
  type ControlPlaneAnswer,
  callControlPlane,
  controlPlaneUrl,
  unexpectedAnswer,
} from './request.js';

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ISSUED_TYPES: ReadonlySet<string> = new Set([
  'urn:ietf:params:oauth:token-type:access_token',
  'urn:ietf:params:oauth:token-type:jwt',
]);
/** `error` values that mean the subject token was refused (the login is renewed once). */
const REFUSED: ReadonlySet<string> = new Set(['invalid_grant', 'invalid_request', 'invalid_token']);

/** Exchanges `request.subjectToken` for a token of tenant `request.tenantId`. */
export async function exchange(ctx: EndpointContext, request: ExchangeRequest): Promise<ControlPlaneToken> {
  const url = controlPlaneUrl(ctx.options.url, '/v1/token', ctx.options.token_endpoint);
  const tenantLabel = safeText(request.tenantId, 80);
  const action = `exchanging the login's token for tenant ${tenantLabel} at ${url}`;
  const scopes = parseScopes(request.scopes);
  const answer = await callControlPlane(ctx.runtime, {
    method: 'POST',
    url,
    form: {
      grant_type: GRANT_TYPE,
      subject_token: request.subjectToken,
      subject_token_type: TOKEN_TYPE_URIS[request.subjectTokenType],
      audience: request.tenantId,
      requested_token_type: TOKEN_TYPE_URIS.access_token,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
    },
    action,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  if (answer.status !== 200) throw exchangeError(answer, action, tenantLabel);
  return tokenFromAnswer(answer, request.tenantId, scopes, `the exchange answer of ${url}`);
}

function exchangeError(answer: ControlPlaneAnswer, action: string, tenant: string): Error {
  const { error } = answerError(answer);
  if (error === 'invalid_target') {
    return new TenantNotFound(`Tenant not found: ${tenant}`, {
      hint: `the control plane answered ${answerWords(answer)}`,
    });
  }
  if (answer.status === 401 || REFUSED.has(error)) {
    return new SubjectTokenRefused(
      `${action} failed: the control plane refused the login's token (${answerWords(answer)})`,
    );
  }
  if (answer.status === 403) return new PermissionDenied(`${action} failed: ${answerWords(answer)}`);
  return unexpectedAnswer(action, answer);
}

/** The answer's token, every field checked. */
function tokenFromAnswer(
  answer: ControlPlaneAnswer,
  tenantId: string,
  requested: string[],
  where: string,
): ControlPlaneToken {
  const body = answer.body;
  if (!isRecord(body)) throw new ControlPlaneError(`${where} is not a JSON object`, { status: 200 });
  const token = body.access_token;
  if (typeof token !== 'string' || token.length === 0 || token.length > 16_384 || /[^!-~]/.test(token)) {
    throw new ControlPlaneError(`${where} holds no usable access_token`);
  }
  if (typeof body.issued_token_type !== 'string' || !ISSUED_TYPES.has(body.issued_token_type)) {
    throw new ControlPlaneError(
      `${where} has issued_token_type ${typeof body.issued_token_type === 'string' ? safeText(body.issued_token_type, 80) : 'missing'}; expected …:access_token or …:jwt`,
    );
  }
  if (typeof body.token_type !== 'string' || body.token_type.toLowerCase() !== 'bearer') {
    throw new ControlPlaneError(`${where} has a token_type other than Bearer`);
  }
  const expiresIn = body.expires_in;
  if (
    expiresIn !== undefined &&
    (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0)
  ) {
    throw new ControlPlaneError(`${where} has an expires_in that is not a positive number of seconds`);
  }
  if (body.scope !== undefined && typeof body.scope !== 'string') {
    throw new ControlPlaneError(`${where} has a scope that is not a string`);
  }
  let tenant = null;
  if (body.tenant !== undefined && body.tenant !== null) {
    tenant = tenantFromAnswer(body.tenant, where);
    if (tenant.id !== tenantId) {
      throw new ControlPlaneError(`${where} names tenant ${tenant.id}, not the tenant asked for`);
    }
  }
  const receivedAt = answer.receivedAt;
  return {
    accessToken: token,
    tokenType: 'Bearer',
    expiresAt:
      typeof expiresIn === 'number'
        ? new Date(receivedAt.getTime() + expiresIn * 1000).toISOString()
        : expiryFromClaims(token, answer),
    obtainedAt: receivedAt.toISOString(),
    scopes: typeof body.scope === 'string' ? parseScopes(body.scope) : requested,
    tenant,
  };
}

/**
 * The token's `exp` (read, not verified) moved onto the local clock: the control plane's clock
 * is its `Date` header, so `exp - Date` is the lifetime left when the answer arrived.
 */
function expiryFromClaims(token: string, answer: ControlPlaneAnswer): string | null {
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return null;
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return null;
  const serverNow = answer.date?.getTime() ?? answer.receivedAt.getTime();
  return new Date(answer.receivedAt.getTime() + (exp * 1000 - serverNow)).toISOString();
}
