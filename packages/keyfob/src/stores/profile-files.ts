/**
 * What every store that keeps one file per profile shares: naming a profile's file, listing the
 * profiles in a directory, removing a profile's file, and refusing to store something that is
 * not a session.
 */
import { type Dirent, promises as fsp } from 'node:fs';
import path from 'node:path';
import { InvalidInput } from '../errors.js';
import { checkPrivateDir, errorCode, fsError, syncDir } from '../fs/secure.js';
import { assertProfileName, isProfileName } from '../profile-name.js';
import type { Session } from '../session.js';
import { sessionShapeProblem } from './file.js';

/**
 * `<dir>/<profile><suffix>`.
 * @throws InvalidInput when the profile name is not acceptable (so no name can leave `dir`).
 */
export function profileFilePath(dir: string, profile: string, suffix: string): string {
  assertProfileName(profile);
  return path.join(dir, `${profile}${suffix}`);
}

/** Profiles with a `<name><suffix>` file in `dir`, sorted; moved-aside and temp files are not profiles. */
export async function listProfileFiles(dir: string, suffix: string): Promise<string[]> {
  if (!(await checkPrivateDir(dir))) return [];
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, 'list', dir);
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => entry.name.slice(0, -suffix.length))
    .filter(isProfileName)
    .sort();
}

/** Removes one profile's file; `false` when there was none. */
export async function removeProfileFile(dir: string, file: string): Promise<boolean> {
  if (!(await checkPrivateDir(dir))) return false;
  try {
    // unlink removes a planted symlink itself, never what it points at.
    await fsp.unlink(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw fsError(error, 'remove', file);
  }
  await syncDir(dir);
  return true;
}

/** @throws InvalidInput when `session` does not have the shape of a session. */
export function assertStorableSession(profile: string, session: Session): void {
  const problem = sessionShapeProblem(session);
  if (problem)
    throw new InvalidInput(`Refusing to store an invalid session for profile "${profile}": ${problem}`);
}
