/**
 * A cache of the parsed (not interpolated) config file, so that a cached `keyfob token` does
 * not load the YAML parser. An entry is used only while the file's size, mtime, ctime and inode
 * are those it was made from; it is written only after the config validated, and it holds the
 * text's structure before `${VAR}` substitution, so never a secret (literal secrets are refused).
 *
 * Beside the parse, an entry keeps a summary of the validated result (provider types and
 * resources, profiles' providers) and a fingerprint of the environment variables the file
 * refers to, so that the token fast path (`lifecycle/cached-token.ts`) can trust the summary
 * without validating again: any change of a referenced variable sends it to the full path.
 * Secret variables are recorded as set or not, never by value.
 */
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkPrivateDir, ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../fs/secure.js';

const CACHE_SCHEMA_VERSION = 1;

/** What identifies one version of the config file. */
export interface ConfigFingerprint {
  path: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export function fingerprint(path: string, stat: Stats): ConfigFingerprint {
  return { path, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, ino: stat.ino };
}

export function cacheFile(cacheDir: string): string {
  return join(cacheDir, 'config.json');
}

/** What the fast path needs of a validated config; nothing secret. */
export interface ConfigSummary {
  default_provider: string | null;
  token_storage: string | null;
  providers: Record<string, { type: string; resource: string | null }>;
  profiles: Record<string, { provider: string | null }>;
  /** `agent:` (auto, manual, off); absent in entries written before the agent existed. */
  agent?: string;
}

interface CacheEntry {
  schema_version?: unknown;
  key?: Partial<ConfigFingerprint>;
  raw?: unknown;
  summary?: ConfigSummary;
  env?: Record<string, string>;
}

async function readEntry(cacheDir: string, key: ConfigFingerprint): Promise<CacheEntry | undefined> {
  try {
    // The cache stands in for config.yaml: it is read only from a home only the user can change.
    if (!(await checkPrivateDir(dirname(cacheDir))) || !(await checkPrivateDir(cacheDir))) return undefined;
    const text = await readFileNoFollow(cacheFile(cacheDir));
    if (text === null) return undefined;
    const entry = JSON.parse(text) as CacheEntry;
    if (entry.schema_version !== CACHE_SCHEMA_VERSION || !sameKey(entry.key, key)) return undefined;
    return entry;
  } catch {
    return undefined;
  }
}

/**
 * The summary of the validated file with this fingerprint, if the environment variables it
 * refers to are as they were when it validated; otherwise `undefined`. Never throws.
 */
export async function readCachedSummary(
  cacheDir: string,
  key: ConfigFingerprint,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ConfigSummary | undefined> {
  return summaryFromEntry(await readEntry(cacheDir, key), env);
}

/** {@link readCachedSummary} on a cache file's text, for the token fast path's synchronous reads. */
export function cachedSummaryFromText(
  text: string,
  key: ConfigFingerprint,
  env: Readonly<Record<string, string | undefined>>,
): ConfigSummary | undefined {
  try {
    const entry = JSON.parse(text) as CacheEntry;
    if (entry.schema_version !== CACHE_SCHEMA_VERSION || !sameKey(entry.key, key)) return undefined;
    return summaryFromEntry(entry, env);
  } catch {
    return undefined;
  }
}

/**
 * The names of the variables the cached file with this fingerprint refers to, or `undefined`
 * when the cache does not hold that file (the keyfob agent's fingerprint needs them).
 */
export function cachedVariableNames(text: string, key: ConfigFingerprint): string[] | undefined {
  try {
    const entry = JSON.parse(text) as CacheEntry;
    if (entry.schema_version !== CACHE_SCHEMA_VERSION || !sameKey(entry.key, key) || !entry.env)
      return undefined;
    return Object.keys(entry.env).sort();
  } catch {
    return undefined;
  }
}

function summaryFromEntry(
  entry: CacheEntry | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ConfigSummary | undefined {
  if (!entry?.summary || !entry.env) return undefined;
  for (const [name, print] of Object.entries(entry.env)) {
    if (variablePrint(env[name], print.startsWith('presence:')) !== print) return undefined;
  }
  return entry.summary;
}

/** The cached parse of the file with this fingerprint, or `undefined`. Never throws. */
export async function readCachedConfig(cacheDir: string, key: ConfigFingerprint): Promise<unknown> {
  try {
    const entry = await readEntry(cacheDir, key);
    if (entry === undefined) return undefined;
    return entry.raw;
  } catch {
    return undefined;
  }
}

/** Remembers the parse of a config that validated. Best effort: a failure costs only speed. */
export async function writeCachedConfig(
  cacheDir: string,
  key: ConfigFingerprint,
  raw: unknown,
  validated?: { summary: ConfigSummary; env: Record<string, string> },
): Promise<void> {
  try {
    // Nothing is written into a home that is refused (its owner or mode is unsafe).
    await ensurePrivateDir(cacheDir, { within: dirname(cacheDir) });
    await writeFileAtomic(
      cacheFile(cacheDir),
      JSON.stringify({ schema_version: CACHE_SCHEMA_VERSION, key, raw, ...validated }),
    );
  } catch {
    // The cache is an optimisation; the config itself was read fine.
  }
}

function sameKey(a: Partial<ConfigFingerprint> | undefined, b: ConfigFingerprint): boolean {
  return (
    a !== undefined &&
    a.path === b.path &&
    a.size === b.size &&
    a.mtimeMs === b.mtimeMs &&
    a.ctimeMs === b.ctimeMs &&
    a.ino === b.ino
  );
}

/**
 * How a referenced variable is remembered: by a short non-cryptographic digest of its value for
 * ordinary settings (a change must be seen), by presence only for secrets (never their value).
 */
export function variablePrint(value: string | undefined, secret: boolean): string {
  if (secret) return `presence:${value === undefined ? 'unset' : value === '' ? 'empty' : 'set'}`;
  if (value === undefined) return 'unset';
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `fnv1a:${(hash >>> 0).toString(16)}:${value.length}`;
}
