// The Firebase Auth emulator (firebase-tools) for the test suite. It is ~300 MB and takes minutes
// to install, so it is no dependency of any package: this script installs it once into a cache
// folder outside the repository (`${XDG_CACHE_HOME:-~/.cache}/keyfob-test/firebase`) and prints
// the path of its `firebase` command. `.ci/run` calls it before `npm test`; the test setup calls
// `firebaseBin()` and fails loudly when the command is still missing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The pinned version (STACK.md). */
export const FIREBASE_TOOLS_VERSION = '15.34.2';

/** The cache folder the emulator is installed into. */
export function firebaseDir(env = process.env) {
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'keyfob-test', 'firebase');
}

/** The `firebase` command in the cache folder (it may not exist yet). */
export function firebaseBin(env = process.env) {
  return join(firebaseDir(env), 'node_modules', '.bin', 'firebase');
}

/** Installs firebase-tools into the cache folder unless it is there; returns the command's path. */
export function ensureFirebase(env = process.env) {
  const bin = firebaseBin(env);
  if (existsSync(bin)) return bin;
  const dir = firebaseDir(env);
  console.error(`installing firebase-tools@${FIREBASE_TOOLS_VERSION} into ${dir} (once; a few minutes)`);
  const result = spawnSync(
    'npm',
    ['install', '--prefix', dir, `firebase-tools@${FIREBASE_TOOLS_VERSION}`, '--no-audit', '--no-fund'],
    { stdio: 'inherit' },
  );
  if (result.status !== 0 || !existsSync(bin)) {
    throw new Error(`installing firebase-tools@${FIREBASE_TOOLS_VERSION} into ${dir} failed`);
  }
  return bin;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureFirebase());
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
