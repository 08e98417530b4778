/**
 * `keyfob switch PROFILE`: make another profile the active one (written to the state file,
 * never to config.yaml). `switch --tenant ID`: make another tenant the profile's current one,
 * by one exchange of the login's token (no new login).
 */
import { InvalidInput } from '@keyfob/core';
import { type Command, commandName, profileFlags } from '../command.js';
import { sanitize } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

export const switchCommand: Command = {
  name: 'switch',
  summary: 'change the active profile, or the current tenant',
  usage: 'PROFILE | --tenant ID [--profile P]',
  examples: [
    { what: 'make the ci profile the active one', run: 'keyfob switch ci' },
    { what: 'make tenant acme-us the current one (no new login)', run: 'keyfob switch --tenant acme-us' },
  ],
  description:
    'With --tenant, the login of the profile (--profile, else the active one) is exchanged for a token of that tenant, which becomes current; the identity provider sees no new login.',
  completes: 'profiles',
  maxPositionals: 1,
  flags: {
    profile: profileFlags.profile as (typeof profileFlags)[string],
    config: profileFlags.config as (typeof profileFlags)[string],
    tenant: { type: 'string', value: 'ID', description: "make this tenant the profile's current one" },
  },
  async run({ io, app, values, positionals }) {
    const profile = positionals[0];
    const tenant = optionalString(values.tenant);
    if (tenant !== undefined) {
      if (profile !== undefined) {
        throw new InvalidInput(
          `give the profile with --profile: \`${app.commandPrefix} switch --tenant ID --profile P\``,
        );
      }
      const kf = await openKeyfob(io, app, values);
      const result = await kf.switchTenant(tenant, {
        ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
      });
      const t = result.tenant;
      const where = [t.name, t.region].filter(Boolean).join(', ');
      io.stderr.write(
        `${sanitize(`Current tenant of profile ${result.profile}: ${t.id}${where ? ` (${where})` : ''}.`)}\n`,
      );
      return 0;
    }
    if (values.profile !== undefined) {
      throw new InvalidInput(
        `--profile goes with --tenant; to make a profile active: \`${app.commandPrefix} switch PROFILE\``,
      );
    }
    if (!profile)
      throw new InvalidInput(`name the profile: \`${app.commandPrefix} switch PROFILE\` (or --tenant ID)`);
    const kf = await openKeyfob(io, app, values);
    const result = await kf.switchProfile(profile);
    io.stderr.write(
      `Active profile: ${result.profile}${result.loggedIn ? '' : ` (not logged in yet: run \`${app.commandPrefix} ${commandName(app, 'login')} --profile ${result.profile}\`)`}.\n`,
    );
    return 0;
  },
};
