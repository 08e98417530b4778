/**
 * `getToken`: resolve the chain, then get a fresh-enough token from what it picked: a token
 * given from outside (used as is), machine credentials (acquired and kept in memory), or a
 * profile (its store, refreshed under its lock). Tokens already held are memoized per request.
 */
import { envVar } from '../config/names.js';
import type { KeyfobConfig } from '../config/schema.js';
import type { KeyfobState } from '../config/state.js';
import { assumeUserCommand } from '../control-plane/commands.js';
import { AuthenticationRequired, InvalidInput, ProfileNotFound } from '../errors.js';
import { fleetCall, isMachineConfig, throughFleet } from '../fleet/hook.js';
import { bindingOf } from '../lifecycle/binding.js';
import type { HeldLock } from '../lifecycle/lock.js';
import { getFreshToken } from '../lifecycle/refresh.js';
import type { CredentialProvider } from '../providers/provider.js';
import { describeStaticToken } from '../providers/static-token.js';
import type { ExplicitCredentials, Resolved } from '../resolve/chain.js';
import { tokenPlace } from '../resolve/tenant.js';
import {
  type AccessToken,
  DEFAULT_MIN_TTL_SECONDS,
  parseScopes,
  type Session,
  type SessionBinding,
  type TokenPlace,
} from '../session.js';
import { movedAsideOf } from '../stores/moved-aside.js';
import type { CredentialStore } from '../stores/store.js';
import type { InstanceContext } from './context.js';
import { type MemoEntry, memoKey, profileEntry, staticEntry, type TokenMemo } from './token-memo.js';
import { DEFAULT_LOGIN_TIMEOUT_MS, fileReader, machineFor, silentInteraction } from './token-outside.js';
import type { GetTokenOptions, TokenResult } from './types.js';

export { TokenMemo } from './token-memo.js';

export async function getToken(
  ctx: InstanceContext,
  memo: TokenMemo,
  opts: GetTokenOptions,
): Promise<TokenResult> {
  const minTtl = opts.minTtl ?? DEFAULT_MIN_TTL_SECONDS;
  if (typeof minTtl !== 'number' || minTtl < 0 || !Number.isFinite(minTtl)) {
    throw new InvalidInput('minTtl must be a non-negative number of seconds');
  }
  const key = memoKey(opts);
  const hit = opts.forceRefresh ? undefined : memo.get(key);
  if (hit?.freshAt(ctx.nowMs(), minTtl)) return hit.result;
  if (ctx.agentSpec) {
    // The keyfob agent first (agent/ask.ts): it answers from memory; null means work alone.
    const served = await (await import('../agent/ask.js')).tokenFromAgent(ctx, opts, minTtl);
    if (served) {
      memo.set(key, served);
      return served.result;
    }
  }

  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const { resolved } = ctx.resolve(callExplicit(opts), cfg, st);
  let entry: MemoEntry & { memoize: boolean };
  try {
    entry = await fromSource(ctx, cfg, st, resolved, opts, minTtl);
  } catch (error) {
    // Level 5: a login only when the app allows it and a person is there; else "run login".
    if (!(error instanceof AuthenticationRequired) || resolved.kind !== 'profile' || !ctx.interactive)
      throw error;
    const { loginForCall, personIsThere } = await import('./interactive.js');
    if (!personIsThere(ctx)) throw error;
    await loginForCall(ctx, resolved.profile);
    entry = await fromSource(ctx, cfg, await ctx.state(), resolved, opts, minTtl);
  }
  if (entry.memoize) memo.set(key, entry);
  return entry.result;
}

/** The level-1 credentials a call gives. */
export function callExplicit(opts: GetTokenOptions): ExplicitCredentials {
  return {
    ...(opts.profile !== undefined ? { profile: opts.profile } : {}),
    ...(opts.token !== undefined ? { token: opts.token } : {}),
    ...(opts.clientId !== undefined ? { clientId: opts.clientId } : {}),
    ...(opts.clientSecret !== undefined ? { clientSecret: opts.clientSecret } : {}),
    ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
  };
}

