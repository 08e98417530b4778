/**
 * The names an integrator's app is known by.
 *
 * DESIGN.md: an integrator's users never see the word keyfob. The app name replaces `keyfob` in
 * the home directory, the `KEYFOB_` prefix of environment variables and the keychain service, so
 * two tools built on keyfob never read each other's files, variables or keychain entries.
 */
import { InvalidInput } from '../errors.js';

/** The process environment, or any map of variable names to values (`process.env` fits). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Every name derived from the app name; see {@link appNames}. */
export interface AppNames {
  /** The app name itself, e.g. `acme`; also what users type to run the CLI. */
  readonly app: string;
  /** Prefix of environment variables, without the trailing `_`: `ACME`. */
  readonly envPrefix: string;
  /** Directory name of the home under `$XDG_CONFIG_HOME` or `~/.config`: `acme`. */
  readonly homeDirName: string;
  /** Service name under which keychain entries are kept: `acme`. */
  readonly keychainService: string;
  /**
   * Variables the integrator renamed (`createKeyfob({ env })`), by keyfob's suffix:
   * `{ VERIFY_TLS: 'KSCLI_VERIFY_SSL' }`. {@link envVar} returns these names instead of the
   * prefixed ones; empty for keyfob itself.
   */
  readonly envRenames: Readonly<Record<string, string>>;
}

/** Overrides for an integrator whose product already uses other names. */
export interface AppNameOverrides {
  /** e.g. `ACME_CLI`; upper-case letters, digits and `_`, starting with a letter. */
  envPrefix?: string;
  /** e.g. `acme-cli`; one path segment. */
  homeDirName?: string;
  /** e.g. `com.acme.cli`; printable, at most 128 characters. */
  keychainService?: string;
  /**
   * Single variables read under another name, by keyfob's suffix (`VERIFY_TLS`) → the full
   * variable name (`KSCLI_VERIFY_SSL`). Keys are upper-case suffixes, values variable names.
   */
  envRenames?: Readonly<Record<string, string>>;
}

/** The app name keyfob's own CLI uses. */
export const DEFAULT_APP_NAME = 'keyfob';

const APP_NAME = /^[a-z][a-z0-9-]{0,39}$/;
const ENV_PREFIX = /^[A-Z][A-Z0-9_]{0,39}$/;
const ENV_SUFFIX = /^[A-Z][A-Z0-9_]{0,63}$/;
const HOME_DIR_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const KEYCHAIN_SERVICE = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

/**
 * Derives the names an app is known by.
 *
 * @param appName `[a-z][a-z0-9-]{0,39}`; defaults to `keyfob`.
 * @param overrides Names to use instead of the derived ones.
 * @returns `{ app, envPrefix, homeDirName, keychainService }`; for `my-cli`:
 *   `{ app: 'my-cli', envPrefix: 'MY_CLI', homeDirName: 'my-cli', keychainService: 'my-cli' }`.
 * @throws InvalidInput when a name does not have the documented form.
 */
