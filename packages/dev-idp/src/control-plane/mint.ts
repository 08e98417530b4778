/**
 * The control plane's own token minting: its own ES256 key and its own issuer
 * (`<dev-idp issuer>/cp`), never the identity provider's, as real control planes do. Regional
 * APIs and the control plane's own endpoints verify these tokens with this key only.
 */
import { randomUUID } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';

/** The control plane's signing algorithm (distinct from dev-idp's RS256 on purpose). */
export const CONTROL_PLANE_ALG = 'ES256';

/** Every scope a control-plane token may carry. */
export const TENANT_SCOPES = ['tenant:read', 'tenant:write', 'tenant:admin'] as const;
/** What a token carries when no scope is asked for. */
export const DEFAULT_TENANT_SCOPE = 'tenant:read tenant:write';

/** How a control-plane token came to be. */
export type TokenKind = 'exchanged' | 'service_principal' | 'assumed';

/** The claims of a control-plane token, as minted and as verified. */
export interface ControlPlaneClaims {
  sub: string;
  email: string | null;
  tenant_id: string;
  region: string;
  scope: string;
  kind: TokenKind;
  iat: number;
  exp: number;
  jti: string;
  act?: { sub: string };
}

/** What a caller asks to be minted. */
export interface MintRequest {
  sub: string;
  email: string | null;
  tenant_id: string;
  region: string;
  scope: string;
  kind: TokenKind;
  /** Lifetime in seconds. */
  ttl: number;
  act?: { sub: string };
}

/** Signs and verifies the control plane's tokens. */
export interface Minter {
  readonly issuer: string;
  /** The public keys, as served at `/cp/.well-known/jwks.json`. */
  jwks(): JSONWebKeySet;
  mint(request: MintRequest): Promise<{ token: string; claims: ControlPlaneClaims }>;
  /** The claims of a valid token of this control plane; throws (a jose error) otherwise. */
  verify(token: string): Promise<ControlPlaneClaims>;
}

/** A minter for `issuer` with a fresh key (kept in memory: a restart invalidates its tokens). */
export async function createMinter(issuer: string): Promise<Minter> {
  const { privateKey, publicKey } = await generateKeyPair(CONTROL_PLANE_ALG, { extractable: true });
  const kid = `cp-${randomUUID()}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: CONTROL_PLANE_ALG, use: 'sig' };
  const jwks: JSONWebKeySet = { keys: [publicJwk] };
  const keySet = createLocalJWKSet(jwks);
  return {
    issuer,
    jwks: () => ({ keys: jwks.keys.map((key) => ({ ...key })) }),
    async mint(request) {
      const iat = Math.floor(Date.now() / 1000);
      const claims: ControlPlaneClaims = {
        sub: request.sub,
        email: request.email,
        tenant_id: request.tenant_id,
        region: request.region,
        scope: request.scope,
        kind: request.kind,
        iat,
        exp: iat + request.ttl,
        jti: randomUUID(),
        ...(request.act ? { act: request.act } : {}),
      };
      const { email, ...rest } = claims;
      const payload: JWTPayload = { ...rest, ...(email === null ? {} : { email }) };
      const token = await new SignJWT(payload)
        .setProtectedHeader({ alg: CONTROL_PLANE_ALG, typ: 'at+jwt', kid })
        .setIssuer(issuer)
        .sign(privateKey);
      return { token, claims };
    },
    async verify(token) {
      const { payload } = await jwtVerify(token, keySet, {
        issuer,
        typ: 'at+jwt',
        algorithms: [CONTROL_PLANE_ALG],
        requiredClaims: ['sub', 'exp', 'iat', 'tenant_id', 'region', 'kind'],
      });
      return claimsOf(payload);
    },
  };
}

function claimsOf(payload: JWTPayload): ControlPlaneClaims {
  const text = (name: string): string => {
    const value = payload[name];
    if (typeof value !== 'string') throw new TypeError(`the token has no ${name}`);
    return value;
  };
  const kind = text('kind');
  if (kind !== 'exchanged' && kind !== 'service_principal' && kind !== 'assumed') {
    throw new TypeError('the token has an unknown kind');
  }
  const act = payload.act as { sub?: unknown } | undefined;
  return {
    sub: text('sub'),
    email: typeof payload.email === 'string' ? payload.email : null,
    tenant_id: text('tenant_id'),
    region: text('region'),
    scope: typeof payload.scope === 'string' ? payload.scope : '',
    kind,
    iat: payload.iat ?? 0,
    exp: payload.exp ?? 0,
    jti: typeof payload.jti === 'string' ? payload.jti : '',
    ...(act && typeof act.sub === 'string' ? { act: { sub: act.sub } } : {}),
  };
}

/**
 * The scope to mint: the default when none is asked, else the asked one if every part is known
 * and allowed. Returns an error description instead when it is not.
 */
export function grantedScope(
  requested: string | undefined,
  mayAdmin: boolean,
): { scope: string } | { error: string } {
  if (requested === undefined || requested.trim() === '') return { scope: DEFAULT_TENANT_SCOPE };
  const parts = [...new Set(requested.split(' ').filter(Boolean))];
  const known = new Set<string>(TENANT_SCOPES);
  const unknown = parts.filter((part) => !known.has(part));
  if (unknown.length > 0) {
    return { error: `unknown scope ${unknown.join(' ').slice(0, 100)}; known: ${TENANT_SCOPES.join(' ')}` };
  }
  if (parts.includes('tenant:admin') && !mayAdmin)
    return { error: 'tenant:admin is not granted to this subject' };
  return { scope: parts.join(' ') };
}
