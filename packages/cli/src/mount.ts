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
 */
import { appNames } from '@keyfob/core';
import type { AppIdentity } from './command.js';
import { authCommands } from './commands/index.js';
import { type IO, processIO } from './io.js';
import { runCommandLine, withBuiltins } from './run.js';

export interface AuthCommandsOptions {
  /** Lower-case app name: the home directory, the environment prefix, the keychain service. */
  appName: string;
  /** How users type the commands, e.g. `acme auth`; defaults to the app name. */
  commandPrefix?: string;
}

export interface AuthCommands {
  /** Runs one auth command line (without the program and `auth` words) and returns its exit code. */
  run(argv: readonly string[], io?: IO): Promise<number>;
  /** The command names, for the integrator's own help. */
  readonly commands: readonly string[];
}

/** Builds the auth command set under another program's name. */
export function createAuthCommands(options: AuthCommandsOptions): AuthCommands {
  const names = appNames(options.appName);
  const app: AppIdentity = {
    name: names.app,
    commandPrefix: options.commandPrefix ?? names.app,
    envPrefix: names.envPrefix,
  };
  return {
    run: (argv, io = processIO()) => runCommandLine(argv, app, authCommands, io),
    // help and completion too: `acme auth help`, `acme auth completion bash` (under acme's name).
    commands: Object.keys(withBuiltins(authCommands)).filter((name) => !name.startsWith('__')),
  };
}

export type { IO } from './io.js';
