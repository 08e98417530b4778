/**
 * File-system primitives for credential files.
 *
 * Credential files are 0600 in a 0700 directory, whatever the umask; a symlink planted where a
 * credential file or its directory belongs is refused rather than followed; every write is a
 * temp file in the same directory, fsynced and renamed, so a reader sees the old or the new
 * file whole; and damaged data is renamed aside, never overwritten.
 */
import { constants, promises as fsp, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput, isKeyfobError, StoreUnavailable, UnsafePath } from '../errors.js';
import { assertPermissions } from './ownership.js';

/** Mode of every directory keyfob creates for credentials. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of every credential or state file keyfob writes. */
export const PRIVATE_FILE_MODE = 0o600;

// O_NOFOLLOW is what makes "refuse a planted symlink" race-free: the kernel refuses, not a
// check made before the open. Platforms without it (Windows) get 0 and rely on the lstat.
export const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
// A FIFO planted at a credential path would block a plain open forever.
export const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/**
 * Creates `dir` and any missing parents (like `mkdir -p`) and makes sure it is fit to hold
 * credentials.
 *
 * Directories created here are chmod-ed to 0700 after creation, because `mkdir`'s mode is
 * filtered by the umask. Parents that already existed are left alone: they are the user's.
 *
 * `within` names the directory `dir` lives in when that one must be safe too (the home, for
 * `sessions/` and the other directories in it): it is checked first, so nothing is created or
 * written in a home another user could change.
 *
 * @throws UnsafePath when `dir` is a symlink or not a directory.
 * @throws InsecurePermissions when `dir` (or `within`) belongs to another user or others can
 *   write it.
 * @throws StoreUnavailable when the directory cannot be created.
 */
