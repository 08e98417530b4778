/**
 * Step 2, the algorithm allow-list: the algorithms the key types in the issuer's JWKS permit,
 * intersected with the caller's list. Discovery's `id_token_signing_alg_values_supported` is not
 * used: it says nothing about access tokens.
 *
 * `none` and the HMAC family are refused before any key is looked at: an issuer's keys are
 * public, and an HMAC "signed" with a public key proves nothing (the classic key-confusion
 * attack).
 */
import type { JSONWebKeySet, JWK } from 'jose';
import { InvalidInput } from '../errors.js';
import { shown } from './report.js';

/** Asymmetric signature algorithms by key type (and curve), as jose verifies them. */
const BY_KEY: Readonly<Record<string, readonly string[]>> = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  'EC:P-256': ['ES256'],
  'EC:P-384': ['ES384'],
  'EC:P-521': ['ES512'],
  'OKP:Ed25519': ['EdDSA', 'Ed25519'],
  'OKP:Ed448': ['EdDSA'],
};

/** Every algorithm keyfob may accept; a caller's list may only narrow it. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  ...Object.values(BY_KEY).flat(),
  'ML-DSA-44',
  'ML-DSA-65',
  'ML-DSA-87',
]);

/**
 * Why an algorithm is refused whatever the keys are, or `null` when it may be considered.
 * @param alg The header's `alg`.
 */
export function refusedOutright(alg: string): string | null {
  if (ASYMMETRIC_ALGORITHMS.has(alg)) return null;
  if (alg.toLowerCase() === 'none') return 'unsigned tokens (alg none) are never accepted';
  if (/^HS\d+$/i.test(alg)) {
    return `${shown(alg, 20)} is an HMAC algorithm: never accepted against an issuer's public keys`;
  }
  return `${shown(alg, 20)} is not a signature algorithm keyfob accepts`;
}

/**
 * The algorithms the signing keys of `jwks` permit: a key's own `alg` when it names one, else
 * every algorithm of its type. Keys for encryption (`use: enc`, `key_ops` without `verify`)
 * and symmetric keys count for nothing.
 */
export function algorithmsForKeys(jwks: JSONWebKeySet | undefined): Set<string> {
  const allowed = new Set<string>();
  for (const jwk of jwks?.keys ?? []) {
    if (!isSigningKey(jwk)) continue;
    if (typeof jwk.alg === 'string') {
      if (ASYMMETRIC_ALGORITHMS.has(jwk.alg)) allowed.add(jwk.alg);
      continue;
    }
    const type = jwk.kty === 'RSA' ? 'RSA' : `${jwk.kty}:${jwk.crv}`;
    for (const alg of BY_KEY[type] ?? []) allowed.add(alg);
  }
  return allowed;
}

function isSigningKey(jwk: JWK): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify')))
    return false;
  return jwk.kty !== 'oct';
}

/**
 * Validates a caller's algorithm list: asymmetric algorithms only.
 * @throws InvalidInput naming the first algorithm that can never be allowed.
 */
export function callerAlgorithms(list: readonly string[] | undefined): ReadonlySet<string> | null {
  if (list === undefined) return null;
  for (const alg of list) {
    const refusal = refusedOutright(alg);
    if (refusal) throw new InvalidInput(`algorithms: ${refusal}`);
  }
  return new Set(list);
}
