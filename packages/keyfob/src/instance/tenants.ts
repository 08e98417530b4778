/**
 * `kf.tenants()` and `kf.switchTenant()`: the tenants of a profile's login, and making another
 * one current. Switching needs no new login (the identity provider sees nothing): the login's
 * token is exchanged for the new tenant, and the session and state file record it.
 */
import type { ProviderConfig } from '../config/schema.js';
import { updateState } from '../config/state.js';
import { AuthenticationRequired, InvalidInput } from '../errors.js';
import { assertBound, bindingOf } from '../lifecycle/binding.js';
import { type CriticalSection, holdSignals } from '../lifecycle/signals.js';
import { isTenantProvider, type TenantProvider } from '../providers/exchange.js';
import { renewedSessionOf } from '../providers/provider.js';
import { tokenPlace } from '../resolve/tenant.js';
import { findAccessToken, isFreshEnough, type Session, type Tenant } from '../session.js';
import type { CredentialStore } from '../stores/store.js';
import type { InstanceContext } from './context.js';
import type { TenantsResult } from './types.js';

interface ProfileParts {
  profile: string;
  named: boolean;
  provider: TenantProvider;
  providerName: string;
  store: CredentialStore;
  loginCommand: string;
  boundTo: ReturnType<typeof bindingOf>;
  resource: string | null;
  config: ProviderConfig;
}

/** The selected (or named) profile, which must log in through a provider with tenants. */
async function profileParts(ctx: InstanceContext, explicit: string | undefined): Promise<ProfileParts> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const selected = ctx.selectedProfile(st, explicit ?? ctx.explicit.profile);
  const named = explicit !== undefined || ctx.explicit.profile !== undefined;
  const loginCommand = ctx.loginCommand(selected.name, named);
  const binding = ctx.binding(cfg, st, selected.name);
  if (!binding.provider) {
    throw new AuthenticationRequired(`not logged in (profile ${selected.name})`, {
      hint: `run \`${loginCommand}\``,
    });
  }
  const config = ctx.providerConfig(cfg, binding.provider);
  const provider = await ctx.provider(binding.provider);
  if (!isTenantProvider(provider)) {
    throw new InvalidInput(
      `profile ${selected.name} logs in with provider ${binding.provider} (type ${config.type}), which has no control plane and so no tenants`,
      { hint: 'tenants come with providers of type exchange' },
    );
  }
  return {
    profile: selected.name,
    named,
    provider,
    providerName: binding.provider,
    store: ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind),
    loginCommand,
    boundTo: bindingOf(config, ctx.lookupProvider(cfg)),
    resource: config.resource ?? null,
    config,
  };
}

/**
 * The profile's stored session (read under its lock by the caller), when it may still be sent
 * where the configuration names now; `action` says what was not done otherwise.
 */
async function boundSession(
  parts: Awaited<ReturnType<typeof profileParts>>,
  action: string,
): Promise<Session> {
  const session = await parts.store.read(parts.profile);
  if (!session) {
    throw new AuthenticationRequired(`not logged in (profile ${parts.profile})`, {
      hint: `run \`${parts.loginCommand}\``,
    });
  }
  assertBound(session, parts.boundTo, { profile: parts.profile, loginCommand: parts.loginCommand, action });
  return session;
}

/** The tenants the profile's login belongs to, and the current one. */
export async function tenants(ctx: InstanceContext, opts: { profile?: string }): Promise<TenantsResult> {
  const parts = await profileParts(ctx, opts.profile);
  return ctx.withProfileLock(parts.profile, async (lock) => {
    const session = await boundSession(parts, 'the tenants were not asked for');
    const listed = await parts.provider.listTenants(session).catch(async (error: unknown) => {
      const partial = renewedSessionOf(error);
      if (partial) await parts.store.write(parts.profile, partial, { signal: lock.signal });
      throw error;
    });
    // A login renewed on the way is stored: its refresh token may have rotated.
    if (listed.session) await parts.store.write(parts.profile, listed.session, { signal: lock.signal });
    return {
      current: session.tenant?.id ?? null,
      tenants: listed.tenants.map((t) => ({
        id: t.id,
        name: t.name,
        region: t.region,
        server_url: t.server_url,
        default: t.isDefault,
      })),
    };
  });
}

/** Makes `tenantId` the profile's current tenant, by one exchange (or a fresh token held). */
export async function switchTenant(
  ctx: InstanceContext,
  tenantId: string,
  opts: { profile?: string },
): Promise<{ profile: string; tenant: Tenant }> {
  if (typeof tenantId !== 'string' || tenantId.trim() === '') {
    throw new InvalidInput('name the tenant: switch --tenant ID');
  }
  const parts = await profileParts(ctx, opts.profile);
  const place = tokenPlace(parts.config, tenantId, 'switch --tenant') ?? null;
  // From the exchange (which may renew the login and rotate its refresh token) until the
  // session is stored, signals are held; released after the lock is.
  let section: CriticalSection | undefined;
  let tenant: Tenant;
  try {
    tenant = await ctx.withProfileLock(parts.profile, async (lock) => {
      const session = await boundSession(parts, 'no exchange was attempted');
      let next = session;
      let token = findAccessToken(session, parts.resource, [], place);
      // A fresh token of that tenant (a one-call one) is taken over; else one exchange.
      if (!token || !isFreshEnough(token, ctx.now())) {
        section = holdSignals({
          what: `the tenant switch of profile ${parts.profile}`,
          lost: `The login may be lost; if \`${ctx.command('token')}\` then fails, run \`${parts.loginCommand}\``,
          prefix: ctx.cliName,
        });
        next = await parts.provider
          .renew(session, { resource: parts.resource, scopes: [], place })
          .catch(async (error: unknown) => {
            const partial = renewedSessionOf(error);
            if (partial) await parts.store.write(parts.profile, partial, { signal: lock.signal });
            throw error;
          });
        token = findAccessToken(next, parts.resource, [], place);
      }
      if (!token?.tenant)
        throw new AuthenticationRequired(`the exchange for tenant ${tenantId} named no tenant`);
      next = next === session ? structuredClone(session) : next;
      next.tenant = token.tenant;
      next.updated_at = ctx.now().toISOString();
      await parts.store.write(parts.profile, next, { signal: lock.signal });
      return token.tenant;
    });
  } finally {
    section?.release();
  }
  const memoryBinding = ctx.memoryBindings.get(parts.profile);
  if (memoryBinding) {
    memoryBinding.tenant = tenant;
  } else {
    await updateState(
      ctx.home,
      (s) => {
        const recorded = s.profiles[parts.profile];
        if (recorded) {
          recorded.tenant = tenant;
          recorded.updated_at = ctx.now().toISOString();
        }
      },
      { cliName: ctx.cliName },
    );
  }
  return { profile: parts.profile, tenant };
}
