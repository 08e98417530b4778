/**
 * The records behind the provider: every token, code, grant, session and interaction, keyed by
 * model and id, each with its own expiry.
 *
 * Plain maps and linear scans: a dev server holds a few hundred records at most. Reads hand out
 * copies so that nothing outside can change a record without `set` (and so without a save).
 */

/** One stored record as it is kept and persisted. */
export interface StoredRecord {
  payload: Record<string, unknown>;
  /** Milliseconds since the epoch, or null for "until deleted". */
  expiresAt: number | null;
}

/** The provider's artifacts by `Model:id`. */
export class RecordStore {
  readonly #records = new Map<string, StoredRecord>();
  readonly #onChange: () => void;

  /** `onChange` runs after every mutation (the data file uses it to schedule a save). */
  constructor(initial: Iterable<[string, StoredRecord]>, onChange: () => void = () => {}) {
    for (const [key, record] of initial) this.#records.set(key, record);
    this.#onChange = onChange;
  }

  /** A copy of the live payload of `model:id`, or undefined when absent or expired. */
  get(model: string, id: string): Record<string, unknown> | undefined {
    const record = this.#live(keyOf(model, id));
    return record ? structuredClone(record.payload) : undefined;
  }

  /** Stores a payload; `expiresInSeconds` undefined means it lives until deleted. */
  set(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds?: number): void {
    const expiresAt = typeof expiresInSeconds === 'number' ? Date.now() + expiresInSeconds * 1000 : null;
    this.#records.set(keyOf(model, id), { payload: structuredClone(payload), expiresAt });
    this.#onChange();
  }

  /** Changes a live record in place (keeping its expiry); false when there is none. */
  update(model: string, id: string, change: (payload: Record<string, unknown>) => void): boolean {
    const record = this.#live(keyOf(model, id));
    if (!record) return false;
    change(record.payload);
    this.#onChange();
    return true;
  }

  delete(model: string, id: string): void {
    if (this.#records.delete(keyOf(model, id))) this.#onChange();
  }

  /** Id and a copy of the first live record of `model` whose payload matches. */
  find(
    model: string,
    matches: (payload: Record<string, unknown>) => boolean,
  ): { id: string; payload: Record<string, unknown> } | undefined {
    for (const [id, payload] of this.#liveOf(model)) {
      if (matches(payload)) return { id, payload: structuredClone(payload) };
    }
    return undefined;
  }

  /** Deletes every record of `model` whose payload matches; returns how many went. */
  deleteWhere(model: string, matches: (payload: Record<string, unknown>) => boolean): number {
    let deleted = 0;
    for (const [id, payload] of this.#liveOf(model)) {
      if (matches(payload)) {
        this.#records.delete(keyOf(model, id));
        deleted += 1;
      }
    }
    if (deleted) this.#onChange();
    return deleted;
  }

  /** Every live record, for the data file. */
  snapshot(): Record<string, StoredRecord> {
    const out: Record<string, StoredRecord> = {};
    for (const key of [...this.#records.keys()]) {
      const record = this.#live(key);
      if (record) out[key] = record;
    }
    return out;
  }

  #live(key: string): StoredRecord | undefined {
    const record = this.#records.get(key);
    if (!record) return undefined;
    if (record.expiresAt !== null && record.expiresAt <= Date.now()) {
      this.#records.delete(key);
      return undefined;
    }
    return record;
  }

  *#liveOf(model: string): Generator<[string, Record<string, unknown>]> {
    const prefix = `${model}:`;
    for (const key of [...this.#records.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const record = this.#live(key);
      if (record) yield [key.slice(prefix.length), record.payload];
    }
  }
}

function keyOf(model: string, id: string): string {
  return `${model}:${id}`;
}
