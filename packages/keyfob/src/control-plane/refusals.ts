/**
 * How the control plane's endpoints other than exchange and assume_user refuse (DESIGN.md,
 * Control planes, "Answers and errors"): a 401 is `AuthenticationRequired` (the caller
 * re-acquires its token once, then gives up), a 403 is `PermissionDenied` naming the scope the
 * answer names (its body's `scope`, else `WWW-Authenticate`'s `scope`).
 */
import { AuthenticationRequired, type KeyfobError, PermissionDenied } from '../errors.js';
import { isRecord } from '../shape.js';
import { safeText } from '../text.js';
import { answerWords, type ControlPlaneAnswer } from './request.js';

/**
 * The error for a 401 or 403 answer, or `null` for any other status.
 * @param action what was asked, for the message: "users/me at <url>".
 */
export function tokenRefusal(action: string, answer: ControlPlaneAnswer): KeyfobError | null {
  if (answer.status === 401) {
    return new AuthenticationRequired(
      `${action} failed: the control plane refused the token (${answerWords(answer)})`,
    );
  }
  if (answer.status === 403) {
    const scope = scopeNamed(answer);
    return new PermissionDenied(
      `${action} failed: the control plane denied it (${answerWords(answer)})${scope ? `; it needs scope ${scope}` : ''}`,
    );
  }
  return null;
}

/** The scope a 403 names: the body's `scope`, else `WWW-Authenticate`'s; sanitized, bounded. */
export function scopeNamed(answer: ControlPlaneAnswer): string | null {
  const body = isRecord(answer.body) ? answer.body : {};
  if (typeof body.scope === 'string' && body.scope.trim() !== '') return safeText(body.scope, 100);
  const match = /\bscope="([^"]{1,200})"/i.exec(answer.wwwAuthenticate ?? '');
  return match?.[1] ? safeText(match[1], 100) : null;
}

/** The payload of a JWT, read and not verified; `null` when `token` is not a JWT. */
export function unverifiedClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return isRecord(claims) ? claims : null;
  } catch {
    return null;
  }
}

/**
 * When a control-plane token expires, from its `exp` (read, not verified): its lifetime runs
 * from `iat` when it has one, counted from the answer's arrival (so a skewed clock on either
 * side does not matter); else `exp` corrected by the answer's `Date` header. `null` when the
 * token is not a JWT or has no `exp`.
 */
export function expiryOfToken(
  token: string,
  answer: Pick<ControlPlaneAnswer, 'date' | 'receivedAt'>,
): Date | null {
  const claims = unverifiedClaims(token);
  const exp = claims?.exp;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return null;
  const iat = claims?.iat;
  if (typeof iat === 'number' && Number.isFinite(iat)) {
    return new Date(answer.receivedAt.getTime() + (exp - iat) * 1000);
  }
  const skew = answer.date ? answer.receivedAt.getTime() - answer.date.getTime() : 0;
  return new Date(exp * 1000 + skew);
}

/** A token we will send in a header: printable ASCII, no spaces, bounded. */
export function isSendableToken(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && value.length <= 16_384 && /^[\x21-\x7e]+$/.test(value)
  );
}
