/**
 * What the `keyfob` process (never a library host) sets up before any command runs.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * undici parses HTTP with a WebAssembly build of llhttp. V8 compiles it twice: a quick baseline
 * (Liftoff) at once, then an optimized tier in the background, and Node waits for background
 * compiles before a process may exit: 250-400 ms after the output of every networked command,
 * for an optimization a short-lived CLI never profits from (`bench/cli-exit.ts` measures it).
 * Only the CLI's own process is changed; the library never touches its host's V8 flags.
 */
export function cliProcess(): void {
  setFlagsFromString('--liftoff-only');
}
