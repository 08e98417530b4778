/**
 * The session: what one login produces, and what every store keeps.
 *
 * One refresh token serves many access tokens, keyed by resource and scopes (RFC 8707), so a
 * single login yields the userinfo token (no audience) and API tokens alike.
 */

import type { Tenant } from './tenant.js';

export type { Tenant };

/** Version of the session record; a reader meeting a newer one refuses and never rewrites it. */
export const SESSION_SCHEMA_VERSION = 1;

/** How a session was obtained. */
export type ObtainedBy =
  | 'browser'
  | 'device'
  | 'client_credentials'
  | 'password'
  | 'token'
  | 'token_file'
  | 'exchange'
  | 'assume_user';

/** One access token and what it is good for. */
export interface AccessToken {
  token: string;
  /** `Bearer`, or `DPoP` once sender-constrained tokens arrive. */
  token_type: string;
  /** ISO 8601 UTC, computed from `expires_in` on receipt; `null` when unknown. */
  expires_at: string | null;
  /** When the response arrived (ISO 8601 UTC): with `expires_at` it gives the token's lifetime. */
  obtained_at: string;
  /** The scopes granted for this token. */
  scopes: string[];
  /** The RFC 8707 resource (audience) the token was minted for; `null` for none. */
  resource: string | null;
  /**
   * For a control-plane token (an exchange): the control plane that minted it. Absent or `null`
   * for the login's own tokens (and in sessions stored before control planes).
   */
  control_plane?: string | null;
  /**
   * The tenant the token is scoped to, whose `server_url` it may go to: an exchanged token's
   * (with `control_plane`), or an assumed user's or a saved service principal's (without: those
   * are kept under the plain key, their provider having one tenant per session).
   */
  tenant?: Tenant | null;
  /** `fleet` when the token came from the fleet's Redis (another worker acquired it). */
  source?: 'fleet';
}

/**
 * Where a control-plane token belongs: tokens are kept per control plane and tenant, so a call
 * for another tenant never returns or overwrites this one's. `tenant: null` asks for the
 * session's current tenant.
 */
export interface TokenPlace {
  control_plane: string;
  tenant: string | null;
}

/** Room for sender-constrained tokens (DPoP, RFC 9449): the key pair kept with the session. */
export interface ProofKey {
  kind: 'dpop';
  /** Private JWK; lives only in the store, like a refresh token. */
  private_jwk: Record<string, unknown>;
}

/**
 * Where a session came from (DESIGN.md, "Sessions are bound to where they came from"): its
 * refresh token, stored secret and tokens go only back there. Each provider type fills the
 * fields that name its place; the others stay `null` (or absent, for fields added later).
 */
export interface SessionBinding {
  /** The OpenID issuer, when the provider has one. */
  issuer: string | null;
  /** The token endpoint the configuration names (`oauth2`, a machine client without issuer). */
  token_endpoint: string | null;
  /** The OAuth client the grant belongs to. */
  client_id: string | null;
  /** `exchange` and `assume_user`: the control plane. */
  control_plane?: string | null;
  /** `firebase`: the web API key (an identifier, not a secret). */
  api_key?: string | null;
  /** `firebase`: the Auth emulator's `host:port`, `null` for Google's servers. */
  emulator_host?: string | null;
}

/** How a saved service principal gets its tokens (from the create answer). */
export interface ServicePrincipalLogin {
  client_id: string;
  token_endpoint: string;
  token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
}

