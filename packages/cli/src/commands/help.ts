/**
 * `keyfob help environment` and `keyfob help exit-codes`: the two help topics that are not a
 * command. Both are written for `keyfob` and shown with the app's own command and variable
 * prefix, so an integrator's users read `ACME_TOKEN`, never `KEYFOB_TOKEN`.
 */
import { InvalidInput } from '@keyfob/core';
import { type AppIdentity, appEnvVar, type Command, commandHelp, commandName, forApp } from '../command.js';
import type { CommandTable } from '../run.js';

/** The app's variables (DESIGN.md, Files and environment), then the ones every program reads. */
const PREFIXED: ReadonlyArray<readonly [string, string]> = [
  ['TOKEN', 'an access token to use as it is, before any profile (never refreshed)'],
  ['TOKEN_FILE', 'a file holding the token; re-read when it changes or its token expires'],
  ['CLIENT_ID', 'with KEYFOB_CLIENT_SECRET: machine credentials, on KEYFOB_PROVIDER’s issuer'],
  ['CLIENT_SECRET', 'the secret that goes with KEYFOB_CLIENT_ID (kept in memory only)'],
  ['PROVIDER', 'the provider to use instead of default_provider'],
  ['PROFILE', 'the profile to use instead of the active one (as --profile)'],
  ['TENANT', 'the tenant to use instead of the profile’s'],
  ['CONFIG', 'the config file to read instead of config.yaml in the home (as --config)'],
  ['HOME', 'the home directory (default: $XDG_CONFIG_HOME/keyfob, else ~/.config/keyfob)'],
  ['STORAGE', 'where sessions are stored: keychain, encrypted-file, file or memory'],
  ['PASSPHRASE', 'the passphrase of the encrypted-file store (asked at a terminal when unset)'],
  ['IDENTITY_FILE', 'an age identity file for the encrypted-file store, instead of a passphrase'],
  ['CA_BUNDLE', 'a PEM file of certificate authorities to trust besides the bundled ones'],
  ['VERIFY_TLS', 'false turns certificate verification off (with a warning; for debugging only)'],
  ['NO_PROMPT', 'never ask anything (as --no-input): fail naming what to run instead'],
  ['DEBUG', '1 prints redacted debug lines and stack traces on stderr'],
  ['ADMIN_API_KEY', 'the control plane’s admin key, for assume-user'],
  ['FLEET_REDIS', 'the Redis URL that processes of a fleet share sessions through'],
  ['FLEET_KEY', 'the key that encrypts what a fleet shares'],
];

const UNPREFIXED: ReadonlyArray<readonly [string, string]> = [
  ['XDG_CONFIG_HOME', 'where the home is when KEYFOB_HOME is unset'],
  ['BROWSER', 'the command that opens the login page (what to open is its last argument)'],
  ['NO_COLOR', 'set: no colour, even at a terminal'],
  ['CI', 'set: nobody is at the terminal, so nothing is asked and no login waits for a person'],
  ['FIREBASE_AUTH_EMULATOR_HOST', 'host:port of the Firebase Auth emulator, for firebase providers'],
  ['NODE_EXTRA_CA_CERTS', 'more certificate authorities to trust, as for any Node.js program'],
  ['HTTPS_PROXY, HTTP_PROXY, NO_PROXY', 'the proxy to use, and the hosts that bypass it'],
];

/** The text of `help environment`. */
export function environmentHelp(app: AppIdentity): string {
  const rows = [
    ...PREFIXED.map(([suffix, text]) => [appEnvVar(app, suffix), forApp(text, app)] as const),
    ...UNPREFIXED.map(([name, text]) => [name, forApp(text, app)] as const),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    `Environment variables ${app.commandPrefix} reads (a command-line flag wins over its variable):`,
    '',
    ...rows.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`),
    '',
    `\`${app.commandPrefix} explain\` shows which of them the current environment sets, and what they hide.`,
    '',
  ].join('\n');
}

/** The text of `help exit-codes` (DESIGN.md, Errors and exit codes). */
export function exitCodesHelp(app: AppIdentity): string {
  return forApp(
    [
      'Exit codes:',
      '',
      '  0  success',
      '  1  any other failure: bad input, invalid config, permission denied, an invalid token,',
      '     a refused secret or password, a network or TLS failure',
      '  2  authentication required: no credential, a session that expired and cannot be renewed,',
      '     a grant the provider revoked, a final 401, or a login or step-up that needs a person',
      '     when nobody is at the terminal. Run `keyfob login`.',
      '  3  `keyfob check` could not decide (the issuer or its keys could not be reached)',
      '',
      'Errors are one line on stderr saying what failed and what to run; KEYFOB_DEBUG=1 adds details.',
      '',
    ].join('\n'),
    app,
  );
}

/** `help [COMMAND|environment|exit-codes]`, over the command set it belongs to. */
export function helpCommand(table: CommandTable): Command {
  return {
    name: 'help',
    summary: 'show help for a command, the environment variables, or the exit codes',
    usage: '[COMMAND|environment|exit-codes]',
    examples: [
      { what: 'the flags of login, as `keyfob login --help` shows them', run: 'keyfob help login' },
      { what: 'every environment variable keyfob reads', run: 'keyfob help environment' },
      { what: 'what each exit code means, for scripts', run: 'keyfob help exit-codes' },
    ],
    maxPositionals: 1,
    flags: {},
    async run({ io, app, positionals }) {
      const topic = positionals[0];
      if (topic === undefined) {
        io.stdout.write(overview(app, table));
        return 0;
      }
      if (topic === 'environment') {
        io.stdout.write(environmentHelp(app));
        return 0;
      }
      if (topic === 'exit-codes') {
        io.stdout.write(exitCodesHelp(app));
        return 0;
      }
      const entry = Object.hasOwn(table, topic) && !topic.startsWith('__') ? table[topic] : undefined;
      if (!entry) {
        const shown = /^[a-z][a-z-]{0,31}$/.test(topic) ? ` "${topic}"` : '';
        throw new InvalidInput(
          `no help topic${shown}; run \`${app.commandPrefix} help\` for the commands, or \`${app.commandPrefix} help environment\` or \`${app.commandPrefix} help exit-codes\``,
        );
      }
      io.stdout.write(commandHelp(app, await entry.load()));
      return 0;
    },
  };
}

/** What `keyfob`, `keyfob --help` and `keyfob help` print: every command, then where to look. */
export function overview(app: AppIdentity, table: CommandTable): string {
  const visible = Object.entries(table).filter(([name]) => !name.startsWith('__'));
  const width = Math.max(...visible.map(([name]) => name.length));
  const rows = visible.map(([name, entry]) => `  ${name.padEnd(width)}  ${entry.summary}`);
  const p = app.commandPrefix;
  return [
    `Usage: ${p} COMMAND [flags]`,
    '',
    'Commands:',
    ...rows,
    '',
    'Examples:',
    // The vendor's name for login (`signin`): the overview is not a command's help text.
    `  $ ${p} ${commandName(app, 'login')}`,
    `  $ ${p} status`,
    `  $ ${p} token`,
    '',
    `Run \`${p} COMMAND --help\` (or \`${p} help COMMAND\`) for a command's flags and examples,`,
    `\`${p} help environment\` for the environment variables, \`${p} help exit-codes\` for the exit codes.`,
    '',
  ].join('\n');
}