export async function ensurePrivateDir(dir: string, options: { within?: string } = {}): Promise<void> {
  const target = resolvePath(dir, 'dir');
  if (options.within !== undefined) await checkPrivateDir(options.within);
  if (await checkPrivateDir(target)) return;
  let firstCreated: string | undefined;
  try {
    firstCreated = await fsp.mkdir(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (error) {
    throw fsError(error, 'create the directory', target);
  }
  if (firstCreated !== undefined) await chmodCreated(firstCreated, target);
  // Re-check: something may have been planted between the first check and the mkdir.
  if (!(await checkPrivateDir(target))) {
    throw new StoreUnavailable(`The directory ${target} disappeared while it was being created`, {
      hint: 'run the command again',
    });
  }
}

/**
 * Checks an existing directory without creating it, for readers that must not create anything.
 *
 * @returns `false` when the directory does not exist, `true` when it exists and is safe.
 * @throws UnsafePath or InsecurePermissions as {@link ensurePrivateDir} does.
 */
export async function checkPrivateDir(dir: string): Promise<boolean> {
  const target = resolvePath(dir, 'dir');
  let stats: Stats;
  try {
    stats = await fsp.lstat(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw fsError(error, 'inspect the directory', target);
  }
  assertSafeDirStats(target, stats);
  return true;
}

/**
 * Replaces `filePath` atomically: a temp file in the same directory is created exclusively
 * (never following a symlink), given `mode` explicitly (the umask cannot widen it), written,
 * fsynced and renamed over the target; then the directory is fsynced so the rename survives a
 * crash. The temp file is removed on any failure.
 *
 * `signal` is checked right before the rename, the commit point: a caller whose lock was lost
 * passes the lock's signal, and the write throws instead of landing.
 *
 * @throws UnsafePath when `filePath` is a symlink or not a regular file.
 * @throws StoreUnavailable when the file cannot be written.
 */
export async function writeFileAtomic(
  filePath: string,
  data: string | Uint8Array,
  options: { mode?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const target = resolvePath(filePath, 'filePath');
  const mode = options.mode ?? PRIVATE_FILE_MODE;
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new InvalidInput(`Invalid file mode ${String(mode)}`);
  }
  await refuseNonRegular(target);
  options.signal?.throwIfAborted();
  const dir = path.dirname(target);
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomHex(6)}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW,
      mode,
    );
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    options.signal?.throwIfAborted();
    await fsp.rename(temp, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fsp.unlink(temp).catch(() => undefined);
    if (isKeyfobError(error) || options.signal?.aborted) throw error;
    throw fsError(error, 'write', target);
  }
  await syncDir(dir);
  await removeAbandonedTemps(dir, path.basename(target));
}

/** A temp file's name: `.<target>.<pid>.<12 hex>.tmp`. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;
/** Younger temp files may belong to a writer whose pid was just reused; leave them. */
const ABANDONED_AFTER_MS = 2000;

/**
 * Removes the temp files of `target` left by writers that died mid-write (SIGKILL, power loss):
 * they hold a whole credential record, so they must not linger. Only files whose writer's
 * process is gone and that are a little old are removed. Best effort: a failure changes nothing.
 */
async function removeAbandonedTemps(dir: string, target: string): Promise<void> {
  try {
    const now = Date.now();
    for (const name of await fsp.readdir(dir)) {
      const match = TEMP_NAME.exec(name);
      if (!match || match[1] !== target || processAlive(Number(match[2]))) continue;
      const file = path.join(dir, name);
      const stats = await fsp.lstat(file);
      if (stats.isFile() && now - stats.mtimeMs > ABANDONED_AFTER_MS) await fsp.unlink(file);
    }
  } catch {
    // Tidying up is not worth failing a write that already committed.
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM';
  }
}

/**
 * Reads a whole file as UTF-8 without following a symlink at its path.
 *
 * With `trusted`, the file must also be one only its owner can change
 * ({@link assertPermissions}): for the state file, whose contents keyfob acts on.
 *
 * @returns the contents, or `null` when the file does not exist.
 * @throws UnsafePath when the path is a symlink or not a regular file (a FIFO, a directory).
 * @throws InsecurePermissions when `trusted` and another user owns or can write the file.
 * @throws StoreUnavailable when the file exists but cannot be read.
 */
export async function readFileNoFollow(
  filePath: string,
  options: { trusted?: boolean } = {},
): Promise<string | null> {
  const target = resolvePath(filePath, 'filePath');
  let handle: FileHandle;
  try {
    handle = await fsp.open(target, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw fsError(error, 'read', target);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(target);
    if (options.trusted) assertPermissions(target, stats);
    return await handle.readFile('utf8');
  } catch (error) {
    if (isKeyfobError(error)) throw error;
    throw fsError(error, 'read', target);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Renames a damaged file to `<path>.corrupt-<UTC timestamp>` (e.g. `.corrupt-20261123T051800Z`),
 * adding `-1`, `-2`, … when that name is taken. An existing file is never overwritten: the new
 * name is claimed with `link`, which fails instead of replacing.
 *
 * @returns the path the data now lives at.
 * @throws StoreUnavailable when the file cannot be moved.
 */
export async function moveAside(filePath: string, now: Date): Promise<string> {
  const target = resolvePath(filePath, 'filePath');
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new InvalidInput('moveAside needs a valid Date');
  }
  const base = `${target}.corrupt-${compactTimestamp(now)}`;
  for (let n = 0; n < 1000; n++) {
    const candidate = n === 0 ? base : `${base}-${n}`;
    if (await renameNoClobber(target, candidate)) {
      await syncDir(path.dirname(target));
      return candidate;
    }
  }
  throw new StoreUnavailable(`Could not find a free name to move ${target} aside`, {
    hint: `remove old ${path.basename(target)}.corrupt-* files`,
  });
}

/**
 * Flushes a directory's entries (a rename or unlink in it) to disk. Best effort: some file
 * systems refuse to fsync a directory, and by then the operation itself has succeeded.
 */
export async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
    await handle.sync();
  } catch {
    // Durability is best effort here; correctness never depended on it.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** `20261123T051800Z`: sortable, and free of characters that need quoting in a shell. */
export function compactTimestamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

async function renameNoClobber(from: string, to: string): Promise<boolean> {
  try {
    await fsp.link(from, to);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') {
      throw fsError(error, 'move aside', from);
    }
    // No hard links on this file system: check, then rename. Callers hold the profile's lock,
    // so nobody else of ours races for the same name.
    if (await exists(to)) return false;
    try {
      await fsp.rename(from, to);
      return true;
    } catch (renameError) {
      throw fsError(renameError, 'move aside', from);
    }
  }
  try {
    await fsp.unlink(from);
  } catch (error) {
    // Another process moved the same file aside at the same moment: its bytes are in `to`.
    if (errorCode(error) !== 'ENOENT') throw fsError(error, 'move aside', from);
  }
  return true;
}

async function exists(target: string): Promise<boolean> {
  try {
    await fsp.lstat(target);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw fsError(error, 'inspect', target);
  }
}

async function refuseNonRegular(target: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await fsp.lstat(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw fsError(error, 'inspect', target);
  }
  if (stats.isSymbolicLink()) throw symlinkRefused(target);
  if (!stats.isFile()) throw notRegular(target);
}

/** Throws unless `stats` are those of a real directory only its owner can change. */
export function assertSafeDirStats(target: string, stats: Stats): void {
  if (stats.isSymbolicLink()) throw symlinkRefused(target);
  if (!stats.isDirectory()) {
    throw new UnsafePath(`${target} is not a directory`, {
      hint: `move it away and run the command again`,
    });
  }
  assertPermissions(target, stats);
}

async function chmodCreated(firstCreated: string, target: string): Promise<void> {
  const below = path.relative(firstCreated, target).split(path.sep).filter(Boolean);
  let current = firstCreated;
  for (const part of [null, ...below]) {
    if (part !== null) current = path.join(current, part);
    try {
      await fsp.chmod(current, PRIVATE_DIR_MODE);
    } catch (error) {
      throw fsError(error, 'set the mode of', current);
    }
  }
}

export function resolvePath(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.includes('\0')) {
    throw new InvalidInput(`${name} must be a non-empty path`);
  }
  return path.resolve(value);
}

function symlinkRefused(target: string): UnsafePath {
  return new UnsafePath(
    `${target} is a symbolic link; credentials are never read or written through a link`,
    {
      hint: `remove the link (rm '${target}') and run the command again`,
    },
  );
}

export function notRegular(target: string): UnsafePath {
  return new UnsafePath(`${target} is not a regular file`, {
    hint: `move it away and run the command again`,
  });
}

/** The `code` of a Node.js system error, if any. */
export function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/**
 * Turns a raw file-system error into a keyfob error whose message names the path: a symlink
 * loop from `O_NOFOLLOW` is a refused link, everything else means the store cannot be used.
 */
export function fsError(error: unknown, action: string, target: string): Error {
  if (isKeyfobError(error)) return error;
  const code = errorCode(error) ?? 'unknown error';
  if (code === 'ELOOP') return symlinkRefused(target);
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? `check the permissions of ${path.dirname(target)}`
      : code === 'ENOSPC' || code === 'EDQUOT'
        ? 'free some disk space'
        : code === 'EROFS'
          ? 'use a writable home directory'
          : undefined;
  return new StoreUnavailable(`Could not ${action} ${target} (${code})`, {
    cause: error,
    ...(hint ? { hint } : {}),
  });
}

/** Random hex for temporary names; the global WebCrypto loads only when a file is written. */
function randomHex(bytes: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}