/** A named session with its tokens. Stored whole by every store. */
export interface Session {
  schema_version: typeof SESSION_SCHEMA_VERSION;
  /** Name of the provider in the configuration that produced it. */
  provider: string;
  obtained_by: ObtainedBy;
  /** `sub` of the user or machine, when known. */
  subject: string | null;
  tenant: Tenant | null;
  /** Scopes granted to the whole grant; access tokens may carry a subset. */
  scopes: string[];
  refresh_token: string | null;
  id_token: string | null;
  /** Keyed by {@link accessTokenKey}. */
  access_tokens: Record<string, AccessToken>;
  proof_key: ProofKey | null;
  /** A machine client's secret given with `login --with-secret`: it lives only in the store. */
  client_secret?: string;
  /**
   * A machine client's own id when it is not its provider's `client_id` (a service principal's
   * section of an INI credentials file): client credentials are asked for with this id and
   * `client_secret`, at the provider's token endpoint.
   */
  client_id?: string;
  /** `assume_user`: the admin API key the session re-assumes with; it lives only in the store. */
  admin_api_key?: string;
  /**
   * A service principal saved by `service-principal create --save-profile`: where its secret
   * (`client_secret`) is sent, and only there, for client credentials.
   */
  service_principal?: ServicePrincipalLogin;
  /**
   * Where the session came from. Absent in sessions stored before keyfob recorded it: those are
   * taken as bound to the configuration they are first renewed with, and stamped then.
   */
  bound_to?: SessionBinding;
  created_at: string;
  updated_at: string;
}

/** Splits a scope string given with commas or spaces into a sorted, unique list. */
export function parseScopes(input: string | readonly string[] | undefined | null): string[] {
  if (input == null) return [];
  const parts = typeof input === 'string' ? input.split(/[\s,]+/) : input.flatMap((s) => s.split(/[\s,]+/));
  return [...new Set(parts.filter((s) => s.length > 0))].sort();
}

/**
 * The key an access token is stored under: resource and scopes, and for a control-plane token
 * its control plane and tenant in front (`["https://cp","acme-eu"] resource scopes`).
 */
export function accessTokenKey(
  resource: string | null,
  scopes: readonly string[],
  place?: { control_plane: string; tenant: string } | null,
): string {
  const plain = `${resource ?? ''} ${parseScopes(scopes).join(' ')}`;
  return place ? `${JSON.stringify([place.control_plane, place.tenant])} ${plain}` : plain;
}

/**
 * The place a request names with its `tenant: null` (the current tenant) made concrete from the
 * session; `null` for a request outside control planes or a session without a tenant.
 */
export function concretePlace(
  session: Pick<Session, 'tenant'>,
  place: TokenPlace | null | undefined,
): { control_plane: string; tenant: string } | null {
  if (!place) return null;
  const tenant = place.tenant ?? session.tenant?.id ?? null;
  return tenant === null ? null : { control_plane: place.control_plane, tenant };
}

/** Builds an access-token record from a token response received at `receivedAt`. */
export function accessTokenFromResponse(
  response: { access_token: string; token_type?: string; expires_in?: number; scope?: string },
  request: { resource: string | null; scopes: readonly string[] },
  receivedAt: Date,
): AccessToken {
  const expiresIn = response.expires_in;
  return {
    token: response.access_token,
    token_type: normalizeTokenType(response.token_type),
    expires_at:
      typeof expiresIn === 'number' && Number.isFinite(expiresIn)
        ? new Date(receivedAt.getTime() + expiresIn * 1000).toISOString()
        : null,
    obtained_at: receivedAt.toISOString(),
    scopes: response.scope !== undefined ? parseScopes(response.scope) : parseScopes(request.scopes),
    resource: request.resource,
  };
}

function normalizeTokenType(tokenType: string | undefined): string {
  if (!tokenType) return 'Bearer';
  const lower = tokenType.toLowerCase();
  if (lower === 'bearer') return 'Bearer';
  if (lower === 'dpop') return 'DPoP';
  return tokenType;
}

/**
 * Finds the stored access token for a resource that covers the requested scopes. An exact key
 * match wins; otherwise any token for that resource whose scopes are a superset.
 */
