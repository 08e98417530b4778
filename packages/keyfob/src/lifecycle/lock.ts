/**
 * The cross-process lock that guards every read-modify-write of a profile (and of the state
 * file), whatever store the profile lives in.
 *
 * Built on proper-lockfile (an atomic `mkdir`, kept fresh by touching its mtime), with the
 * settings its defaults get wrong for us (see STACK.md): callers wait with backoff instead of
 * failing at once; a lock is stale only after 30 s without an update (its holder touches it
 * every 5 s), so a slow refresh on a loaded machine keeps it while a crashed holder's lock is
 * taken over; and a lost lock aborts the guarded write instead of throwing from a timer.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInput, LockTimeout } from '../errors.js';
import { ensurePrivateDir, errorCode, fsError } from '../fs/secure.js';
import { assertProfileName } from '../profile-name.js';

/** How long {@link withLock} waits for the lock before giving up, in milliseconds. */
export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
/**
 * A lock whose mtime is older than this is considered left by a crashed process and is taken
 * over. Network calls made under the lock must time out well under half of it.
 */
export const DEFAULT_LOCK_STALE_MS = 30_000;
/** How often the holder touches the lock to show it is alive. */
export const DEFAULT_LOCK_UPDATE_MS = 5_000;

const MIN_BACKOFF_MS = 10;
const MAX_BACKOFF_MS = 500;

/** Options of {@link withLock}. */
export interface LockOptions {
  /** Total time to wait for the lock, in ms; then {@link LockTimeout}. Default 60 000. */
  timeoutMs?: number;
  /** Age after which another process's lock counts as abandoned, in ms (≥ 2000). Default 30 000. */
  staleMs?: number;
  /** Interval at which the held lock is refreshed, in ms (1000 … staleMs / 2). Default 5000. */
  updateMs?: number;
  /** Stops waiting for the lock (not the guarded function) when aborted. */
  signal?: AbortSignal;
}

/** What the guarded function receives while it holds the lock. */
export interface HeldLock {
  /** The lock's path. */
  readonly path: string;
  /**
   * Aborted, with a {@link LockTimeout} as its reason, when the lock is lost (it went stale and
   * another process took it). Pass it to writes (`writeFileAtomic`, `FileStore.write`): they
   * check it at their commit point and throw instead of writing.
   */
  readonly signal: AbortSignal;
  /** Throws the {@link LockTimeout} that explains the loss when the lock is no longer held. */
  assertHeld(): void;
}

/** Chains same-path callers of this process: proper-lockfile would refuse them with ELOCKED. */
const inProcessQueues = new Map<string, Promise<void>>();

/**
 * The lock file of a profile: `<home>/locks/<profile>.lock`.
 *
 * @throws InvalidInput when the profile name is not acceptable.
 */
export function profileLockPath(home: string, profile: string): string {
  assertProfileName(profile);
  return path.join(resolveHome(home), 'locks', `${profile}.lock`);
}

/** The lock file of the state file: `<home>/locks/@state.lock` ('@' is never in a profile name). */
export function stateLockPath(home: string): string {
  return path.join(resolveHome(home), 'locks', '@state.lock');
}

/**
 * Runs `fn` while holding the lock at `lockPath`, against other processes and against other
 * calls in this process, and releases it afterwards whatever happens.
 *
 * The lock's directory is created 0700 when missing. Not re-entrant: calling `withLock` on the
 * same path from inside `fn` waits for itself and ends in {@link LockTimeout}.
 *
 * @returns what `fn` returns.
 * @throws LockTimeout when the lock stays taken for `timeoutMs`, or when it was lost while `fn`
 *   ran (then `fn`'s result is discarded: it may rest on data another process has changed).
 * @throws InvalidInput for a bad path or options.
 */
export async function withLock<T>(
  lockPath: string,
  fn: (lock: HeldLock) => T | Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const target = resolveLockPath(lockPath);
  const settings = resolveOptions(options);
  if (typeof fn !== 'function') throw new InvalidInput('withLock needs a function to run');
  const deadline = Date.now() + settings.timeoutMs;
  return inProcessTurn(target, deadline, settings, async () => {
    const held = await acquire(target, deadline, settings);
    try {
      const result = await fn(held.lock);
      held.lock.assertHeld();
      return result;
    } finally {
      await held.release();
    }
  });
}

interface Settings {
  timeoutMs: number;
  staleMs: number;
  updateMs: number;
  signal: AbortSignal | undefined;
}

async function inProcessTurn<T>(
  key: string,
  deadline: number,
  settings: Settings,
  run: () => Promise<T>,
): Promise<T> {
  const previous = inProcessQueues.get(key) ?? Promise.resolve();
  let finish!: () => void;
  const mine = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // Successors wait for `previous` too, even when this caller gives up early.
  const tail = previous.then(() => mine);
  inProcessQueues.set(key, tail);
  try {
    await waitWithDeadline(previous, key, deadline, settings);
    return await run();
  } finally {
    finish();
    if (inProcessQueues.get(key) === tail) inProcessQueues.delete(key);
  }
}

async function waitWithDeadline(turn: Promise<void>, key: string, deadline: number, settings: Settings) {
  const controller = new AbortController();
  const timer = sleep(Math.max(0, deadline - Date.now()), 'timeout' as const, {
    signal: settings.signal ? AbortSignal.any([settings.signal, controller.signal]) : controller.signal,
  });
  try {
    const winner = await Promise.race([turn.then(() => 'turn' as const), timer]);
    if (winner === 'timeout') throw lockTimeout(key, settings, 'another operation in this process');
  } catch (error) {
    settings.signal?.throwIfAborted();
    throw error;
  } finally {
    controller.abort();
    timer.catch(() => undefined);
  }
}

