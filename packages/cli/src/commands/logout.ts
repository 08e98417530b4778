/**
 * `keyfob logout`: revokes the refresh token where the provider offers revocation and removes
 * the session. JWT access tokens already issued stay valid until they expire.
 */
import { InvalidInput } from '@keyfob/core';
import { type Command, profileFlags } from '../command.js';
import { sanitize } from '../io.js';
import { envCredentialWhat, environmentCredential, openKeyfob, optionalString } from './shared.js';

export const logout: Command = {
  name: 'logout',
  summary: 'revoke and remove a stored session',
  usage: '[flags]',
  examples: [
    { what: 'log out of the active profile (its refresh token is revoked)', run: 'keyfob logout' },
    { what: 'log out of every profile', run: 'keyfob logout --all' },
  ],
  description:
    'Access tokens already issued as JWTs stay valid until they expire: revocation stops the refresh token only.',
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    all: { type: 'boolean', description: 'log out of every profile' },
  },
  async run({ io, app, values }) {
    const profile = optionalString(values.profile);
    const fromEnv = environmentCredential(io, app);
    // As `gh auth logout` with GH_TOKEN set: logging out of the stored profile would leave the
    // person authenticated by the environment, believing otherwise. Naming a profile (or --all)
    // says which stored session is meant.
    if (fromEnv && profile === undefined && values.all !== true) {
      throw new InvalidInput(
        `nothing was logged out: ${fromEnv} is set, and commands use ${envCredentialWhat(fromEnv)} instead of any stored profile`,
        { hint: `unset ${fromEnv} yourself, or pass --profile NAME (or --all) to remove a stored session` },
      );
    }
    const kf = await openKeyfob(io, app, values);
    const results = await kf.logout({ profile, all: values.all === true });
    if (results.length === 0) {
      io.stderr.write('No stored session to log out of.\n');
      if (fromEnv)
        io.stderr.write(`${fromEnv} is still set: commands keep using ${envCredentialWhat(fromEnv)}.\n`);
      return 0;
    }
    for (const r of results) {
      const revoked = r.revocation.revoked ? 'refresh token revoked' : r.revocation.detail;
      io.stderr.write(`Logged out of profile ${r.profile} (${sanitize(revoked)}).\n`);
      for (const warning of r.warnings) io.stderr.write(`${sanitize(warning)}\n`);
    }
    io.stderr.write('Access tokens already issued stay valid until they expire.\n');
    if (fromEnv) {
      io.stderr.write(`${fromEnv} is still set: commands keep using ${envCredentialWhat(fromEnv)}.\n`);
    }
    return 0;
  },
};
