/**
 * A token from outside (the `token` option, `<PREFIX>_TOKEN`) given to an exchange provider
 * (DESIGN.md, Control planes): exchanged for a tenant's token only when it is the login
 * provider's own (its `iss` the login's issuer, its `aud` the login's client id; for Firebase
 * `https://securetoken.google.com/<project_id>` and the project id); any other token is the
 * control-plane token as it is, and a tenant asked for with it is an error, never ignored.
 */
import { decodeJwt } from 'jose';
import type { KeyfobConfig, ProviderConfig } from '../config/schema.js';
import { InvalidInput, TokenExpired } from '../errors.js';
import { isTenantProvider } from '../providers/exchange.js';
import { pickTenant } from '../resolve/tenant.js';
import { type AccessToken, DEFAULT_MIN_TTL_SECONDS, freshnessOf, type Tenant } from '../session.js';
import type { InstanceContext } from './context.js';

/** An exchanged token and the tenant it belongs to. */
export interface OutsideExchange {
  token: AccessToken;
  tenant: Tenant;
}

/**
 * The exchange of `token` when the ambient provider is an exchange whose login issued it; `null`
 * when it is to be used as it is.
 * @throws InvalidInput when a tenant is asked for with a token that cannot be exchanged.
 */
export function exchangeOutsideToken(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  token: string,
  tenant: { id: string; source: string } | null,
  label: string,
  minTtlSeconds = DEFAULT_MIN_TTL_SECONDS,
): Promise<OutsideExchange | null> {
  // Concurrent callers with the same token and tenant share one exchange.
  const key = `${token}\u0000${tenant?.id ?? ''}`;
  // A caller that does not memoize (a token file re-read each call) reuses a fresh exchange.
  const done = exchanged.get(ctx)?.get(key);
  if (done && freshnessOf(done.token)(ctx.nowMs(), minTtlSeconds)) return Promise.resolve(done);
  let pending = inFlight.get(key);
  if (!pending) {
    pending = exchangeOnce(ctx, cfg, token, tenant, label).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
    pending.then(
      (result) => {
        // Only the latest: a rotated file token replaces its predecessor's exchange.
        if (result) exchanged.set(ctx, new Map([[key, result]]));
      },
      () => {},
    );
  }
  return pending;
}

const inFlight = new Map<string, Promise<OutsideExchange | null>>();
/** Per instance: the last exchange of a token from outside. */
const exchanged = new WeakMap<InstanceContext, Map<string, OutsideExchange>>();

async function exchangeOnce(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  token: string,
  tenant: { id: string; source: string } | null,
  label: string,
): Promise<OutsideExchange | null> {
  let name: string | null;
  try {
    name = ctx.ambientProvider(cfg);
  } catch (error) {
    // A token used as it is needs no provider; one asked to reach a tenant does.
    if (tenant) throw error;
    return null;
  }
  const config = name ? ctx.providerConfig(cfg, name) : undefined;
  if (config?.type !== 'exchange') return tenant ? refuse(label, tenant, 'no exchange provider') : null;
  const login = ctx.lookupProvider(cfg)(config.login);
  const expected = login ? loginIdentity(login) : null;
  let claims: { iss?: unknown; aud?: unknown; exp?: unknown };
  try {
    claims = decodeJwt(token);
  } catch {
    claims = {};
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!expected || claims.iss !== expected.issuer || !audiences.includes(expected.audience)) {
    return tenant ? refuse(label, tenant, `not issued by the login of provider ${config.name}`) : null;
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= ctx.nowMs()) {
    // The login's own token, expired: the control plane would refuse it; nothing is sent.
    throw new TokenExpired(
      `the token from ${label} expired at ${new Date(claims.exp * 1000).toISOString()} and cannot be renewed`,
      { hint: `provide a fresh token in ${label}, or log in with \`${ctx.command('login')}\`` },
    );
  }
  const provider = await ctx.provider(config.name);
  if (!isTenantProvider(provider)) return null;
  const cp = provider.controlPlane;
  const tenants = await cp.listTenants(token);
  const chosen = await pickTenant({
    requests: [
      ...(tenant ? [tenant] : []),
      ...(config.tenant ? [{ id: config.tenant, source: `provider ${config.name}` }] : []),
    ],
    tenants,
    command: `${ctx.command('token')}`,
  });
  const answer = await cp.exchange({
    subjectToken: token,
    subjectTokenType: config.subject_token ?? 'id_token',
    tenantId: chosen.tenant.id,
    scopes: [],
  });
  const details: Tenant = answer.tenant ?? {
    id: chosen.tenant.id,
    name: chosen.tenant.name,
    region: chosen.tenant.region,
    server_url: chosen.tenant.server_url,
  };
  return {
    token: {
      token: answer.accessToken,
      token_type: answer.tokenType,
      expires_at: answer.expiresAt,
      obtained_at: answer.obtainedAt,
      scopes: answer.scopes,
      resource: config.resource ?? null,
      control_plane: config.control_plane,
      tenant: details,
    },
    tenant: details,
  };
}

/** The issuer and audience of the login's own tokens, when its configuration names them. */
function loginIdentity(login: ProviderConfig): { issuer: string; audience: string } | null {
  switch (login.type) {
    case 'firebase':
      return login.project_id
        ? { issuer: `https://securetoken.google.com/${login.project_id}`, audience: login.project_id }
        : null;
    case 'oidc':
    case 'oauth2':
    case 'password':
    case 'client_credentials':
      return login.issuer ? { issuer: login.issuer, audience: login.client_id } : null;
    default:
      return null;
  }
}

function refuse(label: string, tenant: { id: string; source: string }, why: string): never {
  throw new InvalidInput(
    `a tenant (${tenant.source}) cannot be used with the token from ${label}: it is ${why}, so it is used as it is and cannot be exchanged for another tenant`,
    { hint: `drop the tenant, or give a token of the login provider (its ID token)` },
  );
}