export function appNames(appName: string = DEFAULT_APP_NAME, overrides: AppNameOverrides = {}): AppNames {
  if (typeof appName !== 'string' || !APP_NAME.test(appName)) {
    throw new InvalidInput(
      'app name must be 1 to 40 lower-case letters, digits or "-", starting with a letter (e.g. "acme")',
    );
  }
  const envPrefix = overrides.envPrefix ?? appName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  if (!ENV_PREFIX.test(envPrefix)) {
    throw new InvalidInput(
      'envPrefix must be upper-case letters, digits or "_", starting with a letter (e.g. "ACME")',
    );
  }
  const homeDirName = overrides.homeDirName ?? appName;
  if (!HOME_DIR_NAME.test(homeDirName) || homeDirName === '.' || homeDirName === '..') {
    throw new InvalidInput('homeDirName must be one directory name of letters, digits, ".", "_" or "-"');
  }
  const keychainService = overrides.keychainService ?? appName;
  if (!KEYCHAIN_SERVICE.test(keychainService)) {
    throw new InvalidInput('keychainService must be 1 to 128 printable ASCII characters');
  }
  const envRenames = validEnvRenames(overrides.envRenames);
  return Object.freeze({ app: appName, envPrefix, homeDirName, keychainService, envRenames });
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Checks a rename map (`createKeyfob({ env })`). An environment map passed where a rename map
 * belongs fails here too: its keys (`PATH`, `HOME`) may pass, but its values (`/usr/bin:…`) are
 * not variable names.
 *
 * @throws InvalidInput naming the first bad entry (its key only: a value may be a secret).
 */
export function validEnvRenames(renames: unknown): Readonly<Record<string, string>> {
  if (renames === undefined || renames === null) return Object.freeze({});
  if (typeof renames !== 'object' || Array.isArray(renames)) {
    throw new InvalidInput(
      'env must map keyfob variable suffixes to the names to read instead, e.g. { VERIFY_TLS: "ACME_VERIFY_SSL" }',
    );
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(renames)) {
    const shownKey = ENV_SUFFIX.test(key) ? key : '(a key that is not an upper-case suffix)';
    if (!ENV_SUFFIX.test(key)) {
      throw new InvalidInput(`env: ${shownKey}: keys are upper-case variable suffixes such as VERIFY_TLS`, {
        hint: 'pass the environment to read as `environment`, and renames of single variables as `env`',
      });
    }
    if (typeof value !== 'string' || !ENV_NAME.test(value)) {
      throw new InvalidInput(`env.${key} must be a variable name ([A-Za-z_][A-Za-z0-9_]*)`, {
        hint: 'pass the environment to read as `environment`, and renames of single variables as `env`',
      });
    }
    out[key] = value;
  }
  return Object.freeze(out);
}

/** The environment variables DESIGN.md defines, without their prefix. */
export type KnownEnvSuffix =
  | 'TOKEN'
  | 'TOKEN_FILE'
  | 'CLIENT_ID'
  | 'CLIENT_SECRET'
  | 'PROVIDER'
  | 'PROFILE'
  | 'TENANT'
  | 'CONFIG'
  | 'HOME'
  | 'STORAGE'
  | 'PASSPHRASE'
  | 'IDENTITY_FILE'
  | 'CA_BUNDLE'
  | 'VERIFY_TLS'
  | 'NO_PROMPT'
  | 'DEBUG'
  | 'ADMIN_API_KEY'
  | 'FLEET_REDIS'
  | 'FLEET_KEY';

/**
 * The full name of one of the app's environment variables.
 *
 * @param names From {@link appNames}.
 * @param suffix The part after the prefix, e.g. `TOKEN`.
 * @returns e.g. `KEYFOB_TOKEN`, or `ACME_TOKEN` for the app `acme`.
 * @throws InvalidInput when `suffix` is not upper-case letters, digits and `_`.
 * @remarks `suffix` is typed `KnownEnvSuffix | (string & {})` so editors complete the known
 *   names while new ones stay possible.
 */
export function envVar(names: AppNames, suffix: KnownEnvSuffix | (string & {})): string {
  if (!ENV_SUFFIX.test(suffix)) {
    throw new InvalidInput('an environment variable suffix must be upper-case letters, digits or "_"');
  }
  const renamed =
    names.envRenames && Object.hasOwn(names.envRenames, suffix) ? names.envRenames[suffix] : undefined;
  return renamed ?? `${names.envPrefix}_${suffix}`;
}

/**
 * Reads one of the app's environment variables; an empty value counts as unset, so that
 * `KEYFOB_HOME= cmd` switches a setting off the way shells users expect.
 *
 * @returns The value, or `undefined` when unset or empty.
 */
export function readEnvVar(
  env: Env,
  names: AppNames,
  suffix: KnownEnvSuffix | (string & {}),
): string | undefined {
  const value = env[envVar(names, suffix)];
  return value === undefined || value === '' ? undefined : value;
}
