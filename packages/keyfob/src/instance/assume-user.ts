/**
 * `kf.assumeUser` / `keyfob assume-user`: admin impersonation into the profile `login` would
 * write (`profile`, else `<PREFIX>_PROFILE`, else the active one, else `default`), made active.
 * The key comes from the caller, else the provider's `admin_api_key`, else
 * `<PREFIX>_ADMIN_API_KEY`, else the profile's stored key (sent only to the control plane it was
 * stored for), else a hidden prompt when a person is there.
 */
import { envVar } from '../config/names.js';
import type { AssumeUserProviderConfig, KeyfobConfig } from '../config/schema.js';
import { AuthenticationRequired, InvalidInput, ProviderNotFound } from '../errors.js';
import { assertBound, bindingOf } from '../lifecycle/binding.js';
import { assumedSession, assumeUserCommand } from '../providers/assume-user.js';
import type { Session } from '../session.js';
import type { InstanceContext, ProfileBinding } from './context.js';
import { persistSession } from './persist.js';
import type { AssumeUserOptions, AssumeUserResult } from './types.js';

/** Ids go into JSON bodies and messages: printable, bounded. */
const ID_PATTERN = /^[\x21-\x7e]{1,200}$/;

export async function assumeUser(ctx: InstanceContext, opts: AssumeUserOptions): Promise<AssumeUserResult> {
  for (const [flag, value] of [
    ['tenantId', opts.tenantId],
    ['userId', opts.userId],
  ] as const) {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new InvalidInput(`${flag} must be 1 to 200 printable characters without spaces`);
    }
  }
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const profile = ctx.selectedProfile(st, opts.profile ?? ctx.explicit.profile).name;
  const binding = ctx.binding(cfg, st, profile);
  const providerConfig = assumeUserProvider(ctx, cfg, opts.provider, binding.provider);
  const command = assumeUserCommand(ctx.command('assume-user'), opts.tenantId, opts.userId, opts.profile);
  const adminApiKey =
    opts.adminApiKey ??
    providerConfig.admin_api_key ??
    (ctx.env[envVar(ctx.names, 'ADMIN_API_KEY')] || undefined) ??
    (await storedKey(ctx, cfg, binding, profile, providerConfig, command)) ??
    (opts.personPresent && opts.askAdminKey ? await opts.askAdminKey() : undefined);
  if (!adminApiKey) {
    const variable = providerConfig.unresolved_secrets?.admin_api_key;
    throw new AuthenticationRequired(`no admin API key for provider ${providerConfig.name}`, {
      hint: `set ${variable ?? envVar(ctx.names, 'ADMIN_API_KEY')}, or pipe it: \`printenv ADMIN_API_KEY | ${command} --admin-key-stdin\``,
    });
  }
  if (!/^[\x21-\x7e]{1,4096}$/.test(adminApiKey)) {
    throw new InvalidInput('the admin API key must be one line of printable characters without spaces');
  }
  // A store the session cannot go into (a credentials file under another user's directory)
  // refuses before the key is sent: no token is minted only to be thrown away.
  if (opts.persist === true && ctx.fixedStore) await ctx.openStore(ctx.fixedStore.kind).read(profile);
  const resource = providerConfig.resource ?? null;
  const session = await assumedSession(
    {
      name: providerConfig.name,
      controlPlane: ctx.controlPlaneOf(providerConfig),
      resource,
    },
    { adminApiKey, tenantId: opts.tenantId, userId: opts.userId },
    ctx.runtime(),
  );
  const boundTo = bindingOf(providerConfig);
  if (boundTo) session.bound_to = boundTo;
  const persisted = await persistSession(ctx, cfg, binding, profile, providerConfig.name, session, {
    persist: opts.persist === true,
    makeActive: true,
    personPresent: opts.personPresent === true,
  });
  const token = Object.values(session.access_tokens)[0];
  return {
    profile,
    provider: providerConfig.name,
    tenantId: opts.tenantId,
    userId: opts.userId,
    expiresAt: token?.expires_at ?? null,
    store: persisted.store,
    notices: persisted.notices,
  };
}

/** The named provider, else the profile's when it is assume_user, else the only one configured. */
function assumeUserProvider(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  named: string | undefined,
  profileProvider: string | null,
): AssumeUserProviderConfig {
  const all = Object.values(cfg.providers).filter(
    (p): p is AssumeUserProviderConfig => p.type === 'assume_user',
  );
  const pick = (name: string) => {
    const found = ctx.providerConfig(cfg, name);
    if (found.type !== 'assume_user') {
      throw new InvalidInput(`provider ${name} is ${found.type}, not assume_user`);
    }
    return found;
  };
  if (named) return pick(named);
  if (profileProvider && all.some((p) => p.name === profileProvider)) return pick(profileProvider);
  if (all.length === 1 && all[0]) return all[0];
  if (all.length === 0) {
    throw new ProviderNotFound('no assume_user provider is configured', {
      hint: 'add one to config.yaml (type: assume_user, control_plane: URL, api_base: URL)',
    });
  }
  throw new InvalidInput(
    `several assume_user providers are configured (${all.map((p) => p.name).join(', ')}); name one with --provider`,
  );
}

/**
 * The key stored in the profile's session, when that session is this provider's; never sent
 * to a control plane other than the one it was stored for (exit 2 naming both, nothing sent).
 */
async function storedKey(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  binding: ProfileBinding,
  profile: string,
  providerConfig: AssumeUserProviderConfig,
  command: string,
): Promise<string | undefined> {
  if (binding.provider !== providerConfig.name) return undefined;
  const store = ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind);
  const session: Session | null = await store.read(profile);
  if (!session?.admin_api_key) return undefined;
  assertBound(session, bindingOf(providerConfig), {
    profile,
    loginCommand: `${command} --admin-key-stdin`,
    action: 'the stored admin API key was not sent',
  });
  return session.admin_api_key;
}
