/**
 * Loading `config.yaml`: read (size-capped), parse (see `yaml.ts`), interpolate, validate.
 *
 * The file is the user's and keyfob never writes it (DESIGN.md, Profiles). With a cache
 * directory, the parsed form of a config that validated is remembered (see `cache.ts`), so
 * later runs skip the YAML parser until the file changes.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InsecurePermissions, InvalidConfig } from '../errors.js';
import { assertPermissions } from '../fs/ownership.js';
import {
  type ConfigFingerprint,
  type ConfigSummary,
  fingerprint,
  readCachedConfig,
  readCachedSummary,
  variablePrint,
  writeCachedConfig,
} from './cache.js';
import { interpolate, MAX_CONFIG_DEPTH } from './interpolate.js';
import { type AppNames, appNames, type Env, envVar } from './names.js';
import type { ConfigPathSource } from './paths.js';
import { emptyConfig, type KeyfobConfig } from './schema.js';
import { isDeferrableSecret, SECRET_KEYS, validateConfig } from './validate.js';

export { MAX_CONFIG_DEPTH };

/** Largest config file keyfob reads: 1 MiB, far beyond any real configuration. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** What messages call a configuration given in code. */
export const OPTIONS_LABEL = '<options>';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The config file, usually from `resolveConfigPath`; made absolute from the working directory. */
  path: string;
  /** Whether the user named the file; a missing explicit file is an error. */
  explicit: boolean;
  /** For `${VAR}` references. */
  env: Env;
  /** Where the path came from, to say what to fix when an explicit file is missing. */
  source?: ConfigPathSource;
  /** The app's names, for the variable in that hint; defaults to keyfob's. */
  names?: AppNames;
  /** What users type before `login` in hints; defaults to the app name. */
  command?: string;
  /** Where to cache the parsed file (the home's `cache/`); no caching without it. */
  cacheDir?: string;
}

/**
 * Reads, parses, interpolates and validates a config file.
 *
 * A missing default file (`explicit: false`) is an empty configuration with `file: null`; a
 * missing explicit file is an error. The config file is never written.
 *
 * @throws InvalidConfig naming the file, the key path (or line and column) and the fix.
 * @throws InsecurePermissions when another user owns the file or others can write it.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<KeyfobConfig> {
  const file = resolve(options.path);
  const names = options.names ?? appNames();
  const finish = { file, env: options.env, command: options.command ?? names.app };
  const opened = await openConfigFile(file, options.explicit, options.source, names);
  if (opened === null) return emptyConfig(null);
  let raw: unknown;
  try {
    if (options.cacheDir) {
      const cached = await readCachedConfig(options.cacheDir, opened.key);
      if (cached !== undefined) {
        const config = finishConfig(cached, finish);
        // The variables changed since the summary was written: refresh it for the fast path.
        if (!(await readCachedSummary(options.cacheDir, opened.key, options.env))) {
          await writeCachedConfig(options.cacheDir, opened.key, cached, {
            summary: summarize(config),
            env: environmentPrint(cached, options.env),
          });
        }
        return config;
      }
    }
    const text = await readText(opened.handle, file);
    const { parseYaml } = await import('./yaml.js');
    raw = parseYaml(text, file);
  } finally {
    await opened.handle.close();
  }
  const config = finishConfig(raw, finish);
  if (options.cacheDir) {
    await writeCachedConfig(options.cacheDir, opened.key, raw, {
      summary: summarize(config),
      env: environmentPrint(raw, options.env),
    });
  }
  return config;
}

/** The non-secret parts of a validated config that the token fast path needs. */
function summarize(config: KeyfobConfig): ConfigSummary {
  const providers: ConfigSummary['providers'] = {};
  for (const [name, provider] of Object.entries(config.providers)) {
    providers[name] = { type: provider.type, resource: provider.resource ?? null };
  }
  const profiles: ConfigSummary['profiles'] = {};
  for (const [name, profile] of Object.entries(config.profiles))
    profiles[name] = { provider: profile.provider };
  return {
    default_provider: config.default_provider,
    token_storage: config.token_storage,
    providers,
    profiles,
    agent: config.agent.mode,
  };
}

