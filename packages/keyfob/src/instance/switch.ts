/**
 * `switch PROFILE`: the active profile is state, so it goes to the state file (written
 * atomically under its lock), never to config.yaml.
 */
import { updateState } from '../config/state.js';
import { ProfileNotFound } from '../errors.js';
import { assertProfileName } from '../profile-name.js';
import type { InstanceContext } from './context.js';

export interface SwitchResult {
  profile: string;
  /** Whether a session is stored for it. */
  loggedIn: boolean;
}

export async function switchProfile(ctx: InstanceContext, profile: string): Promise<SwitchResult> {
  assertProfileName(profile, 'switch');
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const known = await ctx.knownProfiles(cfg, st);
  if (!known.includes(profile)) {
    throw new ProfileNotFound(`there is no profile ${profile}`, {
      hint:
        known.length > 0
          ? `known profiles: ${known.join(', ')}; or run \`${ctx.command('login')} --profile ${profile}\``
          : `run \`${ctx.command('login')} --profile ${profile}\``,
    });
  }
  await updateState(
    ctx.home,
    (s) => {
      s.active_profile = profile;
    },
    { cliName: ctx.cliName },
  );
  const binding = ctx.binding(cfg, st, profile);
  const store = ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind);
  return { profile, loggedIn: (await store.read(profile)) !== null };
}