async function fromSource(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  st: KeyfobState,
  resolved: Resolved,
  opts: GetTokenOptions,
  minTtl: number,
): Promise<MemoEntry & { memoize: boolean }> {
  const label = sourceLabel(ctx, resolved);
  if (resolved.kind === 'token' || resolved.kind === 'token_file') {
    // A token of an exchange provider's login is exchanged; any other is used as it is. A token
    // file's token too (a CI job's ID token), re-read each call, its exchange reused while fresh.
    const { exchangeOutsideToken } = await import('./outside-exchange.js');
    const tenant = resolved.tenant === null ? null : { id: resolved.tenant, source: tenantSource(ctx, opts) };
    const token =
      resolved.kind === 'token'
        ? resolved.token
        : (await fileReader(ctx, resolved.path, label)(ctx.now())).access_token;
    const exchanged = await exchangeOutsideToken(ctx, cfg, token, tenant, label, minTtl);
    if (exchanged) return { ...profileEntry(exchanged.token, label), memoize: resolved.kind === 'token' };
  }
  if (resolved.kind !== 'profile' && resolved.tenant !== null) {
    // Never silently ignored (DESIGN.md): exchanging client credentials from outside is not done yet.
    throw new InvalidInput(
      `a tenant (${tenantSource(ctx, opts)}) cannot be used with ${label}: only a profile of an exchange provider has tenants here`,
      { hint: `log in with \`${ctx.command('login')} --tenant ID\` and use that profile` },
    );
  }
  switch (resolved.kind) {
    case 'token':
      return {
        ...staticEntry(await describeStaticToken(resolved.token, label, ctx.now()), label),
        memoize: true,
      };
    case 'token_file': {
      // Not memoized: the file may be rewritten at any time (rotated, projected tokens).
      return {
        ...staticEntry(await fileReader(ctx, resolved.path, label)(ctx.now()), label),
        memoize: false,
      };
    }
    case 'client_credentials': {
      const call = fleetCall(minTtl, opts.forceRefresh);
      const machine = await machineFor(ctx, cfg, resolved.clientId, resolved.clientSecret, call);
      const providerConfig = ctx.providerConfig(cfg, machine.provider.name);
      // DESIGN.md, Fleets: a machine's renewal asks the fleet first, when there is one.
      const source = { config: providerConfig, lookup: ctx.lookupProvider(cfg), client: machine.client };
      const provider = throughFleet(ctx, cfg, async () => machine.provider, source, call);
      const token = await fresh(ctx, machine.store, 'machine', provider, opts, minTtl, {
        resource: opts.resource !== undefined ? opts.resource : (providerConfig.resource ?? null),
        loginCommand: `check ${label} and its secret`,
        lock: (fn) => fn(unlocked),
      });
      return { ...profileEntry(token, label), memoize: true };
    }
    case 'profile':
      return { ...(await fromProfile(ctx, cfg, st, resolved, opts, minTtl)), memoize: true };
  }
}

async function fromProfile(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  st: KeyfobState,
  resolved: Extract<Resolved, { kind: 'profile' }>,
  opts: GetTokenOptions,
  minTtl: number,
): Promise<MemoEntry> {
  const profile = resolved.profile;
  let binding = ctx.binding(cfg, st, profile);
  if (!binding.provider && ctx.credentialsFile) {
    // A profile of the vendor's file keyfob has not written yet (an INI service principal's section).
    const provider = (await ctx.credentialsFile.store.read(profile))?.provider ?? null;
    binding = { ...binding, provider };
  }
  const named =
    resolved.level === 'explicit' || (resolved.level === 'profile' && resolved.origin !== 'active profile');
  let loginCommand = ctx.loginCommand(profile, named);
  if (!binding.provider) {
    // A profile named explicitly that nothing knows of is a typo or a missing login, said so
    // (exit 1); a known profile that is logged out stays AuthenticationRequired (exit 2).
    if (named) await assertKnownProfile(ctx, cfg, st, profile, loginCommand);
    throw new AuthenticationRequired(`not logged in (profile ${profile})`, {
      hint: `run \`${loginCommand}\``,
    });
  }
  const providerConfig = ctx.providerConfig(cfg, binding.provider);
  // An assumed session is started again by assume-user, not login.
  if (providerConfig.type === 'assume_user') {
    loginCommand = assumeUserCommand(
      ctx.command('assume-user'),
      binding.tenant?.id,
      'U',
      named ? profile : undefined,
    );
  }
  const store = ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind);
  const providerName = binding.provider;
  const lookup = ctx.lookupProvider(cfg);
  // DESIGN.md, Fleets: a machine profile's tokens come from the fleet first; a person's never.
  // A machine profile (client credentials, also under an exchange) needs no prompt either.
  const machineSource = isMachineConfig(providerConfig, lookup) ? { config: providerConfig, lookup } : null;
  const provider = throughFleet(
    ctx,
    cfg,
    () => ctx.provider(providerName),
    machineSource,
    fleetCall(minTtl, opts.forceRefresh),
  );
  const boundTo = bindingOf(providerConfig, lookup);
  // A machine profile's session is read once here and handed on: the agent answers every call
  // through this path, and each store read is a round of the thread pool.
  const stored = machineSource ? await store.read(profile) : null;
  if (machineSource && !stored) {
    // A machine profile needs no prompt: its first token is fetched and cached on demand.
    const machine = await provider();
    await ctx.withProfileLock(profile, async (lock) => {
      if (await store.read(profile)) return;
      const session = await machine.login({
        flow: 'client_credentials',
        openBrowser: false,
        scopes: [],
        interaction: silentInteraction,
        timeoutMs: DEFAULT_LOGIN_TIMEOUT_MS,
        // Under an exchange: the tenant asked for, else the provider's, the default, the only one.
        ...(resolved.tenant !== null
          ? { tenants: [{ id: resolved.tenant, source: tenantSource(ctx, opts) }] }
          : {}),
      });
      if (boundTo) session.bound_to = { ...boundTo };
      await store.write(profile, session, { signal: lock.signal });
    });
  }
  const place = tokenPlace(providerConfig, resolved.tenant, tenantSource(ctx, opts));
  const token = await fresh(ctx, store, profile, provider, opts, minTtl, {
    resource: opts.resource !== undefined ? opts.resource : (providerConfig.resource ?? null),
    ...(place ? { place } : {}),
    ...(stored ? { stored } : {}),
    loginCommand,
    refreshCommand: ctx.profileCommand('refresh', profile, named),
    lock: (fn) => ctx.withProfileLock(profile, fn),
    boundTo,
    whyMissing: async () => {
      const moved = await movedAsideOf(ctx.home, profile);
      return moved ? `its stored session could not be read and was moved to ${moved.moved_to}` : null;
    },
  });
  return profileEntry(token, profile);
}

