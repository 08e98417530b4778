/**
 * The `keychain` store: session secrets in the OS keychain, non-secret metadata in a file beside
 * it in the home.
 *
 * Layout, for profile P of the app whose keychain service is S:
 * - `<home>/keychain/P.json` (0600, directory 0700): `{ schema_version, profile, service,
 *   account_prefix, chunks, bytes, sha256, updated_at }`. No secret in it.
 * - keychain entries of service S, accounts `P/<generation>/<i>` for i < chunks: the session
 *   envelope `{ schema_version, profile, session }` as JSON, base64url-encoded, cut into pieces
 *   of at most {@link KEYCHAIN_CHUNK_CHARS} characters, stored as bytes. The smallest platform
 *   limit is Windows' 2,560 bytes per entry; macOS allows about 4 KB.
 * - `<home>/keychain/P.<generation>.pending` from the start of a write until its entries are
 *   committed and the replaced ones deleted: the generation being written and the one it
 *   replaces, so that whatever a crash or a stalled keychain leaves behind is deleted at a later
 *   write (one record per write, so an unfinished clean-up is never forgotten).
 *
 * A write puts the payload under a NEW generation, then commits by atomically replacing the
 * metadata file (temp file, fsync, rename): that rename is the compare-and-swap, so a reader,
 * or a process killed at any moment, sees the old or the new session whole. The entries of the
 * replaced generation are deleted after the commit, best effort. The commit point is a file, so
 * a keychain call that times out never leaves the store's state unknown: an unconfirmed entry
 * is read back before anything else is tried, and if that fails nothing is committed.
 *
 * Reading verifies the SHA-256 digest of the joined payload: corrupt metadata, or entries that
 * do not match it, are moved aside (`<profile>.json.corrupt-<timestamp>`) and reported once as
 * {@link StoreCorrupt}, never returned as a wrong session. Every keychain call has a time limit
 * (`keychain/keyring.ts`). The keychain itself is a {@link KeychainBackend} parameter (the OS
 * keychain by default), so a test backend runs this same code. The store does not lock:
 * callers hold the profile's lock around every read-modify-write, as with every store.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { AppNames } from '../config/names.js';
import { envVar } from '../config/names.js';
import { InvalidInput, StoreCorrupt, StoreUnavailable, UnsupportedSchemaVersion } from '../errors.js';
import {
  checkPrivateDir,
  ensurePrivateDir,
  errorCode,
  fsError,
  moveAside,
  PRIVATE_FILE_MODE,
  readFileNoFollow,
  syncDir,
  writeFileAtomic,
} from '../fs/secure.js';
import type { Session } from '../session.js';
import { isRecord } from '../shape.js';
import { SESSION_FILE_SCHEMA_VERSION } from './file.js';
import { type KeychainBackend, OsKeychainBackend, setVerified } from './keychain/backend.js';
import { recoverGenerations, removeGeneration, writePending } from './keychain/generations.js';
import { DEFAULT_KEYCHAIN_TIMEOUT_MS, randomHex } from './keychain/keyring.js';
import {
  type Generation,
  generationOf,
  inspectMetadata,
  KEYCHAIN_MAX_PAYLOAD_BYTES,
  KEYCHAIN_METADATA_SCHEMA_VERSION,
  type KeychainMetadata,
  METADATA_SUFFIX,
  READ_ATTEMPTS,
  sha256Hex,
  splitChunks,
  unlinkIfPresent,
} from './keychain/metadata.js';
import { readPayload } from './keychain/payload.js';
import { assertStorableSession, listProfileFiles, profileFilePath } from './profile-files.js';
import type { CredentialStore, StoreWriteOptions } from './store.js';

export type { KeychainBackend } from './keychain/backend.js';
export type { KeychainProbe } from './keychain/keyring.js';
export { DEFAULT_KEYCHAIN_TIMEOUT_MS, KeychainTimeout } from './keychain/keyring.js';
export type { KeychainMetadata } from './keychain/metadata.js';
export {
  KEYCHAIN_CHUNK_CHARS,
  KEYCHAIN_MAX_PAYLOAD_BYTES,
  KEYCHAIN_METADATA_SCHEMA_VERSION,
} from './keychain/metadata.js';
export { probeKeychain } from './keychain/probe.js';

/** Options of {@link KeychainStore}. */
export interface KeychainStoreOptions {
  /** keyfob's home directory; metadata goes to `<home>/keychain`. */
  home: string;
  /** The app's names: the keychain service, the CLI name and the environment prefix in messages. */
  names: AppNames;
  /** Time limit of one keychain call, in ms. Default 5000. */
  timeoutMs?: number;
  /**
   * The keychain itself: the OS keychain (`@napi-rs/keyring`) by default; the in-memory one of
   * `@keyfob/core/testing` in tests. The store's logic is the same for both.
   */
  backend?: KeychainBackend;
  /**
   * Keeps each profile's last payload in memory, keyed by the committed metadata file's text
   * (which names the generation and the payload's SHA-256): a read then costs one small file
   * read while no writer committed. For a long-lived process (the keyfob agent); off by default.
   */
  cacheReads?: boolean;
}

