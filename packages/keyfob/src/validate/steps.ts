/**
 * Steps 2 and 3 of `check`: the token's algorithm against what the issuer's keys (and the
 * caller) allow, and the one key of the issuer's `jwks_uri` that matches its `alg` and `kid`.
 */
import { errors } from 'jose';
import { toKeyfobError } from '../providers/oauth-client.js';
import type { IssuerKey, IssuerKeys } from './jwks.js';
import { type CheckStep, failed, passed, shown, undecided } from './report.js';

/**
 * Step 2 without waiting, when the key set is fresh: the verdict, or `null` when the keys must
 * be downloaded first (none yet, stale, or the algorithm unknown and a refetch allowed).
 */
export function algorithmVerdict(
  keys: IssuerKeys,
  alg: string,
  caller: ReadonlySet<string> | null,
): CheckStep | null {
  if (!keys.resolve.fresh) return null;
  const fromKeys = keys.algorithms();
  if (!fromKeys.has(alg) && !keys.resolve.coolingDown) return null;
  return algorithmPassed(fromKeys, alg, caller);
}

/**
 * Step 2's verdict: passed when `alg` is among what the issuer's keys (and the caller) allow.
 * @param fromKeys The algorithms the issuer's key set permits (`IssuerKeys.algorithms()`).
 */
export function algorithmPassed(
  fromKeys: ReadonlySet<string>,
  alg: string,
  caller: ReadonlySet<string> | null,
): CheckStep {
  const allowed = caller ? [...fromKeys].filter((a) => caller.has(a)) : [...fromKeys];
  return allowedStep(allowed, alg, caller !== null);
}

function allowedStep(allowed: string[], alg: string, narrowed: boolean): CheckStep {
  if (!allowed.includes(alg)) {
    const list = allowed.length > 0 ? allowed.join(', ') : 'none';
    return failed(
      'algorithm',
      `${alg} is not allowed: the issuer's keys${narrowed ? " and the caller's list" : ''} permit ${list}`,
    );
  }
  return passed('algorithm', `${alg}, allowed by the issuer's keys (${allowed.join(', ')})`);
}

/** Step 2: the header's algorithm against what the issuer's keys (and the caller) permit. */
export async function algorithmStep(
  keys: IssuerKeys,
  alg: string,
  caller: ReadonlySet<string> | null,
): Promise<CheckStep> {
  const download = async (): Promise<string | null> => {
    try {
      await keys.resolve.reload();
      return null;
    } catch (error) {
      return toKeyfobError(error, { action: `downloading the issuer's keys from ${keys.uri}` }).message;
    }
  };
  if (!keys.resolve.fresh) {
    const problem = await download();
    if (problem) return undecided('algorithm', problem);
  }
  let fromKeys = keys.algorithms();
  // A key of a new type may have been published since the last download (a move from RSA to EC).
  if (!fromKeys.has(alg) && !keys.resolve.coolingDown) {
    const problem = await download();
    if (problem) return undecided('algorithm', problem);
    fromKeys = keys.algorithms();
  }
  return allowedStep(
    caller ? [...fromKeys].filter((a) => caller.has(a)) : [...fromKeys],
    alg,
    caller !== null,
  );
}

export type KeyOutcome = { step: CheckStep; value: IssuerKey | null };

/** Step 3: the one key of the issuer's JWKS that matches the header's `alg` and `kid`. */
export async function keyStep(
  keys: IssuerKeys,
  alg: string,
  kid: string | undefined,
  header: Record<string, unknown>,
): Promise<KeyOutcome> {
  const before = keys.downloads;
  const wasCoolingDown = keys.resolve.coolingDown;
  try {
    // Only `alg` and `kid` are handed over: nothing else in the header may influence the choice.
    const value = await keys.key(alg, kid);
    return { step: passed('key', keyDetail(keys, alg, kid, header)), value };
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) {
      const what = kid !== undefined ? `no key with kid "${shown(kid)}" for ${alg}` : `no ${alg} key`;
      const refetch =
        keys.downloads > before
          ? 'downloaded again: still unknown'
          : wasCoolingDown
            ? 'the key set is recent, so it was not downloaded again'
            : 'not downloaded again';
      return {
        step: failed('key', `${what} in the issuer's JWKS (${refetch})${ignoredHeaders(header)}`),
        value: null,
      };
    }
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      const what =
        kid !== undefined
          ? `several keys in the issuer's JWKS share kid "${shown(kid)}"`
          : `the token names no kid and the issuer's JWKS has several ${alg} keys`;
      return { step: failed('key', what), value: null };
    }
    const reason = toKeyfobError(error, { action: `downloading the issuer's keys from ${keys.uri}` }).message;
    return { step: undecided('key', reason), value: null };
  }
}

export function keyDetail(
  keys: IssuerKeys,
  alg: string,
  kid: string | undefined,
  header: Record<string, unknown>,
) {
  const which = kid !== undefined ? `kid ${shown(kid)}` : `the only ${alg} key (the token names no kid)`;
  return `${which} from ${keys.uri}${ignoredHeaders(header)}`;
}

const KEY_LOCATING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

function ignoredHeaders(header: Record<string, unknown>): string {
  if (
    header.jku === undefined &&
    header.x5u === undefined &&
    header.jwk === undefined &&
    header.x5c === undefined
  ) {
    return '';
  }
  const present = KEY_LOCATING_HEADERS.filter((h) => Object.hasOwn(header, h));
  if (present.length === 0) return '';
  return `; its ${present.join(', ')} header${present.length > 1 ? 's were' : ' was'} ignored: keys come only from the issuer's jwks_uri`;
}
