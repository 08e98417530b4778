/**
 * Holding SIGINT, SIGTERM and SIGHUP from sending a refresh or login request until its result
 * is committed to the store (DESIGN.md, Security rules). A rotating provider spends the old
 * refresh token the moment it answers; a process that dies before the write loses the new one,
 * and the old one, sent again, revokes the whole grant.
 *
 * While at least one critical section is open, a handler is installed for each of these signals
 * that nothing else in the process handles. The first one received is remembered and a line says
 * so; when the last section closes, the handlers are removed and the signal is raised again, so
 * the process ends the way it would have (killed by that signal: same exit status, same
 * behaviour for a parent shell). A second signal while held removes the handlers and raises it
 * at once: the person insisted, and is told what may be lost.
 *
 * Library users: a signal the application already listens to is left alone. Node does not end
 * a process for a signal that has a listener, so the application's own handler runs as before
 * and decides; one that exits at once can still cut a refresh short. Only processes that would
 * have died on the spot get the delay, bounded by the request's own timeout. Listeners of
 * `signal-exit` (loaded by proper-lockfile, which keyfob's locks use) do not count as the
 * application's: they act only when no other listener is left, to run exit hooks and re-raise
 * the signal, so the process still dies of it, and they do exactly that after our re-raise.
 */

/** The signals held; SIGKILL cannot be caught (see README: the provider's reuse grace window). */
export const HELD_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type HeldSignal = (typeof HELD_SIGNALS)[number];

/** One open critical section. */
export interface CriticalSection {
  /** Closes the section (idempotent); the last one to close re-raises a held signal. */
  release(): void;
}

/** What a critical section tells the person when a signal arrives. */
export interface CriticalSectionOptions {
  /** What is being finished, for the notice: "the token refresh of profile default". */
  what: string;
  /** What a second signal may cost, with the command that repairs it. */
  lost: string;
  /** Prefix of the notice lines (the command's name). */
  prefix?: string;
  /** Where the notices go; stderr by default. */
  write?: (line: string) => void;
}

interface Open {
  options: CriticalSectionOptions;
}

const open = new Set<Open>();
const installed = new Map<HeldSignal, () => void>();
let held: HeldSignal | null = null;

/**
 * Opens a critical section: until {@link CriticalSection.release}, SIGINT, SIGTERM and SIGHUP
 * that would end the process are held.
 */
export function holdSignals(options: CriticalSectionOptions): CriticalSection {
  const entry: Open = { options };
  open.add(entry);
  for (const signal of HELD_SIGNALS) {
    if (installed.has(signal) || process.listenerCount(signal) > deferringListeners()) continue;
    const handler = () => onSignal(signal);
    installed.set(signal, handler);
    process.on(signal, handler);
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      open.delete(entry);
      if (open.size === 0) uninstallAndRaise();
    },
  };
}

/** Runs `fn` inside a critical section. */
export async function withSignalsHeld<T>(options: CriticalSectionOptions, fn: () => Promise<T>): Promise<T> {
  const section = holdSignals(options);
  try {
    return await fn();
  } finally {
    section.release();
  }
}

/**
 * How many listeners of each signal belong to `signal-exit` (v3 keeps its emitter on `process`,
 * v4 on `globalThis`); each copy adds one per signal and acts only when it is alone.
 */
function deferringListeners(): number {
  const v3 = (process as { __signal_exit_emitter__?: { count?: unknown } }).__signal_exit_emitter__;
  const v4 = (globalThis as Record<symbol, { count?: unknown } | undefined>)[
    Symbol.for('signal-exit emitter')
  ];
  const count = (e: { count?: unknown } | undefined) => (typeof e?.count === 'number' ? e.count : 0);
  return count(v3) + count(v4);
}

function onSignal(signal: HeldSignal): void {
  const sections = [...open];
  const say = (text: string) => {
    const options = sections[0]?.options;
    const line = `${options?.prefix ?? 'keyfob'}: ${text}`;
    (options?.write ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  };
  if (held === null) {
    held = signal;
    const what = sections.map((s) => s.options.what).join(', ');
    say(`${signal} received; finishing ${what} first, then stopping (send it again to stop now)`);
    return;
  }
  const lost = [...new Set(sections.map((s) => s.options.lost))].join('; ');
  say(`${signal} again: stopping now. ${lost}`);
  held = signal;
  open.clear();
  uninstallAndRaise();
}

function uninstallAndRaise(): void {
  for (const [signal, handler] of installed) process.removeListener(signal, handler);
  installed.clear();
  const signal = held;
  held = null;
  if (!signal) return;
  const left = process.listenerCount(signal);
  if (left > 0 && left <= deferringListeners()) {
    // Only signal-exit is left. A signal sent now would reach it through the event loop, which
    // a process about to finish may never turn again; handed over at once, it runs its exit
    // hooks, lets go of the signal and re-raises it, and the process dies of it.
    process.emit(signal, signal);
  }
  // With our listener gone, the default action (or the application's own listener) applies.
  process.kill(process.pid, signal);
}
