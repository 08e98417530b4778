/**
 * The keychain store's generations: deleting a generation's entries, the pending record written
 * before a generation's first entry, and the clean-up of what interrupted writes left behind.
 * Split from `../keychain.ts` (the store and its commit); everything here goes through a
 * {@link KeychainBackend}, so the OS keychain and the test keychain share it.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fsError, moveAside, PRIVATE_FILE_MODE, readFileNoFollow, writeFileAtomic } from '../../fs/secure.js';
import type { KeychainBackend } from './backend.js';
import {
  GENERATION,
  type Generation,
  PENDING_SUFFIX,
  type Pending,
  parsePending,
  unlinkIfPresent,
} from './metadata.js';

/** Deletes a generation's entries; `false` when the keychain stopped answering. */
export async function removeGeneration(backend: KeychainBackend, generation: Generation): Promise<boolean> {
  for (let index = 0; index < generation.chunks; index++) {
    try {
      await backend.remove(generation.service, `${generation.account_prefix}/${index}`);
    } catch {
      // A stalled or unreachable keychain would make every further call fail as slowly.
      return false;
    }
  }
  return true;
}

/** Records a write before its first entry, in `dir`; returns the record's path. */
export async function writePending(dir: string, profile: string, pending: Pending): Promise<string> {
  const generation = pending.writing.account_prefix.slice(profile.length + 1);
  const file = path.join(dir, `${profile}.${generation}${PENDING_SUFFIX}`);
  await writeFileAtomic(file, `${JSON.stringify(pending)}\n`, { mode: PRIVATE_FILE_MODE });
  return file;
}

/**
 * Deletes what interrupted writes left behind: for each pending record of the profile in `dir`,
 * the generations it names that are not `committed`; a record goes once its clean-up is done.
 * Best effort: a keychain that does not answer leaves the records for a later write.
 */
export async function recoverGenerations(
  backend: KeychainBackend,
  dir: string,
  profile: string,
  committed: Generation | null,
): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    throw fsError(error, 'list', dir);
  }
  const prefix = `${profile}.`;
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(PENDING_SUFFIX)) continue;
    if (!GENERATION.test(name.slice(prefix.length, -PENDING_SUFFIX.length))) continue;
    const file = path.join(dir, name);
    const text = await readFileNoFollow(file);
    if (text === null) continue;
    const pending = parsePending(text, profile);
    if (pending === null) {
      // Only bookkeeping, but moved aside like any damaged file rather than deleted.
      await moveAside(file, new Date());
      continue;
    }
    for (const generation of [pending.writing, pending.replacing]) {
      if (generation === null || generation.account_prefix === committed?.account_prefix) continue;
      if (!(await removeGeneration(backend, generation))) return;
    }
    await unlinkIfPresent(file);
  }
}
