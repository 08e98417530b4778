/**
 * The auth command set for integrators: `acme auth login|logout|status|token|whoami|switch|…`
 * under their own program name, with their files (`~/.config/acme`), their environment prefix
 * (`ACME_TOKEN`) and their name in every message. Their users never see the word keyfob.
 *
 * ```ts
 * import { createAuthCommands } from '@keyfob/cli';
 * const auth = createAuthCommands({ appName: 'acme', commandPrefix: 'acme auth' });
 * if (process.argv[2] === 'auth') process.exitCode = await auth.run(process.argv.slice(3));
 * ```
 *
 * `acme auth` alone and `acme auth help …` print help, every command's `--help` has examples
 * written with `acme auth`, and `acme auth completion bash|zsh|fish` prints a script that
 * completes `acme auth …` by calling `acme auth __complete …` back (route it to `auth.run`).
 *
 * An SDK that already made its instance passes it (`createAuthCommands({ commandPrefix,
 * keyfob: kf })`): the commands and the SDK then read and write the same files under the same
 * options (envPrefix, env renames, store, credentialsFile).
 */
import { appNames, InvalidInput, type Keyfob, type KeyfobOptions } from '@keyfob/core';
import type { AppIdentity } from './command.js';
import { authCommands } from './commands/index.js';
import { type IO, processIO } from './io.js';
import { type CommandTable, runCommandLine, withBuiltins } from './run.js';

/** Every `createKeyfob` option, plus how users type the commands and what they are called. */
export interface AuthCommandsOptions extends KeyfobOptions {
  /** Lower-case app name: the home directory, the environment prefix, the keychain service. */
  appName?: string;
  /** How users type the commands, e.g. `acme auth`; defaults to the app name. */
  commandPrefix?: string;
  /**
   * The vendor's names for commands, `{ login: 'signin' }`: used in dispatch, help, examples,
   * completion and the "run `acme auth signin`" hints of errors. The old name no longer runs.
   */
  names?: Readonly<Record<string, string>>;
  /**
   * An instance the SDK already made: every command uses it, so the CLI and the SDK share files
   * and options. The other `createKeyfob` options must then be left out.
   */
  keyfob?: Keyfob;
}

export interface AuthCommands {
  /** Runs one auth command line (without the program and `auth` words) and returns its exit code. */
  run(argv: readonly string[], io?: IO): Promise<number>;
  /** The command names, for the integrator's own help. */
  readonly commands: readonly string[];
}

const COMMAND_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Builds the auth command set under another program's name.
 * @throws InvalidInput for a bad app name, a rename of an unknown command or to a taken or
 *   malformed name, or `keyfob` beside other createKeyfob options.
 */
export function createAuthCommands(options: AuthCommandsOptions): AuthCommands {
  const { commandPrefix, names: renames, keyfob, ...keyfobOptions } = options;
  if (keyfob) {
    const extra = Object.keys(keyfobOptions).filter(
      (key) => key !== 'appName' && keyfobOptions[key as keyof KeyfobOptions] !== undefined,
    );
    if (extra.length > 0) {
      throw new InvalidInput(
        `createAuthCommands: give keyfob or createKeyfob options, not both (${extra.join(', ')})`,
      );
    }
  }
  const names = keyfob ? keyfob.names : appNames(options.appName ?? 'keyfob', envOverrides(keyfobOptions));
  const table = renamed(authCommands, renames ?? {});
  const app: AppIdentity = {
    name: names.app,
    commandPrefix: commandPrefix ?? names.app,
    envPrefix: names.envPrefix,
    envRenames: names.envRenames,
    ...(renames ? { commandNames: renames } : {}),
    ...(keyfob ? { keyfob } : { keyfobOptions }),
  };
  return {
    run: (argv, io = processIO()) => runCommandLine(argv, app, table, io),
    // help and completion too: `acme auth help`, `acme auth completion bash` (under acme's name).
    commands: Object.keys(withBuiltins(table)).filter((name) => !name.startsWith('__')),
  };
}

function envOverrides(options: KeyfobOptions) {
  return {
    ...(options.envPrefix !== undefined ? { envPrefix: options.envPrefix } : {}),
    ...(options.env !== undefined ? { envRenames: options.env as Record<string, string> } : {}),
  };
}

/** The table under the vendor's command names; each loaded command carries its new name. */
function renamed(table: CommandTable, renames: Readonly<Record<string, string>>): CommandTable {
  const out: Record<string, CommandTable[string]> = {};
  const targets = new Set(Object.values(renames));
  for (const [from, to] of Object.entries(renames)) {
    if (!Object.hasOwn(table, from) || from.startsWith('__')) {
      throw new InvalidInput(`names: there is no command ${JSON.stringify(from)} to rename`);
    }
    if (typeof to !== 'string' || !COMMAND_NAME.test(to)) {
      throw new InvalidInput(`names.${from} must be a lower-case command name`);
    }
    if (Object.hasOwn(table, to) && !Object.hasOwn(renames, to)) {
      throw new InvalidInput(`names.${from}: ${to} is already a command`);
    }
  }
  if (targets.size !== Object.keys(renames).length)
    throw new InvalidInput('names: two commands get the same name');
  for (const [name, entry] of Object.entries(table)) {
    const to = Object.hasOwn(renames, name) ? (renames[name] as string) : name;
    out[to] = to === name ? entry : { ...entry, load: async () => ({ ...(await entry.load()), name: to }) };
  }
  return out;
}

export type { IO } from './io.js';
