import path from 'node:path';
import { type AppNames, type Env, envVar, readEnvVar } from '../config/names.js';
import { InvalidInput, StoreCorrupt, StoreUnavailable, UnsupportedSchemaVersion } from '../errors.js';
import {
  checkPrivateDir,
  ensurePrivateDir,
  moveAside,
  PRIVATE_FILE_MODE,
  readFileNoFollow,
  writeFileAtomic,
} from '../fs/secure.js';
import type { Session } from '../session.js';
import { isRecord } from '../shape.js';
import {
  DEFAULT_SCRYPT_WORK_FACTOR,
  type IdentityKeeper,
  isNoIdentityMatched,
  loadAge,
  readIdentityFile,
  type UnlockedIdentity,
  unlockPassphraseIdentity,
} from './age/identity.js';
import { innerSession, newerVersion, SESSION_FILE_SCHEMA_VERSION } from './file.js';
import {
  assertStorableSession,
  listProfileFiles,
  profileFilePath,
  removeProfileFile,
} from './profile-files.js';
import type { CredentialStore, StoreWriteOptions } from './store.js';

export { DEFAULT_SCRYPT_WORK_FACTOR } from './age/identity.js';

const SESSION_FILE_SUFFIX = '.age';
// A reader racing a writer may see a file replaced between two looks at it: it reads again.
const READ_ATTEMPTS = 4;

/** What a passphrase prompt is asked for. */
export interface PassphraseRequest {
  /** The file the passphrase protects (`<home>/identity.age`). */
  file: string;
  /** True when the file does not exist yet and the passphrase will create it (ask twice). */
  creating: boolean;
}

/** Options of {@link EncryptedFileStore}. */
export interface EncryptedFileStoreOptions {
  /** keyfob's home directory; sessions go to `<home>/encrypted`, the identity to `<home>/identity.age`. */
  home: string;
  /** The app's names: the `<PREFIX>_PASSPHRASE` variable and the CLI name in messages. */
  names: AppNames;
  /**
   * An age identity file (`AGE-SECRET-KEY-1…` lines, as `age-keygen` writes them). When given,
   * sessions are encrypted to it and no passphrase is used.
   */
  identityFile?: string | null;
  /** The passphrase of `<home>/identity.age`; default: `<PREFIX>_PASSPHRASE` from `env`. */
  passphrase?: string | null;
  /** Where `<PREFIX>_PASSPHRASE` is read; default `process.env`. */
  env?: Env;
  /**
   * Asks a person for the passphrase when neither `passphrase` nor the variable gives one;
   * called at most once per store, and only when a file has to be decrypted or created. Pass it
   * only when a person is there (the caller decides, e.g. a hidden terminal prompt).
   */
  promptPassphrase?: ((request: PassphraseRequest) => Promise<string>) | null;
  /** scrypt work factor (log2 N) of a new `identity.age`, 10–22. Default 18 (≈ 3 s). */
  scryptWorkFactor?: number;
  /** The login command under the vendor's names (`acme auth signin`); `<app> login` by default. */
  loginCommand?: string;
  /**
   * Keeps the unlocked passphrase identity between processes (the keyfob agent): asked first,
   * and handed the passphrase once one is known, so scrypt runs there once per unlock_timeout.
   */
  identityKeeper?: IdentityKeeper | null;
  /**
   * Keeps each profile's last decrypted session in memory, keyed by the file's armored text and
   * the identity: the same ciphertext under the same identity is the same session, so a read
   * costs a file read, not an X25519 decryption. For a long-lived process (the keyfob agent).
   */
  cacheReads?: boolean;
}

/** Options of {@link encryptedFileConfigured}. */
export interface EncryptedFileConfiguredOptions {
  names: AppNames;
  identityFile?: string | null;
  passphrase?: string | null;
  env?: Env;
}

/**
 * Whether the encrypted-file store has a key without asking anyone: an identity file, or a
 * passphrase (given, or in `<PREFIX>_PASSPHRASE`). This is what the default store choice means
 * by "a passphrase or identity is configured"; a possible prompt does not count.
 */
