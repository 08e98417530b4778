/**
 * Synchronous twins of `secure.ts`'s readers, for the token fast path
 * (`lifecycle/cached-token.ts`), which must not pay for loading `fs/promises`. They apply the
 * same checks: no symlink followed, directories and trusted files only their owner can change.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats } from 'node:fs';
import { isKeyfobError } from '../errors.js';
import { assertPermissions } from './ownership.js';
import {
  assertSafeDirStats,
  errorCode,
  fsError,
  notRegular,
  O_NOFOLLOW,
  O_NONBLOCK,
  resolvePath,
} from './secure.js';

/**
 * {@link checkPrivateDir} without a promise, for the token fast path, which must not pay for
 * loading `fs/promises`.
 */
export function checkPrivateDirSync(dir: string): boolean {
  const target = resolvePath(dir, 'dir');
  let stats: Stats;
  try {
    stats = lstatSync(target);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw fsError(error, 'inspect the directory', target);
  }
  assertSafeDirStats(target, stats);
  return true;
}

/** {@link readFileNoFollow} without a promise, for the token fast path. */
export function readFileNoFollowSync(filePath: string, options: { trusted?: boolean } = {}): string | null {
  const target = resolvePath(filePath, 'filePath');
  let fd: number;
  try {
    fd = openSync(target, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    throw fsError(error, 'read', target);
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw notRegular(target);
    if (options.trusted) assertPermissions(target, stats);
    return readFileSync(fd, 'utf8');
  } catch (error) {
    if (isKeyfobError(error)) throw error;
    throw fsError(error, 'read', target);
  } finally {
    closeSync(fd);
  }
}
