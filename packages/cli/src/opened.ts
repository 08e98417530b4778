/**
 * The keyfob instances this command line opened, so that `main.ts` can close their idle
 * connections when the command is done (keep-alive sockets would hold the process open for
 * seconds). Imports nothing: `main.ts` loads it before knowing which command runs.
 */

/** Anything with connections to close. */
export interface Closable {
  close(): Promise<void>;
}

const opened = new Set<Closable>();

/** Remembers an instance; returns it. */
export function track<T extends Closable>(instance: T): T {
  opened.add(instance);
  return instance;
}

/** Closes every tracked instance; a failure to close is not the command's failure. */
export async function closeOpened(): Promise<void> {
  const all = [...opened];
  opened.clear();
  await Promise.allSettled(all.map((instance) => instance.close()));
}