export function encryptedFileConfigured(options: EncryptedFileConfiguredOptions): boolean {
  const { names, identityFile, passphrase, env = process.env } = options;
  if (typeof identityFile === 'string' && identityFile.length > 0) return true;
  if (typeof passphrase === 'string' && passphrase.length > 0) return true;
  return readEnvVar(env, names, 'PASSPHRASE') !== undefined;
}

type Inspection =
  | { status: 'ok'; session: Session }
  | { status: 'corrupt'; reason: string }
  | { status: 'foreign' }
  | { status: 'newer'; version: number };

/** Sessions in age-encrypted files; see the file comment. */
export class EncryptedFileStore implements CredentialStore {
  readonly kind = 'encrypted-file' as const;
  /** The sessions directory, `<home>/encrypted`. */
  readonly location: string;
  /** `<home>/identity.age`, used when no identity file is given. */
  readonly identityPath: string;
  readonly #home: string;
  readonly #names: AppNames;
  readonly #loginCommand: string;
  readonly #identityFile: string | null;
  readonly #passphrase: string | null;
  readonly #prompt: ((request: PassphraseRequest) => Promise<string>) | null;
  readonly #scryptWorkFactor: number;
  readonly #keeper: IdentityKeeper | null;
  /** Profile → what {@link EncryptedFileStoreOptions.cacheReads} keeps. */
  readonly #reads: Map<string, { key: string; session: string }> | null;
  #identity: Promise<UnlockedIdentity> | undefined;
  #prompted: Promise<string> | undefined;

  /** @throws InvalidInput when an option is not acceptable. */
  constructor(options: EncryptedFileStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidInput('EncryptedFileStore needs { home, names }');
    }
    const { home, names, identityFile = null, passphrase = null, promptPassphrase = null } = options;
    const env = options.env ?? process.env;
    const scryptWorkFactor = options.scryptWorkFactor ?? DEFAULT_SCRYPT_WORK_FACTOR;
    if (typeof home !== 'string' || home.length === 0 || home.includes('\0')) {
      throw new InvalidInput('EncryptedFileStore home must be a non-empty path');
    }
    if (!isRecord(names) || typeof names.envPrefix !== 'string' || typeof names.app !== 'string') {
      throw new InvalidInput('EncryptedFileStore needs the app names (appNames())');
    }
    if (identityFile !== null && (typeof identityFile !== 'string' || identityFile.length === 0)) {
      throw new InvalidInput('identityFile must be a path');
    }
    if (passphrase !== null && typeof passphrase !== 'string') {
      throw new InvalidInput('passphrase must be a string');
    }
    if (promptPassphrase !== null && typeof promptPassphrase !== 'function') {
      throw new InvalidInput('promptPassphrase must be a function');
    }
    if (!Number.isInteger(scryptWorkFactor) || scryptWorkFactor < 10 || scryptWorkFactor > 22) {
      throw new InvalidInput('scryptWorkFactor must be an integer from 10 to 22');
    }
    this.#home = path.resolve(home);
    this.location = path.join(this.#home, 'encrypted');
    this.identityPath = path.join(this.#home, 'identity.age');
    this.#names = names;
    this.#loginCommand = options.loginCommand ?? `${names.app} login`;
    this.#identityFile = identityFile === null ? null : path.resolve(identityFile);
    this.#passphrase = passphrase || readEnvVar(env, names, 'PASSPHRASE') || null;
    this.#prompt = promptPassphrase;
    this.#scryptWorkFactor = scryptWorkFactor;
    this.#keeper = options.identityKeeper ?? null;
    this.#reads = options.cacheReads === true ? new Map() : null;
  }

  /**
   * The file a profile's session lives in.
   * @throws InvalidInput when the profile name is not acceptable.
   */
  sessionPath(profile: string): string {
    return profileFilePath(this.location, profile, SESSION_FILE_SUFFIX);
  }

  /**
   * @returns the profile's session, or `null` when none is stored (then no passphrase is asked).
   * @throws StoreCorrupt when the file cannot be decrypted or parsed; it has been moved aside.
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote it; it is left untouched.
   * @throws StoreUnavailable when there is no key, the passphrase is wrong, or the file was
   *   encrypted to another identity (all files are left untouched).
   * @throws UnsafePath when the file or the directory is a symlink.
   */
  async read(profile: string): Promise<Session | null> {
    const file = this.sessionPath(profile);
    if (!(await checkPrivateDir(this.location))) return null;
    for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
      const armored = await readFileNoFollow(file);
      if (armored === null) return null;
      const identity = await this.#unlock(false);
      if (identity === null) throw this.#identityMissing(profile);
      const key = `${identity.recipient}\n${armored}`;
      const kept = this.#reads?.get(profile);
      if (kept?.key === key) return JSON.parse(kept.session) as Session;
      const found = await this.#decrypt(armored, identity, profile);
      switch (found.status) {
        case 'ok':
          this.#reads?.set(profile, { key, session: JSON.stringify(found.session) });
          return found.session;
        case 'newer':
          throw this.#newer(file, found.version);
        case 'foreign':
          throw new StoreUnavailable(
            `The session of profile "${profile}" in ${file} was encrypted to another identity than ${identity.source}`,
            {
              hint:
                `use the identity it was written with, or run \`${this.#loginCommand} --profile ${profile}\` ` +
                'to replace it (the old file is kept beside it)',
            },
          );
        case 'corrupt': {
          // Readers do not lock: move aside only what was inspected, not a file committed meanwhile.
          if ((await readFileNoFollow(file)) !== armored) continue;
          const movedTo = await moveAside(file, new Date());
          throw new StoreCorrupt(
            `The stored session of profile "${profile}" in ${file} could not be read (${found.reason}); ` +
              `it was moved to ${movedTo}`,
            movedTo,
            { hint: `run \`${this.#loginCommand} --profile ${profile}\` to sign in again` },
          );
        }
      }
    }
    throw new StoreUnavailable(`The session of profile "${profile}" kept changing while being read`, {
      hint: 'run the command again',
    });
  }

