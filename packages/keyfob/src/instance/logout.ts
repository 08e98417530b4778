/**
 * `logout`: revoke the refresh token where the provider offers revocation, then remove the
 * session. A revocation that fails (provider down) does not keep the session: the person asked
 * to be logged out here, and is told what could not be revoked.
 */

import { updateState } from '../config/state.js';
import { KeyfobError, StoreCorrupt } from '../errors.js';
import { bindingConflict, bindingOf } from '../lifecycle/binding.js';
import type { RevocationResult } from '../providers/provider.js';
import type { Session } from '../session.js';
import type { CredentialStore } from '../stores/store.js';
import type { InstanceContext } from './context.js';
import type { LogoutResult } from './types.js';

export async function logout(
  ctx: InstanceContext,
  opts: { profile?: string; all?: boolean },
): Promise<LogoutResult[]> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const targets = opts.all
    ? await ctx.knownProfiles(cfg, st)
    : [ctx.selectedProfile(st, opts.profile ?? ctx.explicit.profile).name];
  const results: LogoutResult[] = [];
  for (const profile of targets) {
    const binding = ctx.binding(cfg, st, profile);
    const store = ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind);
    const result = await ctx.withProfileLock(profile, async (): Promise<LogoutResult | null> => {
      const session = await readTolerant(ctx, store, profile);
      if (!session) return null;
      const warnings: string[] = [];
      let revocation: RevocationResult = { revoked: false, detail: 'its provider is no longer configured' };
      const conflict = Object.hasOwn(cfg.providers, session.provider)
        ? bindingConflict(
            session,
            bindingOf(ctx.providerConfig(cfg, session.provider), ctx.lookupProvider(cfg)),
          )
        : null;
      if (conflict) {
        // The refresh token belongs to the place it came from: never hand it to another one.
        revocation = {
          revoked: false,
          detail: `it came from ${conflict.was}; the configuration now names ${conflict.now}`,
        };
        warnings.push(
          `Did not revoke the refresh token of profile ${profile}: it was issued by ${conflict.was}, and the configuration of provider ${session.provider} now names ${conflict.now}; nothing was sent there. The local session was removed.`,
        );
      } else if (Object.hasOwn(cfg.providers, session.provider)) {
        try {
          revocation = await (await ctx.provider(session.provider)).revoke(session);
        } catch (error) {
          const reason = error instanceof KeyfobError ? error.message : 'unexpected error';
          revocation = { revoked: false, detail: 'revocation failed' };
          warnings.push(
            `Could not revoke the refresh token at ${session.provider}: ${reason}. The local session was removed anyway.`,
          );
        }
      }
      await store.delete(profile);
      return { profile, revocation, warnings };
    });
    if (result) results.push(result);
  }
  if (results.length > 0) {
    await updateState(
      ctx.home,
      (s) => {
        for (const r of results) {
          delete s.profiles[r.profile];
          if (s.active_profile === r.profile) s.active_profile = null;
        }
      },
      { cliName: ctx.cliName },
    );
  }
  return results;
}

async function readTolerant(
  ctx: InstanceContext,
  store: CredentialStore,
  profile: string,
): Promise<Session | null> {
  try {
    return await store.read(profile);
  } catch (error) {
    if (error instanceof StoreCorrupt) {
      ctx.log.warn(error.message);
      return null;
    }
    throw error;
  }
}
