/**
 * `keyfob token`: prints the access token only, refreshing it first when it would expire
 * sooner than `--min-ttl`. It never starts a login.
 */
import { type Command, jsonFlag, profileFlags, tenantFlag } from '../command.js';
import { toJson } from '../io.js';
import { tenantJson } from '../tenant-choice.js';
import { openKeyfob, optionalString, parseSeconds } from './shared.js';

export const token: Command = {
  name: 'token',
  summary: 'print an access token, refreshing it first when needed',
  usage: '[flags]',
  examples: [
    {
      what: 'put a token in a header without it ever being on screen',
      run: 'curl -H "Authorization: Bearer $(keyfob token)" https://api.example.com/v1/me',
    },
    {
      what: 'a token still valid for 5 minutes, as JSON with its expiry and scopes',
      run: 'keyfob token --min-ttl 300 --json',
    },
    { what: "a machine profile's token, in CI", run: 'keyfob token --profile ci' },
    { what: "another tenant's token, for one call (not made current)", run: 'keyfob token --tenant acme-us' },
  ],
  description:
    'Prints only the token, so `$(keyfob token)` works in scripts. Exits 2 when no session can give one; it never starts a login.',
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    ...tenantFlag,
    ...jsonFlag,
    'min-ttl': {
      type: 'string',
      value: 'SECONDS',
      description: 'refresh first if the token lives shorter than this (default 60)',
    },
    resource: {
      type: 'string',
      value: 'URL',
      description: "a token for this resource (RFC 8707) instead of the provider's default",
    },
    scopes: { type: 'string', value: 'LIST', description: 'scopes the token must carry (commas or spaces)' },
  },
  async run({ io, app, values }) {
    // Bad input is refused before anything is opened.
    const minTtl = parseSeconds(values['min-ttl'], '--min-ttl');
    const kf = await openKeyfob(io, app, values);
    const result = await kf.getToken({
      profile: optionalString(values.profile),
      resource: optionalString(values.resource),
      scopes: optionalString(values.scopes),
      ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
      minTtl,
    });
    if (values.json) {
      io.stdout.write(
        toJson({
          access_token: result.access_token,
          token_type: result.token_type,
          expires_at: result.expires_at,
          scopes: result.scopes,
          profile: result.profile,
          tenant: tenantJson(result.tenant),
        }),
      );
    } else {
      io.stdout.write(`${result.access_token}\n`);
    }
    return 0;
  },
};