export function findAccessToken(
  session: Session,
  resource: string | null,
  scopes: readonly string[],
  place?: TokenPlace | null,
): AccessToken | undefined {
  const concrete = concretePlace(session, place);
  // A request for a control-plane token with no tenant to name finds nothing (it is renewed).
  if (place && !concrete) return undefined;
  const exact = session.access_tokens[accessTokenKey(resource, scopes, concrete)];
  if (exact && samePlace(exact, concrete)) return exact;
  const wanted = parseScopes(scopes);
  return Object.values(session.access_tokens).find(
    (t) => t.resource === resource && samePlace(t, concrete) && wanted.every((s) => t.scopes.includes(s)),
  );
}

/**
 * Whether a stored token belongs to `place`: both outside control planes' per-tenant keys (a
 * token there may still say which tenant it is for: an assumed user's, a service principal's),
 * or the same control plane and tenant.
 */
function samePlace(token: AccessToken, place: { control_plane: string; tenant: string } | null): boolean {
  if (place === null) return (token.control_plane ?? null) === null;
  return (
    (token.control_plane ?? null) === (place?.control_plane ?? null) &&
    (token.tenant?.id ?? null) === (place?.tenant ?? null)
  );
}

/** Default minimum remaining lifetime a caller gets, in seconds. */
export const DEFAULT_MIN_TTL_SECONDS = 60;

/**
 * DESIGN.md's rule: a token is fresh enough when its remaining lifetime is at least
 * min(minTtl, half its lifetime). A token without a known expiry is always fresh enough.
 */
export function isFreshEnough(
  token: AccessToken,
  now: Date,
  minTtlSeconds = DEFAULT_MIN_TTL_SECONDS,
): boolean {
  return freshnessOf(token)(now.getTime(), minTtlSeconds);
}

/**
 * The freshness rule of {@link isFreshEnough} with the token's dates parsed once, for callers
 * that judge the same token many times (an instance's in-memory tokens).
 */
export function freshnessOf(token: AccessToken): (nowMs: number, minTtlSeconds: number) => boolean {
  if (token.expires_at === null) return () => true;
  const expiresAt = Date.parse(token.expires_at);
  const obtainedAt = Date.parse(token.obtained_at);
  return (nowMs, minTtlSeconds) => {
    const remaining = (expiresAt - nowMs) / 1000;
    const lifetime = Number.isFinite(obtainedAt) ? (expiresAt - obtainedAt) / 1000 : remaining;
    return remaining >= Math.min(minTtlSeconds, lifetime / 2) && remaining > 0;
  };
}

/** True when the token's expiry has passed (unknown expiry: never). */
export function isExpired(token: AccessToken, now: Date): boolean {
  return token.expires_at !== null && Date.parse(token.expires_at) <= now.getTime();
}

/** A new, empty session for a provider. */
export function newSession(provider: string, obtainedBy: ObtainedBy, now: Date): Session {
  const iso = now.toISOString();
  return {
    schema_version: SESSION_SCHEMA_VERSION,
    provider,
    obtained_by: obtainedBy,
    subject: null,
    tenant: null,
    scopes: [],
    refresh_token: null,
    id_token: null,
    access_tokens: {},
    proof_key: null,
    created_at: iso,
    updated_at: iso,
  };
}

/**
 * The one fix for a missing scope, said the same way by `token --scopes`, `getToken` and a 403
 * from `fetch`: a refresh cannot add scopes (RFC 6749 §6), so `refresh --scopes` logs in again
 * asking for the scopes the profile has plus these.
 *
 * @param refresh the profile's refresh command under the vendor's names, e.g.
 *   `keyfob refresh --profile work` (`InstanceContext.profileCommand('refresh', …)`).
 */
export function addScopesHint(refresh: string, missing: readonly string[]): string {
  return `run \`${refresh} --scopes ${missing.join(',')}\` to add ${missing.length > 1 ? 'them' : 'it'} (a new login in the browser)`;
}

/** keyfob's own refresh command beside a login command whose commands were not renamed. */
export function refreshOf(loginCommand: string): string {
  return loginCommand.replace(/ login\b/, ' refresh');
}
