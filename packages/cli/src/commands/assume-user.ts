/**
 * `keyfob assume-user --tenant-id T --user-id U`: admin impersonation at an `assume_user`
 * provider's control plane. The admin API key comes from stdin (`--admin-key-stdin`, saved in
 * the store), the provider's `admin_api_key`, `KEYFOB_ADMIN_API_KEY`, the profile's stored key,
 * or a hidden prompt at a terminal; never from argv.
 */
import { InvalidInput } from '@keyfob/core';
import { appEnvVar, type Command, noInputFlag, profileFlags } from '../command.js';
import { askHidden, personIsThere, readStdin, sanitize } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

export const assumeUser: Command = {
  name: 'assume-user',
  summary: 'act as a user of a tenant with an admin API key',
  usage: '--tenant-id T --user-id U [flags]',
  examples: [
    {
      what: 'act as a user, the key from the environment',
      run: 'KEYFOB_ADMIN_API_KEY=… keyfob assume-user --tenant-id acme-eu --user-id user-alice',
    },
    {
      what: 'save the key in the store (read from stdin, never argv); later runs need no key',
      run: 'printenv ADMIN_API_KEY | keyfob assume-user --tenant-id acme-eu --user-id user-alice --admin-key-stdin',
    },
  ],
  description: [
    'Writes into the profile login would (--profile, else the active one, else default) and makes it',
    'active. The session keeps the tenant, the user and the key (only in the store), so an expired',
    'token is assumed again with no prompt, even once KEYFOB_ADMIN_API_KEY is unset. Its tokens go to',
    "the provider's api_base. A wrong key exits 2; an unknown user or tenant exits 1.",
  ].join('\n'),
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    'tenant-id': { type: 'string', value: 'T', description: 'the tenant to act in' },
    'user-id': { type: 'string', value: 'U', description: 'the user to act as' },
    'admin-key-stdin': {
      type: 'boolean',
      description: 'read the admin API key from stdin and save it in the store (never from argv)',
    },
    provider: { type: 'string', value: 'NAME', description: 'the assume_user provider, when several exist' },
    ...noInputFlag,
  },
  async run({ io, app, values }) {
    const tenantId = optionalString(values['tenant-id']);
    const userId = optionalString(values['user-id']);
    if (!tenantId || !userId) {
      throw new InvalidInput(`name both: \`${app.commandPrefix} assume-user --tenant-id T --user-id U\``);
    }
    const adminApiKey = values['admin-key-stdin'] ? await keyFromStdin(io, app.commandPrefix) : undefined;
    const personPresent = personIsThere(io, appEnvVar(app, 'NO_PROMPT'), values['no-input'] === true);
    const kf = await openKeyfob(io, app, values);
    const result = await kf.assumeUser({
      tenantId,
      userId,
      profile: optionalString(values.profile),
      provider: optionalString(values.provider),
      persist: true,
      personPresent,
      ...(adminApiKey !== undefined ? { adminApiKey } : {}),
      askAdminKey: async () => {
        try {
          return await askHidden(io, 'Admin API key: ', 'admin API key');
        } catch {
          throw new InvalidInput('no admin API key was given');
        }
      },
    });
    for (const notice of result.notices) io.stderr.write(`${sanitize(notice)}\n`);
    io.stderr.write(
      `Authenticated as user ${sanitize(result.userId)} in tenant ${sanitize(result.tenantId)}\n` +
        `Token expires: ${result.expiresAt ?? 'unknown'}\n` +
        `(profile ${result.profile}, stored in ${result.store})\n`,
    );
    return 0;
  },
};

/** The key on stdin: one line, trimmed; never echoed, even in errors. */
async function keyFromStdin(io: Parameters<Command['run']>[0]['io'], prefix: string): Promise<string> {
  if (io.stdin.isTTY) {
    throw new InvalidInput(
      `pipe the key on stdin, e.g. \`printenv ADMIN_API_KEY | ${prefix} assume-user … --admin-key-stdin\`; at a terminal leave the flag out to be asked`,
    );
  }
  let text: string;
  try {
    text = await readStdin(io, 64 * 1024);
  } catch {
    throw new InvalidInput('stdin holds more than 64 KiB; an admin API key is far shorter');
  }
  const value = text.trim();
  if (value.length === 0 || /[\r\n]/.test(value)) {
    throw new InvalidInput('stdin must hold the admin API key on one line');
  }
  return value;
}
