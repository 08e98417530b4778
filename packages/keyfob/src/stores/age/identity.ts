/**
 * The age identity the `encrypted-file` store encrypts to, and `age-encryption` loaded on first
 * use.
 *
 * The identity is either an age identity file the user keeps (`AGE-SECRET-KEY-1…` lines, as
 * `age-keygen` writes them), or one keyfob generated and keeps in `<home>/identity.age`,
 * itself encrypted under a passphrase. A passphrase costs seconds of scrypt per use, so an
 * unlocked identity is cached for the life of the process, keyed by the file, digests of its
 * content and of the passphrase: every store instance of the process unlocks it once between
 * them, and a file replaced meanwhile is unlocked afresh.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { StoreCorrupt, StoreUnavailable } from '../../errors.js';
import {
  errorCode,
  moveAside,
  PRIVATE_FILE_MODE,
  readFileNoFollow,
  writeFileAtomic,
} from '../../fs/secure.js';
import { withLock } from '../../lifecycle/lock.js';

type AgeModule = typeof import('age-encryption');

const AGE_PACKAGE = 'age-encryption';
/** scrypt work factor (log2 N) of a new `identity.age`; age's own default. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;
// age-encryption's error when no identity (or passphrase) opens a file; version pinned.
const NO_IDENTITY_MATCHED = "no identity matched any of the file's recipients";
const IDENTITY_LINE = /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/;

let loading: Promise<AgeModule> | undefined;

/**
 * Loads `age-encryption` once per process.
 * @throws StoreUnavailable when the optional package is not installed.
 */
export function loadAge(): Promise<AgeModule> {
  loading ??= import('age-encryption').catch((error: unknown) => {
    loading = undefined;
    throw new StoreUnavailable(
      `The encrypted-file store needs the optional package ${AGE_PACKAGE}, which could not be loaded`,
      { cause: error, hint: `install it (npm install ${AGE_PACKAGE}) or choose another store` },
    );
  });
  return loading;
}

/** An identity ready to use: what decrypts, and the recipient new files are encrypted to. */
export interface UnlockedIdentity {
  /** `AGE-SECRET-KEY-…` strings; every one is tried when decrypting. */
  readonly identities: readonly string[];
  /** `age1…`: the recipient of the first identity. */
  readonly recipient: string;
  /** Where the identity came from, for messages (a path). */
  readonly source: string;
}

/** True when `error` is age's "nothing here opens this file". */
/**
 * Where a passphrase identity, once unlocked, is kept between processes (the keyfob agent), so
 * that scrypt runs and the passphrase is asked once per `unlock_timeout`, not once per process.
 * Both methods answer `null` when the keeper cannot help; the store then unlocks on its own.
 */
export interface IdentityKeeper {
  /** The identity of `file` already unlocked, or `null`. */
  unlocked(file: string): Promise<UnlockedIdentity | null>;
  /** Unlocks `file` with `passphrase` where it is kept, and returns it; `null` when it cannot. */
  unlock(file: string, passphrase: string): Promise<UnlockedIdentity | null>;
}

export function isNoIdentityMatched(error: unknown): boolean {
  return error instanceof Error && error.message === NO_IDENTITY_MATCHED;
}

/**
 * Reads an age identity file: `AGE-SECRET-KEY-1…` (or `-PQ-1…`) lines; blank lines and `#`
 * comments are skipped, as `age -i` does.
 *
 * @throws StoreUnavailable when the file is missing, unreadable or holds no identity (the
 *   message never quotes the file's content).
 */
export async function readIdentityFile(file: string): Promise<UnlockedIdentity> {
  let text: string;
  try {
    // A file the user names: it may well be a symlink into their dotfiles, so it is followed.
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    const code = errorCode(error) ?? 'unknown error';
    throw new StoreUnavailable(`Could not read the age identity file ${file} (${code})`, {
      cause: error,
      hint: code === 'ENOENT' ? 'create it with age-keygen, or point the identity setting at it' : undefined,
    });
  }
  const identities = parseIdentities(text);
  if (identities === null) {
    throw new StoreUnavailable(`${file} is not an age identity file (no AGE-SECRET-KEY-1… line)`, {
      hint: 'create one with age-keygen; a passphrase-protected identity file is not supported here',
    });
  }
  return withRecipient(identities, file);
}

const unlocked = new Map<string, Promise<string[]>>();

/** Options of {@link unlockPassphraseIdentity}. */
export interface PassphraseIdentityOptions {
  /** `<home>/identity.age`. */
  file: string;
  /** Gives the passphrase (from the caller, the variable or a prompt); called only when needed. */
  passphrase: () => Promise<string>;
  /** When the file does not exist yet: generate an identity and write it (else `null`). */
  create: boolean;
  /** The lock guarding the creation (`<home>/locks/@identity.lock`). */
  lockPath: string;
  /** scrypt work factor for a new file. */
  scryptWorkFactor: number;
  /** The command users run, for messages. */
  cliName: string;
  /** The login command under the vendor's names; `<cliName> login` by default. */
  loginCommand?: string;
  /** The passphrase variable's name, for messages (`KEYFOB_PASSPHRASE`). */
  passphraseVar: string;
}

