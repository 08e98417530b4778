/**
 * Steps 4 to 6: signature, issuer and audience, time claims, all judged by jose's `jwtVerify`.
 *
 * A valid token costs one signature verification, as calling jose directly does. jose stops at
 * the first claim that fails, so on that (rare) path the other claim group is judged again on
 * its own, so that the report says everything that is wrong with the token.
 *
 * The details of passed steps may be written before jose has judged the claims (while its
 * signature job runs): they must never throw, whatever the claims hold.
 */
import { errors, type JWTVerifyOptions, jwtVerify } from 'jose';
import { type CheckStep, failed, passed, shown, when } from './report.js';

/** What the token must say about who issued it, for whom, and when. */
export interface ClaimPolicy {
  /** Compared with `iss` as exact strings. */
  issuer: string;
  /** `aud` must contain one of these; `null`: the audience is not checked. */
  audience: readonly string[] | null;
  /** When `aud` holds several values, `azp` must be present, and equal this when given. */
  authorizedParty: string | undefined;
  /** Seconds of leeway for `exp`, `nbf` and `iat`. */
  clockTolerance: number;
  /** The time the claims are judged at. */
  now: Date;
  /** Appended to the time step's detail (e.g. the issuer's clock skew). */
  timeNote: string;
  /** The issuer the discovery document names, when it differs from the configured one. */
  discoveredIssuer: string | null;
}

type Key = Parameters<typeof jwtVerify>[1];

/** jose's verdict: accepted, or what it threw. */
export type Verdict = { ok: true } | { ok: false; error: unknown };

/**
 * Runs jose once over a token whose algorithm and key have been chosen (its structure may be
 * judged meanwhile: jose refuses what it cannot parse, and the structure step's verdict wins):
 * the signature, `iss`, `aud`, `exp` and `nbf` (jose also refuses an `iat` that is not a number).
 * `iat` in the future is judged in {@link passedSteps}: jose judges it only together with a
 * maximum age, which would make `iat` required.
 */
export async function verifyToken(
  token: string,
  key: Key,
  alg: string,
  policy: ClaimPolicy,
): Promise<Verdict> {
  try {
    // One object literal rather than spreads: this call is the whole cost of a repeated check.
    await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: policy.issuer,
      // jose only reads the audience list; undefined means "not checked".
      audience: (policy.audience as string[] | null) ?? undefined,
      clockTolerance: policy.clockTolerance,
      currentDate: policy.now,
      requiredClaims: REQUIRED_CLAIMS,
    });
    return ACCEPTED;
  } catch (error) {
    return { ok: false, error };
  }
}

/** Steps 4, 5 and 6 once jose accepted the token: all passed, unless `iat` lies in the future. */
export function passedSteps(alg: string, claims: Record<string, unknown>, policy: ClaimPolicy): CheckStep[] {
  const iat = claims.iat;
  // jose's rule (seconds rounded down), so the verdict does not depend on which path judged it.
  const future =
    typeof iat === 'number' && iat > Math.floor(policy.now.getTime() / 1000) + policy.clockTolerance;
  return [
    passed('signature', `verified with ${alg}`),
    azpChecked(identityPassed(claims, policy), claims, policy),
    future ? iatInFuture(iat, policy) : timePassed(claims, policy),
  ];
}

/**
 * Steps 4, 5 and 6 for a token jose refused with `error`: the signature step, or each claim
 * group with its own verdict.
 * @param claims The token's claims, decoded by the structure step.
 */
export async function failedSteps(
  error: unknown,
  token: string,
  key: Key,
  alg: string,
  claims: Record<string, unknown>,
  policy: ClaimPolicy,
): Promise<CheckStep[]> {
  const group = claimGroup(error);
  if (!group) return [signatureFailure(error)];
  const identity = identityOptions(policy);
  const time = timeOptions(claims, policy);
  const signature = passed('signature', `verified with ${alg}`);
  const other = group === 'issuer_audience' ? 'time' : 'issuer_audience';
  const groupPassed = () => (other === 'time' ? timePassed(claims, policy) : identityPassed(claims, policy));
  // jose judges iss and aud before exp, nbf and iat, so an error from the other group on this
  // second run means the group asked about passed.
  const otherStep = await jwtVerify(token, key, {
    algorithms: [alg],
    ...(other === 'time' ? time : identity),
  }).then(groupPassed, (second: unknown) =>
    claimGroup(second) === other ? claimFailure(second, claims, policy) : groupPassed(),
  );
  const thisStep = claimFailure(error, claims, policy);
  const steps = group === 'issuer_audience' ? [thisStep, otherStep] : [otherStep, thisStep];
  return [signature, ...steps.map((s) => azpChecked(s, claims, policy))];
}

const REQUIRED_CLAIMS = ['exp'];
const ACCEPTED: Verdict = { ok: true };

function identityOptions(policy: ClaimPolicy): JWTVerifyOptions {
  return { issuer: policy.issuer, audience: (policy.audience as string[] | null) ?? undefined };
}

