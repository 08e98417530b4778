/**
 * What several commands share: opening the keyfob instance for the command line's flags, and
 * reading flag values safely.
 */
import { InvalidInput, type Keyfob } from '@keyfob/core';
import { type AppIdentity, appEnvVar, type FlagValues } from '../command.js';
import { cliLogger } from '../interaction.js';
import { askHidden, type IO, personIsThere } from '../io.js';
import { track } from '../opened.js';

/** The keyfob instance for this command line (`--config` honoured). */
export async function openKeyfob(io: IO, app: AppIdentity, values: FlagValues): Promise<Keyfob> {
  if (app.keyfob) {
    // The SDK's own instance: its files and options are the commands' too; --config cannot change them.
    if (values.config !== undefined) {
      throw new InvalidInput(
        `--config is not available here: ${app.commandPrefix} uses the app's configuration`,
      );
    }
    return track(app.keyfob);
  }
  const { createKeyfob } = await import('@keyfob/core');
  const person = personIsThere(io, appEnvVar(app, 'NO_PROMPT'), values['no-input'] === true);
  return track(
    createKeyfob({
      ...app.keyfobOptions,
      appName: app.name,
      envPrefix: app.envPrefix,
      ...(app.envRenames ? { env: app.envRenames } : {}),
      cliName: app.commandPrefix,
      environment: app.keyfobOptions?.environment ?? io.env,
      configPath: optionalString(values.config) ?? app.keyfobOptions?.configPath,
      log: cliLogger(io, app),
      // Only a person is asked; elsewhere the passphrase comes from <PREFIX>_PASSPHRASE or fails.
      ...(person
        ? {
            promptPassphrase: ({ creating }: { creating: boolean }) =>
              creating ? newPassphrase(io) : askHidden(io, 'Passphrase for the encrypted token store: '),
          }
        : {}),
    }),
  );
}

/**
 * A new passphrase, typed twice: a typo in it would lock the store for good (as ssh-keygen and
 * `age -p` ask twice). Three mismatches end the command with nothing created.
 */
async function newPassphrase(io: IO): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const first = await askHidden(io, 'New passphrase for the encrypted token store: ');
    const again = await askHidden(io, 'The same passphrase again: ');
    if (first === again) return first;
    if (attempt === 3) {
      throw new InvalidInput('the two passphrases differed three times; nothing was created', {
        hint: 'run the command again',
      });
    }
    io.stderr.write('The two passphrases differ; try again.\n');
  }
}

export function optionalString(value: FlagValues[string]): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A whole number of seconds from a flag, or `undefined` when the flag is absent. */
export function parseSeconds(value: FlagValues[string], flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?\d{1,9}$/.test(value)) {
    throw new InvalidInput(`${flag} takes a whole number of seconds, such as ${flag} 300`);
  }
  // A negative lifetime means nothing: refused, not read as 0, so a typo is seen.
  if (value.startsWith('-')) throw new InvalidInput(`${flag} must be 0 or more seconds (got ${value})`);
  return Number(value);
}

/**
 * The environment variable whose credential takes precedence over every stored profile
 * (DESIGN.md, The resolver, level 2), or `null`. A command that acts on stored profiles
 * (`refresh`, `logout`) must say so instead of acting on something else than it reports.
 */
export function environmentCredential(io: IO, app: AppIdentity): string | null {
  for (const name of ['TOKEN', 'TOKEN_FILE', 'CLIENT_ID']) {
    const variable = appEnvVar(app, name);
    if (io.env[variable]) return variable;
  }
  return null;
}

/** What the credential in an environment variable is, for messages. */
export function envCredentialWhat(variable: string): string {
  if (variable.endsWith('_TOKEN')) return 'that token as given';
  if (variable.endsWith('_TOKEN_FILE')) return 'the token in that file';
  return 'those client credentials';
}

/** Why `refresh` has nothing to do for a credential from the environment. */
export function envCredentialNotRefreshable(variable: string): string {
  if (variable.endsWith('_TOKEN')) return 'keyfob cannot refresh a token it was given';
  if (variable.endsWith('_TOKEN_FILE'))
    return 'keyfob re-reads the file when it changes, but cannot refresh it';
  return 'each command gets its own token with them, and none is stored';
}
