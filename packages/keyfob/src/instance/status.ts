/**
 * `status`: every profile (state file, config.yaml, and sessions found in the file store) with
 * its provider, subject, tenant, scopes, expiry, whether it can renew and where it is stored;
 * the active one; and what in the environment takes precedence over all of them.
 */
import { envVar } from '../config/names.js';
import type { KeyfobConfig, ProviderConfig } from '../config/schema.js';
import { KeyfobError, StoreCorrupt } from '../errors.js';
import { fleetSummary } from '../fleet/hook.js';
import { type AccessToken, findAccessToken, type Session } from '../session.js';
import { summarizeKeychainFailure } from '../stores/choose.js';
import { type MovedAside, tellMovedAside } from '../stores/moved-aside.js';
import type { StoreKind } from '../stores/store.js';
import type { InstanceContext } from './context.js';
import type { ProfileStatus, StatusReport } from './types.js';

export async function status(ctx: InstanceContext): Promise<StatusReport> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const active = ctx.selectedProfile(st, undefined).name;
  const names = await ctx.knownProfiles(cfg, st);
  const notes: string[] = [];
  const profiles: ProfileStatus[] = [];
  for (const name of names) {
    const binding = ctx.binding(cfg, st, name);
    let session: Session | null = null;
    let storeKind: StoreKind | null = binding.store;
    try {
      const store = ctx.openStore(binding.store ?? 'file');
      storeKind = store.kind;
      session = await store.read(name);
    } catch (error) {
      if (!(error instanceof KeyfobError)) throw error;
      // A move aside is told below, with the moves other commands made, exactly once.
      if (!(error instanceof StoreCorrupt)) notes.push(error.message);
    }
    const { providerName, providerConfig, token } = shownToken(cfg, session, binding.provider);
    profiles.push({
      name,
      provider: providerName,
      subject: session?.subject ?? null,
      tenant: session?.tenant ?? binding.tenant,
      scopes: session?.scopes ?? [],
      expires_at: token?.expires_at ?? null,
      refreshable:
        Boolean(session?.refresh_token) ||
        providerConfig?.type === 'client_credentials' ||
        // An assumed user's session holds the admin key: it is assumed again on expiry, no prompt.
        (providerConfig?.type === 'assume_user' && Boolean(session?.admin_api_key)),
      store: session ? storeKind : binding.store,
      store_reason: ctx.fixedStore
        ? ctx.fixedStore.reason
        : Object.hasOwn(st.profiles, name)
          ? tidyReason(st.profiles[name]?.store_reason)
          : null,
      logged_in: session !== null,
      ...(token?.source === 'fleet' ? { from_fleet: true } : {}),
    });
  }
  for (const moved of await tellMovedAside(ctx.home).catch(() => [])) notes.push(movedAsideNote(ctx, moved));
  const overrides = ['TOKEN', 'TOKEN_FILE', 'CLIENT_ID']
    .map((v) => envVar(ctx.names, v))
    .filter((v) => Boolean(ctx.env[v]));
  return {
    active_profile: active,
    profiles,
    overridden_by: overrides[0] ?? null,
    notes,
    fleet: await fleetSummary(ctx, cfg),
  };
}

/**
 * A session's provider (its own, else the profile's binding) and the access token whose expiry
 * a status shows: an exchange's current tenant's, not the login's; else the latest to expire.
 */
export function shownToken(
  cfg: KeyfobConfig,
  session: Session | null,
  boundProvider: string | null,
): {
  providerName: string | null;
  providerConfig: ProviderConfig | undefined;
  token: AccessToken | undefined;
} {
  const providerName = session?.provider ?? boundProvider;
  const providerConfig =
    providerName && Object.hasOwn(cfg.providers, providerName) ? cfg.providers[providerName] : undefined;
  if (!session) return { providerName, providerConfig, token: undefined };
  const exchange =
    providerConfig?.type === 'exchange'
      ? { control_plane: providerConfig.control_plane, tenant: null }
      : null;
  const token =
    findAccessToken(session, providerConfig?.resource ?? null, [], exchange) ??
    Object.values(session.access_tokens).sort((a, b) =>
      (b.expires_at ?? '9999').localeCompare(a.expires_at ?? '9999'),
    )[0];
  return { providerName, providerConfig, token };
}

/** The store's own words, with the login to run (the message may predate the hint). */
function movedAsideNote(ctx: InstanceContext, moved: MovedAside): string {
  const login = ctx.loginCommand(moved.profile, true);
  return moved.message.includes(login)
    ? moved.message
    : `${moved.message}; run \`${login}\` to sign in again`;
}

/**
 * A store reason as `status` shows it. State files written before the reason was kept short
 * hold the keychain's whole error (a 300-character D-Bus message): that is cut to its gist.
 */
function tidyReason(reason: string | undefined): string | null {
  if (!reason) return null;
  const old =
    /^([a-z-]+): no keychain answered \((.*)\)(?:;| and) (a passphrase or identity is configured|no passphrase or identity is configured)$/s.exec(
      reason,
    );
  if (!old) return reason;
  return `${old[1]}: no keychain answered (${summarizeKeychainFailure(old[2] ?? '')}); ${old[3]}`;
}