  /**
   * Replaces the profile's session atomically (encrypt, temp file, fsync, rename). A file in its
   * place that is corrupt or encrypted to another identity is moved aside first, never
   * overwritten. The first write with a passphrase creates `<home>/identity.age`.
   *
   * @param options.signal the held lock's signal: once aborted, nothing is committed.
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote the current file (left untouched).
   * @throws InvalidInput when `session` does not have the shape of a session.
   * @throws StoreUnavailable when there is no key or the passphrase is wrong (nothing written).
   * @throws UnsafePath when the file or the directory is a symlink.
   */
  async write(profile: string, session: Session, options: StoreWriteOptions = {}): Promise<void> {
    const file = this.sessionPath(profile);
    assertStorableSession(profile, session);
    options.signal?.throwIfAborted();
    await ensurePrivateDir(this.location, { within: path.dirname(this.location) });
    const identity = await this.#unlock(true);
    if (identity === null) throw this.#identityMissing(profile);
    const armored = await readFileNoFollow(file);
    if (armored !== null) {
      const current = await this.#decrypt(armored, identity, profile);
      if (current.status === 'newer') throw this.#newer(file, current.version);
      if (current.status === 'corrupt' || current.status === 'foreign') await moveAside(file, new Date());
    }
    const age = await loadAge();
    const encrypter = new age.Encrypter();
    encrypter.addRecipient(identity.recipient);
    const envelope = { schema_version: SESSION_FILE_SCHEMA_VERSION, profile, session };
    const sealed = age.armor.encode(await encrypter.encrypt(JSON.stringify(envelope)));
    await writeFileAtomic(file, sealed, { mode: PRIVATE_FILE_MODE, signal: options.signal });
  }

  /** Removes the profile's session; `false` when there was none. Needs no key. */
  async delete(profile: string): Promise<boolean> {
    return removeProfileFile(this.location, this.sessionPath(profile));
  }

  /** Profiles with a session file, sorted; moved-aside and temp files are not profiles. Needs no key. */
  async list(): Promise<string[]> {
    return listProfileFiles(this.location, SESSION_FILE_SUFFIX);
  }