/** Every variable the parsed file refers to, remembered as `variablePrint` says. */
function environmentPrint(raw: unknown, env: Env): Record<string, string> {
  const prints: Record<string, string> = {};
  const walk = (value: unknown, key: string) => {
    if (typeof value === 'string') {
      for (const match of value.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
        const name = match[1] as string;
        prints[name] = variablePrint(env[name], SECRET_KEYS.includes(key));
      }
    } else if (Array.isArray(value)) {
      for (const item of value) walk(item, key);
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(raw, '');
  return prints;
}

/** Interpolates `${VAR}` references in parsed config data and validates the result. */
export function finishConfig(
  raw: unknown,
  options: { file: string; env: Env; command: string },
): KeyfobConfig {
  const { value, refs, unresolved } = interpolate(raw, {
    file: options.file,
    env: options.env,
    defer: isDeferrableSecret,
  });
  return validateConfig(value, { file: options.file, refs, unresolved, command: options.command });
}

/** Options of {@link configFromObject}. */
export interface ConfigFromObjectOptions {
  /** What users type before `login` in hints; defaults to `keyfob`. */
  command?: string;
  /** Base of relative paths (`token_file`, `private_key`); defaults to `process.cwd()`. */
  cwd?: string;
}

/**
 * Validates a configuration given in code by a library user, with the same rules as a file
 * (`${VAR}` references included; literal secrets refused). Messages call it `<options>`.
 *
 * @param config The same shape as `config.yaml`; `null`/`undefined` is an empty configuration.
 * @returns A new configuration with `file: null`; the input is not modified.
 * @throws InvalidConfig naming `<options>`, the key path and the fix.
 */
export function configFromObject(
  config: unknown,
  env: Env,
  options: ConfigFromObjectOptions = {},
): KeyfobConfig {
  const { value, refs, unresolved } = interpolate(config ?? null, {
    file: OPTIONS_LABEL,
    env,
    defer: isDeferrableSecret,
  });
  return validateConfig(value, {
    unresolved,
    file: null,
    label: OPTIONS_LABEL,
    refs,
    command: options.command ?? 'keyfob',
    ...(options.cwd !== undefined && { cwd: options.cwd }),
  });
}

type Handle = Awaited<ReturnType<typeof open>>;

/** Opens the config file and checks what it is; the caller closes the handle. */
async function openConfigFile(
  file: string,
  explicit: boolean,
  source: ConfigPathSource | undefined,
  names: AppNames,
): Promise<{ key: ConfigFingerprint; handle: Handle } | null> {
  let handle: Handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      if (!explicit) return null;
      const hint =
        source === 'flag'
          ? 'check the path given to --config'
          : source === 'env'
            ? `check ${envVar(names, 'CONFIG')}`
            : undefined;
      throw new InvalidConfig('config file not found', { file }, { cause: error, ...(hint && { hint }) });
    }
    throw unreadable(file, code, error);
  }
  let stat: Awaited<ReturnType<typeof handle.stat>>;
  try {
    stat = await handle.stat();
    if (stat.isDirectory()) throw new InvalidConfig('is a directory, not a config file', { file });
    if (stat.isFile() && stat.size > MAX_CONFIG_BYTES) throw tooLarge(file);
    // Whoever can change the config decides where tokens go. Root may own it (an administrator's
    // file given with --config): root can change every file anyway.
    assertPermissions(file, stat, { allowRootOwner: true });
  } catch (error) {
    await handle.close();
    if (error instanceof InvalidConfig || error instanceof InsecurePermissions) throw error;
    throw unreadable(file, errorCode(error), error);
  }
  return { key: fingerprint(file, stat), handle };
}

async function readText(handle: Handle, file: string): Promise<string> {
  try {
    // Read in chunks with a running total: a FIFO or a file growing under us has no useful size.
    const chunks: Buffer[] = [];
    let total = 0;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > MAX_CONFIG_BYTES) throw tooLarge(file);
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
    } catch (error) {
      throw new InvalidConfig('is not valid UTF-8 text', { file }, { cause: error });
    }
  } catch (error) {
    if (error instanceof InvalidConfig) throw error;
    throw unreadable(file, errorCode(error), error);
  }
}

function tooLarge(file: string): InvalidConfig {
  return new InvalidConfig(`is larger than ${MAX_CONFIG_BYTES} bytes (1 MiB); keyfob refuses to parse it`, {
    file,
  });
}

function unreadable(file: string, code: string | undefined, cause: unknown): InvalidConfig {
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? 'unknown error');
  return new InvalidConfig(`cannot be read (${why})`, { file }, { cause });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}