function timeOptions(claims: Record<string, unknown>, policy: ClaimPolicy): JWTVerifyOptions {
  return {
    clockTolerance: policy.clockTolerance,
    currentDate: policy.now,
    requiredClaims: REQUIRED_CLAIMS,
    // jose checks that `iat` is not in the future only with a maximum age: give it one that never
    // binds, and only when the token has an `iat` (a maximum age makes it required).
    maxTokenAge: claims.iat !== undefined ? Number.MAX_SAFE_INTEGER : undefined,
  };
}

function claimGroup(error: unknown): 'issuer_audience' | 'time' | null {
  if (!(error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired)) return null;
  return error.claim === 'iss' || error.claim === 'aud' ? 'issuer_audience' : 'time';
}

function signatureFailure(error: unknown): CheckStep {
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return failed('signature', "the signature does not match the issuer's key");
  }
  const message = error instanceof Error ? error.message : 'unexpected error';
  return failed('signature', `jose refused the token: ${shown(message, 120)}`);
}

function identityPassed(claims: Record<string, unknown>, policy: ClaimPolicy): CheckStep {
  const audience = policy.audience
    ? `aud contains ${policy.audience.length === 1 ? shown(policy.audience[0]) : `one of ${policy.audience.map((a) => shown(a)).join(', ')}`}`
    : `aud not checked (no audience given; the token's is ${claims.aud === undefined ? 'absent' : shown(claims.aud)})`;
  return passed('issuer_audience', `iss is ${shown(policy.issuer)}; ${audience}`);
}

function timePassed(claims: Record<string, unknown>, policy: ClaimPolicy): CheckStep {
  const others = ['nbf', 'iat'].filter((c) => claims[c] !== undefined);
  const notFuture = others.length > 0 ? `; ${others.join(' and ')} not in the future` : '';
  return passed(
    'time',
    `expires ${when(claims.exp as number, policy.now)}${notFuture}; tolerance ${policy.clockTolerance} s${policy.timeNote}`,
  );
}

function claimFailure(error: unknown, claims: Record<string, unknown>, policy: ClaimPolicy): CheckStep {
  if (!(error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired)) {
    return signatureFailure(error);
  }
  const { claim, reason } = error;
  const name = claim === 'iss' || claim === 'aud' ? 'issuer_audience' : 'time';
  if (reason === 'missing') {
    const why =
      claim === 'exp'
        ? 'the token has no exp claim: tokens without an expiry are not accepted'
        : claim === 'aud'
          ? `the token has no aud claim; expected ${audienceText(policy)}`
          : `the token has no ${claim} claim`;
    return failed(name, why);
  }
  if (reason === 'invalid') return failed(name, `the ${claim} claim is not a number`);
  switch (claim) {
    case 'iss':
      return failed('issuer_audience', issuerMismatch(claims.iss, policy));
    case 'aud':
      return failed(
        'issuer_audience',
        `aud is ${shown(claims.aud)}, which does not contain ${audienceText(policy)}`,
      );
    case 'exp':
      return failed(
        'time',
        `expired ${when(claims.exp as number, policy.now)}, beyond the ${policy.clockTolerance} s tolerance${policy.timeNote}`,
      );
    case 'nbf':
      return failed(
        'time',
        `not valid before ${when(claims.nbf as number, policy.now)}, beyond the ${policy.clockTolerance} s tolerance${policy.timeNote}`,
      );
    case 'iat':
      return iatInFuture(claims.iat as number, policy);
    default:
      return failed(name, `the ${shown(claim, 20)} claim failed its check`);
  }
}

function iatInFuture(iat: number, policy: ClaimPolicy): CheckStep {
  return failed(
    'time',
    `issued in the future (${when(iat, policy.now)}), beyond the ${policy.clockTolerance} s tolerance${policy.timeNote}`,
  );
}

function issuerMismatch(iss: unknown, policy: ClaimPolicy): string {
  const base = `iss is "${shown(iss)}", expected exactly "${shown(policy.issuer)}"`;
  if (typeof iss !== 'string') return base;
  if (iss.replace(/\/$/, '') === policy.issuer.replace(/\/$/, ''))
    return `${base} (they differ by a trailing slash)`;
  if (policy.discoveredIssuer && iss === policy.discoveredIssuer) {
    return `${base}; the issuer's discovery document names "${shown(iss)}": configure the issuer exactly so`;
  }
  return base;
}

function audienceText(policy: ClaimPolicy): string {
  const list = policy.audience ?? [];
  return list.length === 1 ? shown(list[0]) : `one of ${list.map((a) => shown(a)).join(', ')}`;
}

/**
 * OpenID Connect Core §3.1.3.7: with several audiences, `azp` says which party the token was
 * issued to; without it the token is ambiguous.
 */
function azpChecked(step: CheckStep, claims: Record<string, unknown>, policy: ClaimPolicy): CheckStep {
  if (step.name !== 'issuer_audience' || !step.ok) return step;
  if (!Array.isArray(claims.aud) || claims.aud.length < 2) return step;
  if (typeof claims.azp !== 'string') {
    return failed('issuer_audience', 'aud names several audiences but the token has no azp claim');
  }
  if (policy.authorizedParty !== undefined && claims.azp !== policy.authorizedParty) {
    return failed(
      'issuer_audience',
      `azp is "${shown(claims.azp)}", expected "${shown(policy.authorizedParty)}"`,
    );
  }
  return passed('issuer_audience', `${step.detail}; azp is ${shown(claims.azp)}`);
}
