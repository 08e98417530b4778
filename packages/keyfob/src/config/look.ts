/**
 * One synchronous look at the config file and the parsed-config cache (`cache/config.json`):
 * the token fast path asks two questions of them (is the token in the file store? may the keyfob
 * agent answer?), and the agent's fingerprint a third. Each `stat` and read costs a cold
 * `keyfob token` its share, so they are made once and passed along.
 */
import { type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkPrivateDirSync, readFileNoFollowSync } from '../fs/sync.js';
import { cacheFile } from './cache.js';
import type { AppNames, Env } from './names.js';
import { resolveConfigPath, resolveHome } from './paths.js';

/** The config file and the cache's text, as one look saw them. */
export interface ConfigView {
  /** `null`: the file does not exist (an empty configuration). */
  stats: Stats | null;
  /** `null`: no cache, or one in a home (or cache folder) that is not private. */
  cacheText: string | null;
}

/**
 * Where a look was taken, and what it saw: made by {@link lookAtConfig}, which checked that the
 * home and its cache folder are private before it read the cache (a look made otherwise would
 * skip that check).
 */
export interface ConfigLook extends ConfigView {
  /** The app's home (`<PREFIX>_HOME`, else the XDG default). */
  home: string;
  /** The config file (`<PREFIX>_CONFIG`, else `config.yaml` in the home). */
  configPath: string;
}

/** One look at the config file and its cache; `null` when the file cannot be looked at. */
export function viewConfig(where: { home: string; configPath: string }): ConfigView | null {
  let stats: Stats;
  try {
    stats = statSync(where.configPath);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? { stats: null, cacheText: null } : null;
  }
  try {
    const cacheDir = join(where.home, 'cache');
    if (!checkPrivateDirSync(where.home) || !checkPrivateDirSync(cacheDir)) return { stats, cacheText: null };
    return { stats, cacheText: readFileNoFollowSync(cacheFile(cacheDir)) };
  } catch {
    return { stats, cacheText: null };
  }
}

/**
 * The default home and config file (no `--config` flag) as `env` names them, and one look at
 * them; `null` when the home cannot be told or the file cannot be looked at.
 */
export function lookAtConfig(names: AppNames, env: Env, homedir: string): ConfigLook | null {
  try {
    const home = resolveHome({ names, env, homedir });
    const configPath = resolveConfigPath({ names, env, home }).path;
    const view = viewConfig({ home, configPath });
    return view ? { home, configPath, ...view } : null;
  } catch {
    return null;
  }
}
