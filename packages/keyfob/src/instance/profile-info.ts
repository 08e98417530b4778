/**
 * `kf.profileInfo(profile)`: what is stored for one profile (provider, scopes, expiry, tenant),
 * read from its store alone: no secret in the answer, no network request, no other profile read.
 * For callers that must decide without spending a request (an agent runtime's
 * `isAuthenticated`, `getCachedMetadata`).
 */
import { StoreCorrupt } from '../errors.js';
import { assertProfileName } from '../profile-name.js';
import type { Session } from '../session.js';
import type { InstanceContext } from './context.js';
import { shownToken } from './status.js';
import type { ProfileInfo } from './types.js';

/**
 * @throws InvalidInput for a name that is not a profile name.
 * @throws StoreUnavailable when the profile's store cannot be reached.
 */
export async function profileInfo(ctx: InstanceContext, profile: string): Promise<ProfileInfo> {
  assertProfileName(profile);
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const binding = ctx.binding(cfg, st, profile);
  let session: Session | null = null;
  try {
    session = await ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind).read(profile);
  } catch (error) {
    // A corrupt session was moved aside (and is told by the next command): there is none now.
    if (!(error instanceof StoreCorrupt)) throw error;
  }
  const { providerName, providerConfig, token } = shownToken(cfg, session, binding.provider);
  return {
    profile,
    provider: providerName,
    logged_in: session !== null,
    scopes: session ? [...session.scopes] : [],
    expires_at: token?.expires_at ?? null,
    obtained_at: token?.obtained_at ?? null,
    tenant: session?.tenant?.id ?? binding.tenant?.id ?? null,
    refreshable: Boolean(session?.refresh_token) || providerConfig?.type === 'client_credentials',
    login_command: ctx.loginCommand(profile, true),
  };
}