/** Sessions in the OS keychain; see the file comment for the layout and the commit protocol. */
export class KeychainStore implements CredentialStore {
  readonly kind = 'keychain' as const;
  /** Where the data lives, for messages: the keychain service and the metadata directory. */
  readonly location: string;
  /** The metadata directory, `<home>/keychain`. */
  readonly metadataDir: string;
  readonly #names: AppNames;
  readonly #backend: KeychainBackend;
  /** The service new entries go under (the app's `keychainService`). */
  readonly #service: string;
  /** Profile → the metadata text and the session JSON it committed (`cacheReads`). */
  readonly #reads: Map<string, { metadata: string; session: string }> | null;

  /** @throws InvalidInput when `home`, `names` or `timeoutMs` is not acceptable. */
  constructor(options: KeychainStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidInput('KeychainStore needs { home, names }');
    }
    const { home, names, timeoutMs = DEFAULT_KEYCHAIN_TIMEOUT_MS, backend } = options;
    if (typeof home !== 'string' || home.length === 0 || home.includes('\0')) {
      throw new InvalidInput('KeychainStore home must be a non-empty path');
    }
    if (!isRecord(names) || typeof names.keychainService !== 'string' || typeof names.app !== 'string') {
      throw new InvalidInput('KeychainStore needs the app names (appNames())');
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) {
      throw new InvalidInput('KeychainStore timeoutMs must be between 100 and 120000');
    }
    if (
      backend !== undefined &&
      (!isRecord(backend) ||
        typeof backend.get !== 'function' ||
        typeof backend.set !== 'function' ||
        typeof backend.remove !== 'function')
    ) {
      throw new InvalidInput('KeychainStore backend must have get, set and remove');
    }
    const resolvedHome = path.resolve(home);
    this.metadataDir = path.join(resolvedHome, 'keychain');
    this.#backend =
      backend ??
      new OsKeychainBackend({
        timeoutMs,
        hint: `unlock your keychain, or choose another store with token_storage in config.yaml or ${envVar(names, 'STORAGE')}`,
      });
    this.#service = names.keychainService;
    this.location = `${this.#backend.name}, service "${names.keychainService}" (metadata in ${this.metadataDir})`;
    this.#names = names;
    this.#reads = options.cacheReads === true ? new Map() : null;
  }

  /**
   * The metadata file of a profile.
   * @throws InvalidInput when the profile name is not acceptable.
   */
  metadataPath(profile: string): string {
    return profileFilePath(this.metadataDir, profile, METADATA_SUFFIX);
  }

  /**
   * @returns the profile's session, or `null` when none is stored.
   * @throws StoreCorrupt when the metadata or the keychain entries are damaged; the metadata
   *   file has been moved aside first, so the next read returns `null`.
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote it; it is left untouched.
   * @throws StoreUnavailable when the keychain cannot be reached or does not answer in time.
   */
  async read(profile: string): Promise<Session | null> {
    const file = this.metadataPath(profile);
    if (!(await checkPrivateDir(this.metadataDir))) return null;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const found = await inspectMetadata(file, profile);
      if (found.status === 'missing') return null;
      if (found.status === 'newer') throw this.#newer(file, found.version, KEYCHAIN_METADATA_SCHEMA_VERSION);
      let reason: string;
      if (found.status === 'corrupt') {
        reason = found.reason;
      } else {
        // A generation's payload never changes once committed: the same metadata, the same session.
        const kept = this.#reads?.get(profile);
        if (kept && kept.metadata === found.text) return JSON.parse(kept.session) as Session;
        const payload = await readPayload(this.#backend, profile, found.metadata);
        if (payload.status === 'ok') {
          this.#reads?.set(profile, { metadata: found.text, session: JSON.stringify(payload.session) });
          return payload.session;
        }
        if (payload.status === 'newer') {
          throw this.#newer(
            `The keychain entry of profile "${profile}"`,
            payload.version,
            SESSION_FILE_SCHEMA_VERSION,
          );
        }
        reason = payload.status === 'stale' ? 'its keychain entries are missing' : payload.reason;
      }
      // Readers do not lock: a writer may have committed (and swept the entries read about)
      // meanwhile. Only what was inspected is moved aside; a changed file is read again.
      if ((await readFileNoFollow(file)) !== found.text) continue;
      throw await this.#corrupt(profile, file, reason);
    }
    throw new StoreUnavailable(
      `The keychain session of profile "${profile}" kept changing while being read`,
      {
        hint: 'run the command again',
      },
    );
  }

  /**
   * Replaces the profile's session: the payload goes to the keychain under a new generation,
   * then the metadata file is replaced atomically (the commit), then the replaced generation is
   * deleted. A corrupt metadata file in the way is moved aside first, never overwritten.
   *
   * @param options.signal the held lock's signal: once aborted, nothing is committed.
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote the current metadata (untouched).
   * @throws InvalidInput when `session` does not have the shape of a session, or is too large.
   * @throws StoreUnavailable when the keychain cannot be reached or does not answer in time;
   *   the previous session is then still the committed one.
   */
  async write(profile: string, session: Session, options: StoreWriteOptions = {}): Promise<void> {
    const file = this.metadataPath(profile);
    assertStorableSession(profile, session);
    const envelope = { schema_version: SESSION_FILE_SCHEMA_VERSION, profile, session };
    const payload = new TextEncoder().encode(JSON.stringify(envelope));
    if (payload.length > KEYCHAIN_MAX_PAYLOAD_BYTES) {
      throw new InvalidInput(
        `The session of profile "${profile}" is ${payload.length} bytes; the keychain store takes at most ${KEYCHAIN_MAX_PAYLOAD_BYTES}`,
      );
    }
    options.signal?.throwIfAborted();
    await ensurePrivateDir(this.metadataDir, { within: path.dirname(this.metadataDir) });
    const current = await inspectMetadata(file, profile);
    if (current.status === 'newer') {
      throw this.#newer(file, current.version, KEYCHAIN_METADATA_SCHEMA_VERSION);
    }
    if (current.status === 'corrupt') await moveAside(file, new Date());
    const committed = current.status === 'ok' ? current.metadata : null;
    await recoverGenerations(this.#backend, this.metadataDir, profile, committed);

    const chunks = splitChunks(Buffer.from(payload).toString('base64url'));
    const next: Generation = {
      service: this.#service,
      account_prefix: `${profile}/${randomHex(8)}`,
      chunks: chunks.length,
    };
    // Written before any entry, so that a crash from here on leaves a record of its garbage.
    const pendingFile = await writePending(this.metadataDir, profile, {
      writing: next,
      replacing: committed ? generationOf(committed) : null,
    });
    for (const [index, chunk] of chunks.entries()) {
      if (options.signal?.aborted) {
        if (await removeGeneration(this.#backend, { ...next, chunks: index }))
          await unlinkIfPresent(pendingFile);
        options.signal.throwIfAborted();
      }
      // A keychain that failed or stalled here is not asked again now: the pending record
      // lets the next write clean up, instead of this one waiting out more time limits.
      await setVerified(
        this.#backend,
        next.service,
        `${next.account_prefix}/${index}`,
        new TextEncoder().encode(chunk),
      );
    }
    const metadata: KeychainMetadata = {
      schema_version: KEYCHAIN_METADATA_SCHEMA_VERSION,
      profile,
      ...next,
      bytes: payload.length,
      sha256: await sha256Hex(payload),
      updated_at: new Date().toISOString(),
    };
    const text = `${JSON.stringify(metadata, null, 2)}\n`;
    try {
      // The commit: after this rename readers see the new generation.
      await writeFileAtomic(file, text, { mode: PRIVATE_FILE_MODE, signal: options.signal });
    } catch (error) {
      // Nothing was committed (the lock was lost, or the file could not be written). Only this
      // write's own entries are deleted: with the lock lost, the pending file may be another
      // process's by now.
      if (await removeGeneration(this.#backend, next)) await unlinkIfPresent(pendingFile);
      throw error;
    }
    // What this process committed is what it will read next (cacheReads): the agent's own
    // refresh must not send its next request to the keychain.
    this.#reads?.set(profile, { metadata: text, session: JSON.stringify(session) });
    if (!committed || (await removeGeneration(this.#backend, generationOf(committed))))
      await unlinkIfPresent(pendingFile);
  }

  /**
   * Removes the profile's session: the metadata file first (the commit), then its keychain
   * entries, best effort.
   * @returns `false` when there was none.
   */
  async delete(profile: string): Promise<boolean> {
    const file = this.metadataPath(profile);
    if (!(await checkPrivateDir(this.metadataDir))) return false;
    const current = await inspectMetadata(file, profile);
    try {
      // unlink removes a planted symlink itself, never what it points at.
      await fsp.unlink(file);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw fsError(error, 'remove', file);
    }
    await syncDir(this.metadataDir);
    if (current.status === 'ok') await removeGeneration(this.#backend, generationOf(current.metadata));
    await recoverGenerations(this.#backend, this.metadataDir, profile, null);
    return true;
  }

  /** Profiles with committed metadata, sorted; moved-aside and temp files are not profiles. */
  async list(): Promise<string[]> {
    return listProfileFiles(this.metadataDir, METADATA_SUFFIX);
  }

  async #corrupt(profile: string, file: string, reason: string): Promise<StoreCorrupt> {
    const movedTo = await moveAside(file, new Date());
    return new StoreCorrupt(
      `The keychain session of profile "${profile}" (${file}) could not be read (${reason}); ` +
        `its metadata was moved to ${movedTo}`,
      movedTo,
      { hint: `run \`${this.#names.app} login --profile ${profile}\` to sign in again` },
    );
  }

  #newer(where: string, version: number, supported: number): UnsupportedSchemaVersion {
    return new UnsupportedSchemaVersion(
      `${where} was written by a newer version (schema_version ${version}; this one reads up to ` +
        `${supported}); it was left untouched`,
      { hint: `upgrade ${this.#names.app}, or use another profile` },
    );
  }
}
