/**
 * The store of `createKeyfob({ credentialsFile: { layout: 'single-json' | 'ini' } })`: every
 * profile's session in the vendor's one credentials file (DESIGN.md, Integrators, "File
 * layouts").
 *
 * Same rules as every store: the file is 0600 (its directory 0700 when keyfob creates it),
 * replaced atomically, never read or written through a symlink, and damaged data is moved
 * aside, never overwritten. Plus: every change to the file is made under the file's own lock
 * (`.<name>.lock` beside it), since every profile shares it; a profile's lock still guards its
 * refresh. Unknown sections, keys and comments stay as they were; no `schema_version` is added;
 * an unknown key never makes the file "corrupt".
 */
import { constants, promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInput, StoreCorrupt, StoreUnavailable } from '../../errors.js';
import {
  ensurePrivateDir,
  errorCode,
  fsError,
  moveAside,
  notRegular,
  O_NOFOLLOW,
  O_NONBLOCK,
  PRIVATE_FILE_MODE,
  writeFileAtomic,
} from '../../fs/secure.js';
import { withLock } from '../../lifecycle/lock.js';
import { assertProfileName, isProfileName } from '../../profile-name.js';
import type { Session } from '../../session.js';
import { assertStorableSession } from '../profile-files.js';
import type { CredentialStore, StoreWriteOptions } from '../store.js';
import {
  type EntryDefaults,
  entryProvider,
  entryToSession,
  type FieldMap,
  holdsCredentials,
  sessionKeys,
  sessionToEntry,
} from './fields.js';
import { type Layout, layoutOf, type ParsedFile } from './layouts.js';
import { checkCredentialsLocation } from './location.js';

/** A credentials file larger than this is refused, untouched: no vendor's file is near it. */
export const MAX_CREDENTIALS_FILE_BYTES = 1024 * 1024;

/** Options of {@link CredentialsFileStore}. */
export interface CredentialsFileStoreOptions {
  layout: 'single-json' | 'ini';
  /** The file's absolute path (see `resolveCredentialsPath`). */
  file: string;
  /** The complete field map (see `resolveFields`). */
  fields: FieldMap;
  /** The command users run, for messages. */
  cliName: string;
  /** The login command under the vendor's names (`acme auth signin`); `<cliName> login` by default. */
  loginCommand?: string;
  /** The provider of an entry that names none: `machine` for a client id and secret. */
  defaultProvider: (profile: string, machine: boolean) => Promise<string | null>;
  /** A provider's configured `resource` (what a token the vendor wrote is for), or `null`. */
  resourceOf: (provider: string) => Promise<string | null>;
  now: () => Date;
}

/** Every profile's session in one vendor credentials file. */
export class CredentialsFileStore implements CredentialStore {
  readonly kind = 'file' as const;
  /** The credentials file. */
  readonly location: string;
  readonly layout: 'single-json' | 'ini';
  readonly #options: CredentialsFileStoreOptions;
  readonly #format: Layout;

  constructor(options: CredentialsFileStoreOptions) {
    if (!path.isAbsolute(options.file))
      throw new InvalidInput('the credentials file must be an absolute path');
    this.location = options.file;
    this.layout = options.layout;
    this.#options = options;
    this.#format = layoutOf(options.layout);
  }

  /** The lock every change to the file is made under. */
  get lockPath(): string {
    return path.join(path.dirname(this.location), `.${path.basename(this.location)}.lock`);
  }

  /**
   * A profile's refreshes and logins are serialized beside the file, not in a home: the file may
   * be shared by homes (the vendor's CLI and its SDK). Not {@link lockPath}, which every write
   * takes inside this one.
   */
  async profileLockPath(profile: string): Promise<string> {
    assertProfileName(profile);
    if (!(await checkCredentialsLocation(this.location))) await ensurePrivateDir(path.dirname(this.location));
    return path.join(path.dirname(this.location), `.${path.basename(this.location)}.${profile}.lock`);
  }

