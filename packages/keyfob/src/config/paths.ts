/**
 * Where keyfob's home and the user's `config.yaml` are.
 *
 * DESIGN.md, Files and environment: the home is `KEYFOB_HOME`, else `$XDG_CONFIG_HOME/keyfob`,
 * else `~/.config/keyfob`; the config is `--config`, else `KEYFOB_CONFIG`, else `config.yaml` in
 * the home. An integrator's names replace `keyfob` and `KEYFOB_` (see {@link appNames}).
 *
 * These functions are pure: the environment, the home directory and the working directory are
 * passed in, so tests and integrators' SDKs never depend on the real process.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidInput } from '../errors.js';
import { type AppNames, type Env, envVar, readEnvVar } from './names.js';

/** File name of the user's configuration inside the home. */
export const CONFIG_FILE_NAME = 'config.yaml';

/** Options of {@link resolveHome}. */
export interface ResolveHomeOptions {
  names: AppNames;
  env: Env;
  /** The user's home directory (`os.homedir()`); must be absolute unless `<PREFIX>_HOME` is set. */
  homedir: string;
  /** Base for a relative `<PREFIX>_HOME`; defaults to `process.cwd()`. */
  cwd?: string;
}

/**
 * The app's home directory: `<PREFIX>_HOME`, else `$XDG_CONFIG_HOME/<app>`, else
 * `~/.config/<app>`.
 *
 * An empty variable counts as unset. A relative `XDG_CONFIG_HOME` is ignored, as the XDG Base
 * Directory specification requires; a relative `<PREFIX>_HOME` is taken from the working
 * directory, the way `GH_CONFIG_DIR` is. A leading `~/` is expanded, because a value set in a
 * Dockerfile or CI settings never went through a shell.
 *
 * @returns An absolute path; nothing is created.
 * @throws InvalidInput when the home directory is needed but not absolute (no `HOME`).
 */
export function resolveHome(options: ResolveHomeOptions): string {
  const { names, env, homedir } = options;
  const explicit = readEnvVar(env, names, 'HOME');
  if (explicit !== undefined) return absolutePath(explicit, homedir, options.cwd, envVar(names, 'HOME'));
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) return join(xdg, names.homeDirName);
  requireHomedir(homedir, names);
  return join(homedir, '.config', names.homeDirName);
}

/** Where the config path came from. */
export type ConfigPathSource = 'flag' | 'env' | 'default';

/** The config file to read and how it was chosen. */
export interface ConfigPath {
  /** Absolute path. */
  path: string;
  /**
   * `true` when the user named the file (`--config` or `<PREFIX>_CONFIG`): a missing file is
   * then an error. The default file may be missing, which means an empty configuration.
   */
  explicit: boolean;
  source: ConfigPathSource;
}

/** Options of {@link resolveConfigPath}. */
export interface ResolveConfigPathOptions {
  names: AppNames;
  env: Env;
  /** The app's home, from {@link resolveHome}. */
  home: string;
  /** The value of `--config`, when given. */
  flag?: string | undefined;
  /** Base for relative paths; defaults to `process.cwd()`. */
  cwd?: string;
  /** For `~/` expansion; without it a `~/` path is taken literally. */
  homedir?: string;
}

/**
 * The config file: `--config`, else `<PREFIX>_CONFIG`, else `<home>/config.yaml`.
 *
 * @throws InvalidInput when `--config` is given an empty path.
 */
export function resolveConfigPath(options: ResolveConfigPathOptions): ConfigPath {
  const { names, env, home, flag, cwd, homedir } = options;
  if (flag !== undefined) {
    if (flag === '') throw new InvalidInput('--config needs a path to a config file');
    return { path: absolutePath(flag, homedir, cwd, '--config'), explicit: true, source: 'flag' };
  }
  const fromEnv = readEnvVar(env, names, 'CONFIG');
  if (fromEnv !== undefined) {
    return {
      path: absolutePath(fromEnv, homedir, cwd, envVar(names, 'CONFIG')),
      explicit: true,
      source: 'env',
    };
  }
  return { path: join(home, CONFIG_FILE_NAME), explicit: false, source: 'default' };
}

function absolutePath(
  value: string,
  homedir: string | undefined,
  cwd: string | undefined,
  what: string,
): string {
  if (value.includes('\0')) throw new InvalidInput(`${what} must not contain a NUL character`);
  if ((value === '~' || value.startsWith('~/')) && homedir !== undefined && isAbsolute(homedir)) {
    return join(homedir, value.slice(1));
  }
  return resolve(cwd ?? process.cwd(), value);
}

function requireHomedir(homedir: string, names: AppNames): void {
  if (typeof homedir !== 'string' || !isAbsolute(homedir)) {
    throw new InvalidInput(
      `cannot tell where the home directory is; set ${envVar(names, 'HOME')} to the directory ${names.app} should use`,
    );
  }
}
