/**
 * The `--data FILE` persistence: one JSON document with the signing keys, the cookie keys and
 * every provider record, rewritten atomically (temp file, fsync, rename, mode 0600) shortly
 * after each change and once more on close.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { isSigningJwk, type SigningJwk } from './keys.js';
import type { StoredRecord } from './store.js';

/** The version this code writes; a file with a newer one is refused, never rewritten. */
export const DATA_SCHEMA_VERSION = 1;

/** Delay that folds a burst of changes (one token request writes several records) into one write. */
const SAVE_DELAY_MS = 25;

/** Everything a restart needs. */
export interface PersistedState {
  signingKeys: SigningJwk[];
  cookieKeys: string[];
  records: Record<string, StoredRecord>;
}

/** The data file exists but cannot be used; the message says which file and why. */
export class DataFileError extends Error {
  override name = 'DataFileError';
}

/** Reads the data file; undefined when it does not exist yet. */
export async function loadState(file: string): Promise<PersistedState | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DataFileError(`cannot read the dev-idp data file ${file}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DataFileError(
      `the dev-idp data file ${file} is not valid JSON; move it aside or pass another --data`,
    );
  }
  return parseState(parsed, file);
}

function parseState(value: unknown, file: string): PersistedState {
  const bad = (why: string) =>
    new DataFileError(`the dev-idp data file ${file} ${why}; move it aside or pass another --data`);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad('is not a JSON object');
  const doc = value as Record<string, unknown>;
  if (typeof doc.schema_version !== 'number') throw bad('has no schema_version');
  if (doc.schema_version > DATA_SCHEMA_VERSION) {
    throw new DataFileError(
      `the dev-idp data file ${file} has schema_version ${doc.schema_version}, newer than this dev-idp understands (${DATA_SCHEMA_VERSION}); upgrade keyfob or pass another --data`,
    );
  }
  const { signing_keys: keys, cookie_keys: cookies, records } = doc;
  if (!Array.isArray(keys) || !keys.every(isSigningJwk)) throw bad('has malformed signing_keys');
  if (!Array.isArray(cookies) || !cookies.every((key) => typeof key === 'string' && key.length > 0)) {
    throw bad('has malformed cookie_keys');
  }
  if (records === null || typeof records !== 'object' || Array.isArray(records))
    throw bad('has malformed records');
  const parsedRecords: Record<string, StoredRecord> = {};
  for (const [key, record] of Object.entries(records as Record<string, unknown>)) {
    if (!isStoredRecord(record)) throw bad(`has a malformed record ${JSON.stringify(key)}`);
    parsedRecords[key] = record;
  }
  return { signingKeys: keys, cookieKeys: cookies, records: parsedRecords };
}

function isStoredRecord(value: unknown): value is StoredRecord {
  if (value === null || typeof value !== 'object') return false;
  const { payload, expiresAt } = value as Record<string, unknown>;
  return (
    payload !== null &&
    typeof payload === 'object' &&
    !Array.isArray(payload) &&
    (expiresAt === null || typeof expiresAt === 'number')
  );
}

/** Writes the state to `file` atomically, readable by its owner only. */
export async function saveState(file: string, state: PersistedState): Promise<void> {
  const document = {
    schema_version: DATA_SCHEMA_VERSION,
    signing_keys: state.signingKeys,
    cookie_keys: state.cookieKeys,
    records: state.records,
  };
  const directory = path.dirname(file);
  await fsp.mkdir(directory, { recursive: true, mode: 0o700 });
  const temp = path.join(
    directory,
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  const handle = await fsp.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(document)}\n`, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fsp.rename(temp, file);
  } catch (error) {
    await fsp.rm(temp, { force: true });
    throw error;
  }
}

/** Debounced, serialized saving of the state. */
export interface Persister {
  /** Asks for a save soon. */
  schedule(): void;
  /** Saves now (after any save in progress) and waits for it. */
  flush(): Promise<void>;
  /** Flushes and stops; later schedules do nothing. */
  close(): Promise<void>;
}

/**
 * Saves `snapshot()` to `file` a moment after each `schedule()`. A failed write is reported to
 * `onError` and retried on the next change, so one full disk does not stop the server.
 */
export function createPersister(
  file: string,
  snapshot: () => PersistedState,
  onError: (error: Error) => void,
): Persister {
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  const write = (): Promise<void> => {
    chain = chain.then(() => saveState(file, snapshot())).catch((error: Error) => onError(error));
    return chain;
  };

  return {
    schedule() {
      if (closed || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void write();
      }, SAVE_DELAY_MS);
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        timer = undefined;
      }
      await write();
    },
    async close() {
      if (closed) return chain;
      await this.flush();
      closed = true;
    },
  };
}
