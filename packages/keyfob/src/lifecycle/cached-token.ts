/**
 * The read-only fast path of `getToken` for a command-line process that only prints a token:
 * when the selected profile lives in the file store and holds a fresh-enough token, it is read
 * straight from disk, without loading the rest of keyfob.
 *
 * It answers only when it can be sure the full path would give the same token: no credential
 * in the environment, a config the parsed-config cache vouches for (same file, same referenced
 * variables), a profile recorded in the state file with the file store, and a token fresh by
 * DESIGN.md's rule. Anything else returns `null` and the caller runs the full path, which
 * applies every rule and reports every error. It never writes, locks or touches the network.
 */
import { join } from 'node:path';
import { cachedSummaryFromText, fingerprint } from '../config/cache.js';
import { type ConfigLook, lookAtConfig } from '../config/look.js';
import { type AppNames, envVar } from '../config/names.js';
import { emptyState, stateFromText, statePath } from '../config/state.js';
import { assertPermissions } from '../fs/ownership.js';
import { checkPrivateDirSync, readFileNoFollowSync } from '../fs/sync.js';
import { isProfileName } from '../profile-name.js';
import { type AccessToken, findAccessToken, isFreshEnough, type Session, type Tenant } from '../session.js';
import { sessionFromFileText } from '../stores/file.js';

// The token fast path takes one look at the config for this and for the agent (`agent/fast.ts`).
export { type ConfigLook, lookAtConfig } from '../config/look.js';

export interface CachedTokenRequest {
  names: AppNames;
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  /** `--profile`, when given. */
  profile?: string;
  /** Seconds; DESIGN.md's freshness rule applies. */
  minTtl: number;
  now: Date;
  /**
   * The look at the config the caller already took with `lookAtConfig` (`null`: it could not
   * look, and this answers `null` too); absent: one is taken here.
   */
  look?: ConfigLook | null;
}

export interface CachedToken {
  access_token: string;
  token_type: string;
  expires_at: string | null;
  scopes: string[];
  profile: string;
  /** The tenant of an exchange provider's token, else `null`. */
  tenant: Tenant | null;
}

// `TENANT` too: a tenant named in the environment may be another than the profile's current one.
const OUTSIDE_CREDENTIALS = ['TOKEN', 'TOKEN_FILE', 'CLIENT_ID', 'CLIENT_SECRET', 'TENANT'];

/**
 * The token the full path would print, when it is already on disk and fresh; else `null`.
 * Synchronous on purpose: `fs/promises` alone costs this path more than its reads.
 */
export function cachedToken(request: CachedTokenRequest): CachedToken | null {
  const { names, env } = request;
  if (OUTSIDE_CREDENTIALS.some((suffix) => env[envVar(names, suffix)])) return null;
  try {
    // A refused home or cache (unsafe owner or mode) shows as no cache, a refused config or state
    // file throws: the full path then reports it.
    const look = request.look !== undefined ? request.look : lookAtConfig(names, env, request.homedir);
    if (!look?.stats || look.cacheText === null) return null;
    const { home, configPath, stats: configStats, cacheText } = look;
    assertPermissions(configPath, configStats, { allowRootOwner: true });
    const summary = cachedSummaryFromText(cacheText, fingerprint(configPath, configStats), env);
    if (!summary) return null;
    const stateText = readFileNoFollowSync(statePath(home), { trusted: true });
    const state = stateText === null ? emptyState() : stateFromText(stateText);
    if (!state) return null;
    const profile = request.profile ?? env[envVar(names, 'PROFILE')] ?? state.active_profile ?? 'default';
    if (!isProfileName(profile)) return null;
    const recorded = Object.hasOwn(state.profiles, profile) ? state.profiles[profile] : undefined;
    const providerName = recorded?.provider ?? summary.profiles[profile]?.provider ?? null;
    const storeKind = recorded?.store ?? (env[envVar(names, 'STORAGE')] || summary.token_storage || 'file');
    if (!providerName || storeKind !== 'file') return null;
    const provider = Object.hasOwn(summary.providers, providerName)
      ? summary.providers[providerName]
      : undefined;
    if (!provider) return null;
    const session = readSession(home, profile);
    if (!session || session.provider !== providerName) return null;
    const token =
      provider.type === 'exchange'
        ? currentTenantToken(session, provider.resource)
        : findAccessToken(session, provider.resource, []);
    if (!token || !isFreshEnough(token, request.now, request.minTtl)) return null;
    return {
      access_token: token.token,
      token_type: token.token_type,
      expires_at: token.expires_at,
      scopes: token.scopes,
      profile,
      tenant: token.tenant ?? null,
    };
  } catch {
    // Any doubt (a missing config, a corrupt file, a symlink): the full path decides and says why.
    return null;
  }
}

/**
 * An exchange session's token for its current tenant (never the login's own token, nor another
 * tenant's one-call token); the session is bound to one control plane, so its tokens share it.
 */
function currentTenantToken(session: Session, resource: string | null): AccessToken | undefined {
  const tenant = session.tenant?.id;
  if (!tenant) return undefined;
  const controlPlane = Object.values(session.access_tokens).find(
    (t) => t.control_plane != null,
  )?.control_plane;
  if (!controlPlane) return undefined;
  return findAccessToken(session, resource, [], { control_plane: controlPlane, tenant });
}

function readSession(home: string, profile: string): Session | null {
  const dir = join(home, 'sessions');
  if (!checkPrivateDirSync(dir)) return null;
  const text = readFileNoFollowSync(join(dir, `${profile}.json`));
  return text === null ? null : sessionFromFileText(text);
}
