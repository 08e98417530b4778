/**
 * What was moved aside, kept until the person has been told (DESIGN.md, Stores: "the user is
 * told once what happened and what to run; a corrupt entry never takes other profiles with it").
 *
 * A store moves a corrupt entry aside on whatever read meets it first, which may be a command
 * about another profile, a library call, or `logout --all`, whose caller may show nothing. So
 * every move is written to `<home>/moved-aside.json` (0600; no secrets: profile names, paths,
 * reasons). `status` tells each entry once and marks it told; a later `token --profile P`
 * still says where P's session went instead of a bare "not logged in"; a new login of P
 * forgets P's entries.
 */
import path from 'node:path';
import { StoreCorrupt } from '../errors.js';
import {
  checkPrivateDir,
  moveAside,
  PRIVATE_FILE_MODE,
  readFileNoFollow,
  writeFileAtomic,
} from '../fs/secure.js';
import { withLock } from '../lifecycle/lock.js';
import type { Session } from '../session.js';
import { isRecord } from '../shape.js';
import type { CredentialStore, StoreWriteOptions } from './store.js';

const JOURNAL_SCHEMA_VERSION = 1;

/** One move of a corrupt session. */
export interface MovedAside {
  profile: string;
  /** Where the damaged data now is. */
  moved_to: string;
  /** What the store said: what could not be read, why, where it went, what to run. */
  message: string;
  /** ISO 8601 UTC. */
  at: string;
  /** True once `status` has shown it. */
  told: boolean;
}

function journalPath(home: string): string {
  return path.join(path.resolve(home), 'moved-aside.json');
}

function lockPath(home: string): string {
  // '@' is never in a profile name, so this lock cannot collide with a profile's.
  return path.join(path.resolve(home), 'locks', '@moved-aside.lock');
}

async function readJournal(home: string): Promise<MovedAside[]> {
  if (!(await checkPrivateDir(path.resolve(home)))) return [];
  const file = journalPath(home);
  const text = await readFileNoFollow(file);
  if (text === null) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    if (
      isRecord(parsed) &&
      parsed.schema_version === JOURNAL_SCHEMA_VERSION &&
      Array.isArray(parsed.entries)
    ) {
      return parsed.entries.filter(isEntry);
    }
  } catch {
    // Falls through: a damaged journal is moved aside like any other file, never rewritten.
  }
  await moveAside(file, new Date());
  return [];
}

function isEntry(value: unknown): value is MovedAside {
  return (
    isRecord(value) &&
    typeof value.profile === 'string' &&
    typeof value.moved_to === 'string' &&
    typeof value.message === 'string' &&
    typeof value.at === 'string' &&
    typeof value.told === 'boolean'
  );
}

async function updateJournal<T>(home: string, fn: (entries: MovedAside[]) => T): Promise<T> {
  return withLock(lockPath(home), async () => {
    const entries = await readJournal(home);
    const before = JSON.stringify(entries);
    const result = fn(entries);
    if (JSON.stringify(entries) !== before) {
      const text = `${JSON.stringify({ schema_version: JOURNAL_SCHEMA_VERSION, entries }, null, 2)}\n`;
      await writeFileAtomic(journalPath(home), text, { mode: PRIVATE_FILE_MODE });
    }
    return result;
  });
}

/** Records that a profile's session was moved aside. */
export function recordMovedAside(
  home: string,
  error: StoreCorrupt,
  profile: string,
  now: Date,
): Promise<void> {
  return updateJournal(home, (entries) => {
    entries.push({
      profile,
      moved_to: error.movedTo,
      message: error.message,
      at: now.toISOString(),
      told: false,
    });
  });
}

/** The moves not told yet, oldest first; they count as told from now on. */
export async function tellMovedAside(home: string): Promise<MovedAside[]> {
  // Most homes have nothing to tell: look before taking the lock.
  if (!(await readJournal(home)).some((e) => !e.told)) return [];
  return updateJournal(home, (entries) => {
    const untold = entries.filter((e) => !e.told);
    for (const e of untold) e.told = true;
    return untold.map((e) => ({ ...e, told: false }));
  });
}

/** The latest move of a profile's session, told or not; `null` when there was none. */
export async function movedAsideOf(home: string, profile: string): Promise<MovedAside | null> {
  try {
    return (await readJournal(home)).filter((e) => e.profile === profile).at(-1) ?? null;
  } catch {
    return null;
  }
}

/** Forgets a profile's moves (it was logged in again). */
export async function forgetMovedAside(home: string, profile: string): Promise<void> {
  if (!(await readJournal(home)).some((e) => e.profile === profile)) return;
  return updateJournal(home, (entries) => {
    const kept = entries.filter((e) => e.profile !== profile);
    entries.splice(0, entries.length, ...kept);
  });
}

/**
 * A store whose reads record every move of a corrupt session in the journal before the
 * {@link StoreCorrupt} goes on to the caller.
 */
export function recordingMoves(store: CredentialStore, home: string, now: () => Date): CredentialStore {
  return {
    kind: store.kind,
    get location() {
      return store.location;
    },
    async read(profile: string): Promise<Session | null> {
      try {
        return await store.read(profile);
      } catch (error) {
        if (error instanceof StoreCorrupt) {
          // The move already happened; failing to note it must not hide the store's own error.
          await recordMovedAside(home, error, profile, now()).catch(() => undefined);
        }
        throw error;
      }
    },
    write: (profile: string, session: Session, options?: StoreWriteOptions) =>
      store.write(profile, session, options),
    delete: (profile: string) => store.delete(profile),
    list: () => store.list(),
    ...(store.profileLockPath ? { profileLockPath: store.profileLockPath.bind(store) } : {}),
  };
}
