/**
 * The fleet's wrapper around a machine's provider: its `login` and `renew` ask the fleet first,
 * and acquire from the provider only when the fleet has no fresh token (or Redis does not
 * answer). The token a worker gets from the fleet is put in its session as if renewed, marked
 * `source: 'fleet'` so that `status` can say so.
 */
import type { KeyfobConfig } from '../config/schema.js';
import type { InstanceContext } from '../instance/context.js';
import type { CredentialProvider, LoginRequest, TokenRequest } from '../providers/provider.js';
import {
  type AccessToken,
  accessTokenKey,
  concretePlace,
  findAccessToken,
  newSession,
  parseScopes,
  type Session,
} from '../session.js';
import type { FleetIdentity, FleetToken } from './entry.js';
import type { Acquired, Fleet } from './fleet.js';
import type { FleetCall, MachineSource } from './hook.js';
import { fleetOf } from './instance.js';

/** `inner` with its `login` and `renew` going through the instance's fleet. */
export async function fleetProvider(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  inner: CredentialProvider,
  machine: MachineSource,
  call: FleetCall,
): Promise<CredentialProvider> {
  const fleet = await fleetOf(ctx, cfg);
  if (!fleet) return inner;
  const now = () => ctx.now();
  return {
    name: inner.name,
    type: inner.type,
    loginFlows: inner.loginFlows,
    allowedOrigins: inner.allowedOrigins,
    defaultResource: inner.defaultResource,
    canReacquire: inner.canReacquire,
    revoke: (session) => inner.revoke(session),
    userinfo: (session, token) => inner.userinfo(session, token),

    async login(request: LoginRequest) {
      // A secret given to `login --with-secret`, or an exchange's login, is this worker's own.
      const request_: TokenRequest = { resource: inner.defaultResource, scopes: request.scopes };
      const empty = newSession(inner.name, 'client_credentials', now());
      const who =
        request.secret || inner.type !== 'client_credentials'
          ? null
          : machineIdentity(machine, empty, request_);
      if (!who) return inner.login(request);
      const got = await fleet.obtain({
        ...who,
        minTtlSeconds: call.minTtlSeconds,
        replacing: null,
        acquire: async () => withToken(await inner.login(request), request_, now()),
      });
      if (got.from === 'provider') return got.value;
      const session = newSession(inner.name, 'client_credentials', now());
      const token = restore(got.token, got.remainingMs, now());
      session.subject = subjectOf(token.token) ?? who.identity.client_id;
      session.scopes = token.scopes;
      session.access_tokens[accessTokenKey(token.resource, token.scopes)] = token;
      return session;
    },

    async renew(session: Session, request: TokenRequest) {
      const who = machineIdentity(machine, session, request);
      if (!who) return inner.renew(session, request);
      const held = findAccessToken(session, request.resource, request.scopes, request.place);
      const got = await fleet.obtain({
        ...who,
        minTtlSeconds: call.minTtlSeconds,
        replacing: call.force ? (held?.token ?? null) : null,
        acquire: async () => withToken(await inner.renew(session, request), request, now()),
      });
      if (got.from === 'provider') return got.value;
      const next = structuredClone(session);
      const token = restore(got.token, got.remainingMs, now());
      // In the slot of the token it replaces, so that no stale token is found before it.
      const slot = held
        ? Object.keys(session.access_tokens).find((k) => session.access_tokens[k] === held)
        : undefined;
      next.access_tokens[
        slot ?? accessTokenKey(token.resource, token.scopes, concretePlace(session, request.place))
      ] = token;
      next.updated_at = now().toISOString();
      return next;
    },
  };
}

/** The identity an entry is named by and bound to, with the secret its name is keyed by. */
export function machineIdentity(
  machine: MachineSource,
  session: Session,
  request: TokenRequest,
): { identity: FleetIdentity; secret: string } | null {
  const config = machine.config;
  let client = config;
  let place: { control_plane: string | null; tenant: string | null } = { control_plane: null, tenant: null };
  if (!machine.client && config.type === 'exchange') {
    const login = machine.lookup(config.login);
    if (!login) return null;
    client = login;
    place = {
      control_plane: config.control_plane,
      tenant: request.place?.tenant ?? session.tenant?.id ?? null,
    };
    // An exchange's token names its tenant; without one there is nothing to share.
    if (place.tenant === null) return null;
  } else if (!machine.client && config.type !== 'client_credentials') {
    return null;
  }
  const secret =
    machine.client?.secret ??
    session.client_secret ??
    ('client_secret' in client && typeof client.client_secret === 'string' ? client.client_secret : null);
  // A private key (private_key_jwt) is not shared through names: those workers acquire alone.
  if (!secret) return null;
  const clientId =
    machine.client?.id ??
    session.client_id ??
    session.service_principal?.client_id ??
    ('client_id' in client ? client.client_id : null);
  if (!clientId) return null;
  const configured = client.type === 'client_credentials' ? client.scopes : [];
  return {
    secret,
    identity: {
      issuer: 'issuer' in client && typeof client.issuer === 'string' ? client.issuer : null,
      token_endpoint:
        'token_endpoint' in client && typeof client.token_endpoint === 'string'
          ? client.token_endpoint
          : null,
      client_id: clientId,
      control_plane: place.control_plane,
      tenant: place.tenant,
      resource: request.resource,
      scopes: parseScopes(request.scopes.length > 0 ? request.scopes : configured),
    },
  };
}

/** The provider's answer with the token to share, its remaining life measured on this worker. */
function withToken(session: Session, request: TokenRequest, now: Date): Acquired<Session> {
  const token = findAccessToken(session, request.resource, parseScopes(request.scopes), request.place);
  if (!token?.expires_at) return { token: null, value: session };
  const expiresAt = Date.parse(token.expires_at);
  const obtainedAt = Date.parse(token.obtained_at);
  if (!Number.isFinite(expiresAt) || !Number.isFinite(obtainedAt)) return { token: null, value: session };
  const shared: FleetToken & { remainingMs: number } = {
    token: token.token,
    token_type: token.token_type,
    lifetime_ms: expiresAt - obtainedAt,
    scopes: [...token.scopes],
    resource: token.resource,
    ...(token.control_plane !== undefined ? { control_plane: token.control_plane } : {}),
    ...(token.tenant !== undefined ? { tenant: token.tenant } : {}),
    remainingMs: expiresAt - now.getTime(),
  };
  return { token: shared, value: session };
}

/** An access token from an entry: its expiry is now plus the life Redis gives the entry. */
function restore(token: FleetToken, remainingMs: number, now: Date): AccessToken {
  const expiresAt = now.getTime() + remainingMs;
  return {
    token: token.token,
    token_type: token.token_type,
    expires_at: new Date(expiresAt).toISOString(),
    obtained_at: new Date(expiresAt - token.lifetime_ms).toISOString(),
    scopes: [...token.scopes],
    resource: token.resource,
    ...(token.control_plane !== undefined ? { control_plane: token.control_plane } : {}),
    ...(token.tenant !== undefined ? { tenant: token.tenant } : {}),
    source: 'fleet',
  };
}

function subjectOf(token: string): string | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}

export type { Fleet };
