/**
 * Where a vendor's credentials file is, and whether it may be used there.
 *
 * DESIGN.md: a path under a directory another user could have made (`/tmp/<app>/`) is refused
 * when that directory is not the user's and private. The file's own directory must be the
 * user's, a real directory, and writable by nobody else (as keyfob's home). Every directory
 * above it must be the user's or root's and writable by nobody else, unless it is sticky (as
 * `/tmp`): there only its owner can rename what is in it, so a directory of the user's own in
 * it stays the user's. A missing directory is created 0700 by the first write.
 */
import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { InsecurePermissions, InvalidInput } from '../../errors.js';
import { assertPermissions, shellQuote } from '../../fs/ownership.js';
import { assertSafeDirStats, errorCode, fsError } from '../../fs/secure.js';

/**
 * The file's absolute path: the value of `pathEnv` in `env` when set, else `configured`, else
 * `fallback`; a leading `~` is `userHome`.
 *
 * @throws InvalidInput when the chosen value is not a usable path.
 */
export function resolveCredentialsPath(input: {
  configured: string | undefined;
  pathEnv: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  userHome: string;
  fallback: string;
}): string {
  const fromEnv = input.pathEnv ? input.env[input.pathEnv] : undefined;
  const chosen = fromEnv || input.configured || input.fallback;
  const source = fromEnv ? input.pathEnv : input.configured ? 'credentialsFile.path' : 'the default';
  if (typeof chosen !== 'string' || chosen.includes('\0')) {
    throw new InvalidInput(`${source}: not a usable path`);
  }
  const expanded =
    chosen === '~' || chosen.startsWith('~/') ? path.join(input.userHome, chosen.slice(1)) : chosen;
  if (!path.isAbsolute(expanded) && !fromEnv) {
    throw new InvalidInput(`credentialsFile.path must be absolute or start with ~/ (got a relative path)`);
  }
  const resolved = path.resolve(expanded);
  if (resolved === path.parse(resolved).root)
    throw new InvalidInput(`${source}: names a directory, not a file`);
  return resolved;
}

/**
 * Checks that `file` may hold credentials (see the file comment).
 *
 * @returns whether the file's directory exists.
 * @throws InsecurePermissions naming the directory and the fix when another user could change it.
 * @throws UnsafePath when the directory is a symlink or not a directory.
 */
export async function checkCredentialsLocation(file: string): Promise<boolean> {
  const dir = path.dirname(file);
  const own = await lstatOrNull(dir);
  if (own) assertSafeDirStats(dir, own);
  // From the nearest existing ancestor up to the root.
  let current = own ? path.dirname(dir) : dir;
  for (;;) {
    const stats = await statOrNull(current);
    if (stats) assertSafeAncestor(current, stats, file);
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return own !== null;
}

function assertSafeAncestor(dir: string, stats: Stats, file: string): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  if (stats.uid !== uid && stats.uid !== 0) {
    throw new InsecurePermissions(
      `${dir} belongs to another user (uid ${stats.uid}), who could replace the credentials file ${file}`,
      { hint: `keep the credentials file in a directory of your own (not a shared one such as /tmp)` },
    );
  }
  const sticky = (stats.mode & 0o1000) !== 0;
  if (sticky) return;
  try {
    assertPermissions(dir, stats, { allowRootOwner: true });
  } catch (error) {
    if (!(error instanceof InsecurePermissions)) throw error;
    throw new InsecurePermissions(
      `${error.message}: another user could replace the credentials file ${file}`,
      {
        hint: `run: chmod go-w ${shellQuote(dir)}, or keep the credentials file in a directory of your own`,
      },
    );
  }
}

async function lstatOrNull(target: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw fsError(error, 'inspect', target);
  }
}

async function statOrNull(target: string): Promise<Stats | null> {
  try {
    return await fsp.stat(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return null;
    throw fsError(error, 'inspect', target);
  }
}
