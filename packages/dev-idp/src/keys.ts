/**
 * Signing keys and cookie keys.
 *
 * oidc-provider fixes its keystore at construction, so rotation means building a new provider
 * with a new key list; this file only makes and orders the keys.
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';

const generateKeyPairAsync = promisify(generateKeyPair);

/** The algorithm of every signature dev-idp makes (ID tokens, JWT access tokens). */
export const SIGNING_ALG = 'RS256';

/** A private signing key in JWK form, with `kid`, `alg` and `use` set. */
export type SigningJwk = JWK & { kid: string; alg: typeof SIGNING_ALG; use: 'sig' };

/** Makes a new RSA signing key; its `kid` is its RFC 7638 thumbprint, so it is stable on disk. */
export async function generateSigningKey(): Promise<SigningJwk> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg: SIGNING_ALG, use: 'sig' };
}

/** The public half of a signing key, as served in the JWKS. */
export function publicJwk(jwk: SigningJwk): JWK {
  const { kty, n, e, kid, alg, use } = jwk;
  return { kty, n, e, kid, alg, use };
}

/**
 * The key list after a rotation: the new key first (oidc-provider signs with the first
 * matching key), the old ones after it unless they are dropped.
 */
export function rotatedKeys(current: SigningJwk[], fresh: SigningJwk, keepOld: boolean): SigningJwk[] {
  return keepOld ? [fresh, ...current] : [fresh];
}

/** A random key for signing the provider's cookies. */
export function generateCookieKey(): string {
  return randomBytes(32).toString('base64url');
}

/** True when a value read from the data file looks like a private signing key of ours. */
export function isSigningJwk(value: unknown): value is SigningJwk {
  if (value === null || typeof value !== 'object') return false;
  const jwk = value as Record<string, unknown>;
  return (
    jwk.kty === 'RSA' &&
    jwk.alg === SIGNING_ALG &&
    jwk.use === 'sig' &&
    ['kid', 'n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'].every((field) => typeof jwk[field] === 'string')
  );
}