  /** The identity, unlocked once per store (and once per process for a passphrase). */
  async #unlock(create: boolean): Promise<UnlockedIdentity | null> {
    if (this.#identity) return this.#identity;
    if (!this.#identityFile && this.#keeper) {
      // Not remembered here: the keeper decides how long it stays unlocked (unlock_timeout).
      const kept = await this.#keeper.unlocked(this.identityPath);
      if (kept) return kept;
      if ((await readFileNoFollow(this.identityPath)) !== null) {
        try {
          const handed = await this.#keeper.unlock(this.identityPath, await this.#getPassphrase(false));
          if (handed) return handed;
        } catch (error) {
          // A wrong passphrase typed at the prompt is asked again next time, not reused.
          this.#prompted = undefined;
          throw error;
        }
      }
    }
    const pending = this.#identityFile
      ? readIdentityFile(this.#identityFile)
      : unlockPassphraseIdentity({
          file: this.identityPath,
          passphrase: () => this.#getPassphrase(create),
          create,
          lockPath: path.join(this.#home, 'locks', '@identity.lock'),
          scryptWorkFactor: this.#scryptWorkFactor,
          cliName: this.#names.app,
          loginCommand: this.#loginCommand,
          passphraseVar: envVar(this.#names, 'PASSPHRASE'),
        });
    let result: UnlockedIdentity | null;
    try {
      result = await pending;
    } catch (error) {
      // A wrong passphrase typed at the prompt is asked again next time, not reused.
      this.#prompted = undefined;
      throw error;
    }
    // Keep only a success: a missing file may be created later.
    if (result !== null) this.#identity = Promise.resolve(result);
    return result;
  }

  async #getPassphrase(creating: boolean): Promise<string> {
    if (this.#passphrase !== null) return this.#passphrase;
    const variable = envVar(this.#names, 'PASSPHRASE');
    if (!this.#prompt) {
      throw new StoreUnavailable('The encrypted-file store needs a passphrase or an age identity file', {
        hint: `set ${variable}, or configure an identity file, or choose another store with token_storage in config.yaml or ${envVar(this.#names, 'STORAGE')}`,
      });
    }
    const prompt = this.#prompt;
    this.#prompted ??= Promise.resolve()
      .then(() => prompt({ file: this.identityPath, creating }))
      .catch((error: unknown) => {
        this.#prompted = undefined;
        throw error;
      });
    return this.#prompted;
  }

  async #decrypt(armored: string, identity: UnlockedIdentity, profile: string): Promise<Inspection> {
    const age = await loadAge();
    let sealed: Uint8Array;
    try {
      sealed = age.armor.decode(armored);
    } catch {
      return { status: 'corrupt', reason: 'not an age-encrypted file' };
    }
    const decrypter = new age.Decrypter();
    for (const key of identity.identities) decrypter.addIdentity(key);
    let text: string;
    try {
      text = await decrypter.decrypt(sealed, 'text');
    } catch (error) {
      if (isNoIdentityMatched(error)) return { status: 'foreign' };
      return { status: 'corrupt', reason: 'it does not decrypt' };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { status: 'corrupt', reason: 'its content is not valid JSON' };
    }
    if (!isRecord(parsed)) return { status: 'corrupt', reason: 'its content is not a JSON object' };
    const version = newerVersion(parsed.schema_version, SESSION_FILE_SCHEMA_VERSION);
    if (version !== null) return { status: 'newer', version };
    if (parsed.schema_version !== SESSION_FILE_SCHEMA_VERSION) {
      return { status: 'corrupt', reason: 'schema_version is missing or invalid' };
    }
    if (parsed.profile !== profile) return { status: 'corrupt', reason: 'it belongs to another profile' };
    return innerSession(parsed.session);
  }

  #identityMissing(profile: string): StoreUnavailable {
    return new StoreUnavailable(
      `The session of profile "${profile}" is encrypted, but its identity ${this.identityPath} is missing`,
      {
        hint: `restore ${this.identityPath}, or run \`${this.#names.app} login --profile ${profile}\` to start over`,
      },
    );
  }

  #newer(file: string, version: number): UnsupportedSchemaVersion {
    return new UnsupportedSchemaVersion(
      `${file} was written by a newer version (schema_version ${version}; this one reads up to ` +
        `${SESSION_FILE_SCHEMA_VERSION}); it was left untouched`,
      { hint: `upgrade ${this.#names.app}, or use another profile` },
    );
  }
}
