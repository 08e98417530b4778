/**
 * `keyfob logout`: revokes the refresh token where the provider offers revocation and removes
 * the session. JWT access tokens already issued stay valid until they expire.
 */
import { type Command, profileFlags } from '../command.js';
import { openKeyfob, optionalString } from './shared.js';

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
    const kf = await openKeyfob(io, app, values);
    const results = await kf.logout({ profile: optionalString(values.profile), all: values.all === true });
    if (results.length === 0) {
      io.stderr.write('No stored session to log out of.\n');
      return 0;
    }
    for (const r of results) {
      const revoked = r.revocation.revoked ? 'refresh token revoked' : r.revocation.detail;
      io.stderr.write(`Logged out of profile ${r.profile} (${revoked}).\n`);
      for (const warning of r.warnings) io.stderr.write(`${warning}\n`);
    }
    io.stderr.write('Access tokens already issued stay valid until they expire.\n');
    return 0;
  },
};
