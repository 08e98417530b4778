/**
 * "Works alone, says so once, rejoins": a worker whose Redis fails says so one time, goes on
 * acquiring its own tokens, and says once more when Redis answers again. Each other trouble
 * (an entry it cannot trust) is said once per fleet, not once per call.
 */
import type { Logger } from '../log.js';
import { safeText } from '../text.js';

export class FleetHealth {
  readonly #display: string;
  readonly #log: Logger;
  #alone = false;
  readonly #said = new Set<string>();

  constructor(display: string, log: Logger) {
    this.#display = display;
    this.#log = log;
  }

  /** Whether the last Redis step failed. */
  get alone(): boolean {
    return this.#alone;
  }

  down(error: unknown): void {
    if (this.#alone) return;
    this.#alone = true;
    this.#log.warn(
      `fleet: ${this.#display} did not answer (${reason(error)}); acquiring tokens alone until it does`,
    );
  }

  up(): void {
    if (!this.#alone) return;
    this.#alone = false;
    this.#log.warn(`fleet: ${this.#display} answers again; sharing tokens with the fleet`);
  }

  /** Says `message` the first time `kind` happens. */
  note(kind: string, message: string): void {
    if (this.#said.has(kind)) return;
    this.#said.add(kind);
    this.#log.warn(`fleet: ${message}`);
  }
}

/** The error's first line, cut short and made safe; Redis's words (WRONGPASS, ECONNREFUSED). */
export function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const first = safeText(message.split('\n')[0] ?? '', 160);
  return first || 'no answer';
}
