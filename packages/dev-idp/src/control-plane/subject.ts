/**
 * Which subject a presented token names: a dev-idp ID token or JWT access token (verified with
 * dev-idp's current keys), a Firebase emulator ID token (confirmed by the emulator), or a token
 * of the control plane itself. Everything else is refused with a short reason.
 */
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { userBySub } from '../accounts.js';
import { SIGNING_ALG } from '../keys.js';
import {
  FIREBASE_ISSUER_PREFIX,
  type FirebaseSettings,
  firebaseSubject,
  unverifiedClaims,
} from './firebase.js';
import type { ControlPlaneClaims, Minter } from './mint.js';
import type { Subject } from './tenants.js';

/** What kind of token named the subject. */
export type SubjectTokenType = 'id_token' | 'access_token' | 'control_plane';

/** Where subject tokens are checked. */
export interface SubjectVerifier {
  /** dev-idp's issuer. */
  issuer: string;
  /** dev-idp's protected API: the `aud` of its JWT access tokens. */
  api: string;
  /** dev-idp's client ids: the accepted `aud` of its ID tokens. */
  clientIds: ReadonlyArray<string>;
  /** dev-idp's current public keys (they change when the keys rotate). */
  idpJwks(): JSONWebKeySet;
  firebase: FirebaseSettings | null;
  minter: Minter;
}

/** A subject named by a valid token. */
export interface VerifiedSubject {
  subject: Subject;
  type: SubjectTokenType;
  /** The control-plane claims, when the token was one of the control plane's own. */
  controlPlane?: ControlPlaneClaims;
}

/** The subject, or the reason the token is refused (never the token itself). */
export async function verifySubjectToken(
  verifier: SubjectVerifier,
  token: string,
): Promise<VerifiedSubject | { reason: string }> {
  const claims = unverifiedClaims(token);
  if (!claims) return { reason: 'the token is not a JWT' };
  const iss = claims.iss;
  if (iss === verifier.minter.issuer) {
    try {
      const cp = await verifier.minter.verify(token);
      return { subject: { sub: cp.sub, email: cp.email }, type: 'control_plane', controlPlane: cp };
    } catch (error) {
      return { reason: describeJwtError(error, 'control-plane token') };
    }
  }
  if (iss === verifier.issuer) return verifyIdpToken(verifier, token);
  if (typeof iss === 'string' && iss.startsWith(FIREBASE_ISSUER_PREFIX)) {
    const result = await firebaseSubject(verifier.firebase, token, claims);
    return 'reason' in result ? result : { subject: result.subject, type: 'id_token' };
  }
  return { reason: 'the token is from an issuer this control plane does not trust' };
}

async function verifyIdpToken(
  verifier: SubjectVerifier,
  token: string,
): Promise<VerifiedSubject | { reason: string }> {
  let typ: string | undefined;
  try {
    typ = decodeProtectedHeader(token).typ?.toLowerCase();
  } catch {
    return { reason: 'the token is not a JWT' };
  }
  const isAccessToken = typ === 'at+jwt' || typ === 'application/at+jwt';
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, createLocalJWKSet(verifier.idpJwks()), {
      issuer: verifier.issuer,
      audience: isAccessToken ? verifier.api : [...verifier.clientIds],
      algorithms: [SIGNING_ALG],
      requiredClaims: ['exp', 'iat', 'sub'],
    }));
  } catch (error) {
    return { reason: describeJwtError(error, isAccessToken ? 'access token' : 'ID token') };
  }
  const sub = String(payload.sub);
  const user = userBySub(sub);
  if (user) return { subject: { sub, email: user.email }, type: isAccessToken ? 'access_token' : 'id_token' };
  // A client credentials token names no user: the machine is its client.
  const clientId = typeof payload.client_id === 'string' ? payload.client_id : sub;
  if (isAccessToken && clientId === sub) {
    return { subject: { sub: clientId, email: null }, type: 'access_token' };
  }
  return { reason: 'the token names no known user or client' };
}

/** A short reason for a refused JWT; never echoes the token. */
export function describeJwtError(error: unknown, what: string): string {
  if (error instanceof joseErrors.JWTExpired) return `the ${what} expired`;
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the ${what} has a bad ${error.claim} claim`;
  if (error instanceof joseErrors.JWKSNoMatchingKey) return `the ${what} was not signed by a current key`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return `the ${what} signature is invalid`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return `the ${what} uses a refused algorithm`;
  return `the ${what} is not valid`;
}