  /**
   * @returns the profile's session, or `null` when the file has no usable entry for it.
   * @throws StoreCorrupt when the file cannot be parsed at all; it has been moved aside first.
   * @throws StoreUnavailable when the profile's section is repeated or the file is too large
   *   (the file is left untouched).
   */
  async read(profile: string): Promise<Session | null> {
    assertProfileName(profile);
    const parsed = await this.#load(profile);
    if (!parsed) return null;
    const entry = parsed.entry(profile, (line) => this.#repeated(profile, line));
    if (!entry) return null;
    const hint = entryProvider(entry, this.#options.fields);
    const provider = hint.named ?? (await this.#options.defaultProvider(profile, hint.machine));
    const defaults: EntryDefaults = {
      now: this.#options.now(),
      provider,
      resource: provider === null ? null : await this.#options.resourceOf(provider),
    };
    return entryToSession(entry, this.#options.fields, defaults);
  }

  /**
   * Sets the profile's entry to `session` under the file's lock: the vendor's keys it maps are
   * rewritten, every other key, entry and comment is kept.
   */
  async write(profile: string, session: Session, options: StoreWriteOptions = {}): Promise<void> {
    assertProfileName(profile);
    assertStorableSession(profile, session);
    const values = sessionToEntry(session, this.#options.fields, this.layout === 'ini');
    await this.#change(options.signal, (parsed) =>
      parsed.withEntry(profile, values, (line) => this.#repeated(profile, line)),
    );
  }

  /**
   * Forgets the profile's session: its tokens, refresh token, admin key and keyfob's own keys.
   * The tenant and a service principal's `client_id` and `client_secret` (a section holding
   * both) are the vendor's configuration and stay; an entry left with only such keys is no
   * longer listed, one left with nothing is removed.
   */
  async delete(profile: string): Promise<boolean> {
    assertProfileName(profile);
    if (!(await checkCredentialsLocation(this.location))) return false;
    let found = false;
    const repeated = (line: number) => this.#repeated(profile, line);
    await this.#change(undefined, (parsed) => {
      const entry = parsed.entry(profile, repeated);
      found = entry !== null;
      return entry ? parsed.withoutEntry(profile, sessionKeys(entry, this.#options.fields), repeated) : null;
    });
    return found;
  }

  /**
   * Profiles with an entry, sorted. A damaged file lists none and is left for a read to move
   * aside: a read's StoreCorrupt is what tells the user (once, through the journal).
   */
  async list(): Promise<string[]> {
    if (!(await checkCredentialsLocation(this.location))) return [];
    const bytes = await this.#readText();
    const parsed = bytes === null ? null : this.#format.parse(bytes);
    if (!parsed || 'problem' in parsed) return [];
    const fields = this.#options.fields;
    // A vendor's entry with no credentials (settings, a region) is not a profile.
    const usable = (name: string) => {
      try {
        const entry = parsed.entry(name, (line) => this.#repeated(name, line));
        return entry !== null && holdsCredentials(entry, fields);
      } catch {
        return true; // a repeated section: listed, so that reading it says what is wrong
      }
    };
    return parsed.names().filter(isProfileName).filter(usable).sort();
  }

  async #change(signal: AbortSignal | undefined, edit: (parsed: ParsedFile) => string | null): Promise<void> {
    const dirExisted = await checkCredentialsLocation(this.location);
    if (!dirExisted) await ensurePrivateDir(path.dirname(this.location));
    await withLock(this.lockPath, async (lock) => {
      const text = await this.#readText();
      let parsed = text === null ? this.#format.empty() : this.#format.parse(text);
      if ('problem' in parsed) {
        // Damaged data is never overwritten: it goes aside, and the new entry starts a new file.
        await moveAside(this.location, this.#options.now());
        parsed = this.#format.empty();
      }
      const next = edit(parsed);
      if (next === null) return;
      const signals = [lock.signal, ...(signal ? [signal] : [])];
      await writeFileAtomic(this.location, next, {
        mode: PRIVATE_FILE_MODE,
        signal: AbortSignal.any(signals),
      });
    });
  }

  /** The parsed file, `null` when missing; damaged text is moved aside (under the lock). */
  async #load(profile: string): Promise<ParsedFile | null> {
    if (!(await checkCredentialsLocation(this.location))) return null;
    const text = await this.#readText();
    if (text === null) return null;
    const parsed = this.#format.parse(text);
    if (!('problem' in parsed)) return parsed;
    return withLock(this.lockPath, async () => {
      // Another process may have repaired or moved it while this one waited.
      const again = await this.#readText();
      const reparsed = again === null ? null : this.#format.parse(again);
      if (reparsed === null || !('problem' in reparsed)) return reparsed;
      const movedTo = await moveAside(this.location, this.#options.now());
      const command = this.#options.loginCommand ?? `${this.#options.cliName} login`;
      const login = profile ? `${command} --profile ${profile}` : command;
      throw new StoreCorrupt(
        `The credentials file ${this.location} could not be read (${reparsed.problem}); it was moved to ${movedTo}`,
        movedTo,
        { hint: `run \`${login}\` to sign in again` },
      );
    });
  }

  /** The file's bytes, bounded; `null` when missing. Never through a symlink, never a FIFO. */
  async #readText(): Promise<Uint8Array | null> {
    let handle: FileHandle;
    try {
      handle = await fsp.open(this.location, constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      throw fsError(error, 'read', this.location);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw notRegular(this.location);
      if (stats.size > MAX_CREDENTIALS_FILE_BYTES) {
        throw new StoreUnavailable(
          `The credentials file ${this.location} is ${stats.size} bytes, more than the ${MAX_CREDENTIALS_FILE_BYTES} a credentials file may be; it was left untouched`,
          {
            hint: `check what wrote it, then move it away and run \`${this.#options.loginCommand ?? `${this.#options.cliName} login`}\``,
          },
        );
      }
      const bytes = await handle.readFile();
      if (bytes.length > MAX_CREDENTIALS_FILE_BYTES)
        throw new StoreUnavailable(`The credentials file ${this.location} grew while it was read`);
      return bytes;
    } catch (error) {
      if (error instanceof StoreUnavailable || error instanceof InvalidInput) throw error;
      throw fsError(error, 'read', this.location);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  #repeated(profile: string, line: number): never {
    throw new StoreUnavailable(
      `The credentials file ${this.location} has more than one [${profile}] section (again at line ${line}); which one is the profile's cannot be told, so the file was left untouched`,
      { hint: `remove one of the [${profile}] sections from ${this.location}` },
    );
  }
}