async function acquire(
  target: string,
  deadline: number,
  settings: Settings,
): Promise<{ lock: HeldLock; release: () => Promise<void> }> {
  await ensurePrivateDir(path.dirname(target));
  const lost = new AbortController();
  const onCompromised = (cause: Error) => {
    // proper-lockfile calls this from a timer: throwing here would crash the process mid-write.
    lost.abort(
      new LockTimeout(`Lost the lock ${target} while holding it (${cause.message})`, {
        cause,
        hint: 'another process took it over as stale, most likely because this one stalled: run the command again',
      }),
    );
  };
  // Loaded on first use: a cached token is read without any lock.
  const { default: lockfile } = await import('proper-lockfile');
  for (let attempt = 0; ; attempt++) {
    settings.signal?.throwIfAborted();
    try {
      const release = await lockfile.lock(target, {
        lockfilePath: target,
        realpath: false,
        retries: 0,
        // proper-lockfile's own takeover (stat, then rmdir) can remove the fresh lock another
        // waiter just took over, and two holders spend one refresh token: takeOverIfStale does it.
        stale: NEVER_STALE_MS,
        update: settings.updateMs,
        onCompromised,
      });
      return { lock: heldLock(target, lost.signal), release: () => release().catch(() => undefined) };
    } catch (error) {
      if (errorCode(error) !== 'ELOCKED') throw fsError(error, 'take the lock', target);
      if (await takeOverIfStale(target, settings.staleMs)) continue;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw lockTimeout(target, settings, 'another process');
      await sleep(Math.min(backoff(attempt), remaining), undefined, { signal: settings.signal });
    }
  }
}

/** What proper-lockfile is told: never take a lock over itself (see {@link takeOverIfStale}). */
const NEVER_STALE_MS = 2 ** 31 - 1;

/**
 * Removes a lock left by a crashed holder (not updated for `staleMs`), one waiter at a time:
 * the takeover itself is guarded by `<lock>.takeover` (an atomic mkdir), and the lock is looked
 * at again inside it, so a waiter that saw it stale a moment ago never removes the fresh lock
 * another waiter has taken since. A guard left by a crash mid-takeover goes after `staleMs` too.
 * @returns whether the lock was removed (the caller tries again at once).
 */
async function takeOverIfStale(target: string, staleMs: number): Promise<boolean> {
  const isStale = async (file: string) => {
    const stats = await stat(file).catch(() => null);
    return stats !== null && stats.mtimeMs < Date.now() - staleMs;
  };
  if (!(await isStale(target))) return false;
  const guard = `${target}.takeover`;
  try {
    await mkdir(guard, { mode: 0o700 });
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw fsError(error, 'take over the stale lock', target);
    if (await isStale(guard)) await rm(guard, { recursive: true, force: true });
    return false;
  }
  try {
    if (!(await isStale(target))) return false;
    await rm(target, { recursive: true, force: true });
    return true;
  } finally {
    await rm(guard, { recursive: true, force: true });
  }
}

function heldLock(target: string, signal: AbortSignal): HeldLock {
  return {
    path: target,
    signal,
    assertHeld: () => signal.throwIfAborted(),
  };
}

/** Exponential backoff with jitter, so waiting processes do not retry in lockstep. */
function backoff(attempt: number): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(attempt, 16));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function lockTimeout(target: string, settings: Settings, holder: string): LockTimeout {
  const seconds = Math.round(settings.timeoutMs / 100) / 10;
  return new LockTimeout(`Timed out after ${seconds} s waiting for the lock ${target}, held by ${holder}`, {
    hint:
      `wait for the other command to finish and run this one again; if none is running, the lock ` +
      `was left by a crash and is taken over ${settings.staleMs / 1000} s after its last update ` +
      `(or remove the directory '${target}')`,
  });
}

function resolveOptions(options: LockOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInput('withLock options must be an object');
  }
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const settings: Settings = {
    timeoutMs: options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    staleMs,
    updateMs: options.updateMs ?? Math.min(DEFAULT_LOCK_UPDATE_MS, staleMs / 2),
    signal: options.signal,
  };
  if (!Number.isFinite(settings.timeoutMs) || settings.timeoutMs < 0) {
    throw new InvalidInput('Lock timeoutMs must be a number of milliseconds ≥ 0');
  }
  // proper-lockfile silently clamps these; refusing says what actually happens.
  if (!Number.isFinite(staleMs) || staleMs < 2000) throw new InvalidInput('Lock staleMs must be ≥ 2000');
  if (!Number.isFinite(settings.updateMs) || settings.updateMs < 1000 || settings.updateMs > staleMs / 2) {
    throw new InvalidInput('Lock updateMs must be between 1000 and staleMs / 2');
  }
  return settings;
}

function resolveHome(home: unknown): string {
  if (typeof home !== 'string' || home.length === 0 || home.includes('\0')) {
    throw new InvalidInput('home must be a non-empty path');
  }
  return path.resolve(home);
}

function resolveLockPath(lockPath: unknown): string {
  if (typeof lockPath !== 'string' || lockPath.length === 0 || lockPath.includes('\0')) {
    throw new InvalidInput('lockPath must be a non-empty path');
  }
  return path.resolve(lockPath);
}
