/**
 * `keyfob switch PROFILE`: make another profile the active one (written to the state file,
 * never to config.yaml). `switch --tenant ID` is for multi-tenant providers and comes with them.
 */
import { InvalidInput } from 'keyfob';
import { type Command, profileFlags } from '../command.js';
import { openKeyfob } from './shared.js';

export const switchCommand: Command = {
  name: 'switch',
  summary: 'change the active profile',
  usage: 'PROFILE',
  examples: [{ what: 'make the ci profile the active one', run: 'keyfob switch ci' }],
  completes: 'profiles',
  maxPositionals: 1,
  flags: { config: profileFlags.config as (typeof profileFlags)[string] },
  async run({ io, app, values, positionals }) {
    const profile = positionals[0];
    if (!profile) throw new InvalidInput(`name the profile: \`${app.commandPrefix} switch PROFILE\``);
    const kf = await openKeyfob(io, app, values);
    const result = await kf.switchProfile(profile);
    io.stderr.write(
      `Active profile: ${result.profile}${result.loggedIn ? '' : ` (not logged in yet: run \`${app.commandPrefix} login --profile ${result.profile}\`)`}.\n`,
    );
    return 0;
  },
};