/**
 * The identity kept in `identity.age`, decrypted with the passphrase once per process.
 *
 * @returns the identity, or `null` when the file does not exist and `create` is false.
 * @throws StoreUnavailable when the passphrase does not open the file (the file is untouched).
 * @throws StoreCorrupt when the file is not an age file holding an identity (moved aside).
 */
export async function unlockPassphraseIdentity(
  options: PassphraseIdentityOptions,
): Promise<UnlockedIdentity | null> {
  // keyfob's own file: read without following a planted link, like the stores' files.
  const existing = await readFileNoFollow(options.file);
  if (existing === null && !options.create) return null;
  const passphrase = await options.passphrase();
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new StoreUnavailable('An empty passphrase cannot protect the encrypted-file store', {
      hint: `set ${options.passphraseVar}`,
    });
  }
  // Keyed by the file's content too: an identity.age replaced meanwhile is unlocked afresh.
  const key = await cacheKey(options.file, existing, passphrase);
  let pending = unlocked.get(key);
  if (!pending) {
    pending =
      existing !== null
        ? decryptIdentityFile(options, existing, passphrase)
        : createIdentityFile(options, passphrase);
    unlocked.set(key, pending);
    pending.catch(() => unlocked.delete(key));
  }
  return withRecipient(await pending, options.file);
}

async function cacheKey(file: string, content: string | null, passphrase: string): Promise<string> {
  return `${path.resolve(file)}\0${await sha256Hex(content ?? '')}\0${await sha256Hex(passphrase)}`;
}

async function createIdentityFile(options: PassphraseIdentityOptions, passphrase: string): Promise<string[]> {
  return withLock(options.lockPath, async (lock) => {
    // Another process may have created it while this one waited: never replace an identity.
    const raced = await readFileNoFollow(options.file);
    if (raced !== null) return decryptIdentityFile(options, raced, passphrase);
    const age = await loadAge();
    const identity = await age.generateX25519Identity();
    const encrypter = new age.Encrypter();
    encrypter.setScryptWorkFactor(options.scryptWorkFactor);
    encrypter.setPassphrase(passphrase);
    const plaintext = `# ${options.cliName} identity for the encrypted-file store, created ${new Date().toISOString()}\n${identity}\n`;
    const sealed = age.armor.encode(await encrypter.encrypt(plaintext));
    await writeFileAtomic(options.file, sealed, { mode: PRIVATE_FILE_MODE, signal: lock.signal });
    // The file now exists: later unlocks in this process find it by its content, without scrypt.
    unlocked.set(await cacheKey(options.file, sealed, passphrase), Promise.resolve([identity]));
    return [identity];
  });
}

async function decryptIdentityFile(
  options: PassphraseIdentityOptions,
  armored: string,
  passphrase: string,
): Promise<string[]> {
  const age = await loadAge();
  const decrypter = new age.Decrypter();
  decrypter.addPassphrase(passphrase);
  let plaintext: string;
  try {
    plaintext = await decrypter.decrypt(age.armor.decode(armored), 'text');
  } catch (error) {
    if (isNoIdentityMatched(error)) {
      // A wrong passphrase. The file stays exactly as it is.
      throw new StoreUnavailable(`The passphrase does not unlock ${options.file}`, {
        cause: error,
        hint: `check ${options.passphraseVar} (or the passphrase typed) and run the command again`,
      });
    }
    if (/work factor/.test(errorMessage(error))) {
      // Readable, just more expensive than this version agrees to compute: not damage.
      throw new StoreUnavailable(`${options.file} asks for more scrypt work than is allowed here`, {
        cause: error,
        hint: 're-create it with a lower work factor, or use an age identity file',
      });
    }
    throw await corruptIdentity(options, `it is not a readable age file (${errorMessage(error)})`);
  }
  const identities = parseIdentities(plaintext);
  if (identities === null) throw await corruptIdentity(options, 'it holds no age identity');
  return identities;
}

async function corruptIdentity(options: PassphraseIdentityOptions, reason: string): Promise<StoreCorrupt> {
  const movedTo = await moveAside(options.file, new Date());
  return new StoreCorrupt(
    `The encrypted-file store's identity ${options.file} could not be read (${reason}); it was moved to ${movedTo}`,
    movedTo,
    {
      hint: `sessions encrypted to it cannot be opened any more: run \`${options.loginCommand ?? `${options.cliName} login`}\` again`,
    },
  );
}

function parseIdentities(text: string): string[] | null {
  const identities = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
  if (identities.length === 0 || !identities.every((line) => IDENTITY_LINE.test(line))) return null;
  return identities;
}

async function withRecipient(identities: readonly string[], source: string): Promise<UnlockedIdentity> {
  const age = await loadAge();
  let recipient: string;
  try {
    recipient = await age.identityToRecipient(identities[0]!);
  } catch (error) {
    throw new StoreUnavailable(`${source} holds an identity age cannot use`, { cause: error });
  }
  return Object.freeze({ identities: Object.freeze([...identities]), recipient, source });
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Buffer.from(digest).toString('hex');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
