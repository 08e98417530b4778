/**
 * A cache of the parsed (not interpolated) config file, so that a cached `keyfob token` does
 * not load the YAML parser. An entry is used only while the file's size, mtime, ctime and inode
 * are those it was made from; it is written only after the config validated, and it holds the
 * text's structure before `${VAR}` substitution, so never a secret (literal secrets are refused).
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir, readFileNoFollow, writeFileAtomic } from '../fs/secure.js';

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

function cacheFile(cacheDir: string): string {
  return join(cacheDir, 'config.json');
}

/** The cached parse of the file with this fingerprint, or `undefined`. Never throws. */
export async function readCachedConfig(cacheDir: string, key: ConfigFingerprint): Promise<unknown> {
  try {
    const text = await readFileNoFollow(cacheFile(cacheDir));
    if (text === null) return undefined;
    const entry = JSON.parse(text) as {
      schema_version?: unknown;
      key?: Partial<ConfigFingerprint>;
      raw?: unknown;
    };
    if (entry.schema_version !== CACHE_SCHEMA_VERSION || !sameKey(entry.key, key)) return undefined;
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
): Promise<void> {
  try {
    await ensurePrivateDir(cacheDir);
    await writeFileAtomic(
      cacheFile(cacheDir),
      JSON.stringify({ schema_version: CACHE_SCHEMA_VERSION, key, raw }),
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
