/**
 * `keyfob refresh`: renews the access token now, through the same lock and single-flight as
 * every other renewal, so a rotating refresh token is never spent twice.
 */
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { openKeyfob, optionalString } from './shared.js';

export const refresh: Command = {
  name: 'refresh',
  summary: 'refresh the access token now',
  usage: '[flags]',
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    resource: {
      type: 'string',
      value: 'URL',
      description: "refresh the token for this resource instead of the provider's default",
    },
  },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const result = await kf.getToken({
      profile: optionalString(values.profile),
      resource: optionalString(values.resource),
      forceRefresh: true,
    });
    if (values.json) {
      io.stdout.write(
        `${JSON.stringify({ profile: result.profile, expires_at: result.expires_at, scopes: result.scopes })}\n`,
      );
    } else {
      io.stderr.write(
        `Refreshed profile ${result.profile}; the new token expires at ${result.expires_at ?? 'an unknown time'}.\n`,
      );
    }
    return 0;
  },
};