function fresh(
  ctx: InstanceContext,
  store: CredentialStore,
  profile: string,
  provider: CredentialProvider | (() => Promise<CredentialProvider>),
  opts: GetTokenOptions,
  minTtl: number,
  how: {
    resource: string | null;
    /** For a control-plane token: its control plane and tenant. */
    place?: TokenPlace;
    /** The session the caller has just read (`stored` of `getFreshToken`'s request). */
    stored?: Session;
    loginCommand: string;
    /** The profile's `refresh` under the vendor's names, for a missing scope. */
    refreshCommand?: string;
    lock: <T>(fn: (lock: HeldLock) => Promise<T>) => Promise<T>;
    /** Where the configuration names the profile's provider now; absent for in-memory machines. */
    boundTo?: SessionBinding | null;
    whyMissing?: () => Promise<string | null>;
  },
): Promise<AccessToken> {
  return getFreshToken(
    {
      profile,
      store,
      provider: typeof provider === 'function' ? provider : async () => provider,
      withProfileLock: how.lock,
      now: ctx.now,
      log: ctx.log,
      loginCommand: how.loginCommand,
      ...(how.refreshCommand ? { refreshCommand: how.refreshCommand } : {}),
      tokenCommand: ctx.command('token'),
      cliName: ctx.cliName,
      ...(how.boundTo !== undefined ? { boundTo: how.boundTo } : {}),
      ...(how.whyMissing ? { whyMissing: how.whyMissing } : {}),
    },
    {
      resource: how.resource,
      ...(how.place ? { place: how.place } : {}),
      ...(how.stored ? { stored: how.stored } : {}),
      scopes: parseScopes(opts.scopes),
      minTtlSeconds: minTtl,
      force: opts.forceRefresh === true,
    },
  );
}

/** Where a call's tenant came from, for messages. */
function tenantSource(ctx: InstanceContext, opts: GetTokenOptions): string {
  if (opts.tenant !== undefined || ctx.explicit.tenant !== undefined) return 'the tenant option (--tenant)';
  const variable = envVar(ctx.names, 'TENANT');
  return ctx.env[variable] ? variable : 'the profile';
}

/** What `profile` says in a result for a credential outside profiles. */
function sourceLabel(ctx: InstanceContext, resolved: Resolved): string {
  if (resolved.kind === 'profile') return resolved.profile;
  if (resolved.level === 'explicit') return resolved.kind === 'token' ? 'token' : 'client-credentials';
  if (resolved.kind === 'token') return envVar(ctx.names, 'TOKEN');
  if (resolved.kind === 'token_file') return envVar(ctx.names, 'TOKEN_FILE');
  return envVar(ctx.names, 'CLIENT_ID');
}

const unlocked: HeldLock = { path: '', signal: new AbortController().signal, assertHeld() {} };

/** @throws ProfileNotFound naming the known profiles and the login that creates `profile`. */
async function assertKnownProfile(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  st: KeyfobState,
  profile: string,
  loginCommand: string,
): Promise<void> {
  const known = await ctx.knownProfiles(cfg, st);
  if (known.includes(profile)) return;
  throw new ProfileNotFound(
    `there is no profile ${profile} (known: ${known.length > 0 ? known.join(', ') : 'none'})`,
    { hint: `run \`${loginCommand}\` to create it` },
  );
}
