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
import { appNames, createKeyfob, envVar, InvalidInput, type Keyfob, type KeyfobOptions } from '@keyfob/core';
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
   * Given to `createKeyfob` as `commandNames`, so the library's own hints (getToken's errors,
   * the agent tools' `command`, the proxy's `auth_required`) say them too. With `keyfob`, they
   * default to `keyfob.commandNames`, and names that differ from those are refused.
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
  /** Every command name that may run, for the integrator's own help (`assume-user` and
   * `service-principal` run only when a configured provider has a control plane). */
  readonly commands: readonly string[];
}

const COMMAND_NAME = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * Builds the auth command set under another program's name.
 * @throws InvalidInput for a bad app name, a rename of an unknown command or to a taken or
 *   malformed name, or `keyfob` beside other createKeyfob options.
 */
export function createAuthCommands(options: AuthCommandsOptions): AuthCommands {
  const { commandPrefix, names: given, keyfob, ...keyfobOptions } = options;
  const renames = keyfob ? sharedNames(given, keyfob) : given;
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
  const instance = () =>
    keyfob ??
    createKeyfob({ ...keyfobOptions, appName: names.app, ...(renames ? { commandNames: renames } : {}) });
  return {
    run: async (argv, io = processIO()) =>
      runCommandLine(argv, app, await forProviders(table, renames ?? {}, argv, instance, io.env), io),
    // help and completion too: `acme auth help`, `acme auth completion bash` (under acme's name).
    commands: Object.keys(withBuiltins(table)).filter((name) => !name.startsWith('__')),
  };
}

/**
 * The names of an SDK's instance: the library's hints use `keyfob.commandNames`, so the commands
 * take those; other names would make the CLI and its own hints disagree.
 * @throws InvalidInput when `given` differs from what the instance was created with.
 */
function sharedNames(
  given: Readonly<Record<string, string>> | undefined,
  keyfob: Keyfob,
): Readonly<Record<string, string>> | undefined {
  const own = keyfob.commandNames ?? {};
  const key = (names: Readonly<Record<string, string>>) =>
    JSON.stringify(Object.entries(names).sort(([a], [b]) => a.localeCompare(b)));
  if (given === undefined) return Object.keys(own).length > 0 ? own : undefined;
  if (key(given) !== key(own)) {
    throw new InvalidInput(
      'createAuthCommands: names differ from the commandNames the keyfob instance was created with',
      {
        hint: 'give them once, to createKeyfob({ commandNames }), and leave names out',
      },
    );
  }
  return given;
}

/** Commands that need a control plane: offered only when a configured provider has one. */
const CONTROL_PLANE_COMMANDS: readonly string[] = ['assume-user', 'service-principal'];

/**
 * DESIGN.md, Mounting: the set is `login` … `tenants` "and whatever the config's providers need",
 * so a vendor without a control plane does not show its users `assume-user`. With `--config`, or
 * a config that does not load, every command stays (the command itself reports the config).
 */
async function forProviders(
  table: CommandTable,
  renames: Readonly<Record<string, string>>,
  argv: readonly string[],
  instance: () => Keyfob,
  env: Readonly<Record<string, string | undefined>>,
): Promise<CommandTable> {
  if (argv.some((arg) => arg === '--config' || arg.startsWith('--config='))) return table;
  let types: string[];
  let fleet: boolean;
  try {
    const kf = instance();
    const config = await kf.config();
    types = Object.values(config.providers).map((p) => p.type);
    // `fleet` only where there is one: `fleet:` in the config, or the fleet variables.
    fleet =
      config.fleet !== undefined ||
      Boolean(env[envVar(kf.names, 'FLEET_REDIS')] || env[envVar(kf.names, 'FLEET_KEY')]);
  } catch {
    return table;
  }
  const hidden = new Set(fleet ? [] : [renames.fleet ?? 'fleet']);
  if (!types.some((type) => type === 'exchange' || type === 'assume_user')) {
    for (const name of CONTROL_PLANE_COMMANDS) hidden.add(renames[name] ?? name);
  }
  if (hidden.size === 0) return table;
  return Object.fromEntries(Object.entries(table).filter(([name]) => !hidden.has(name)));
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
