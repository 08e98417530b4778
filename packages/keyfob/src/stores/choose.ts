/**
 * Which store a profile's session goes to, and why (DESIGN.md, Stores).
 *
 * 1. The store recorded for the profile (in the state file, at its first write) always wins, so
 *    one user at the desktop and over SSH never splits into two copies; if it cannot be reached
 *    now, reading it fails: there is no silent second copy elsewhere.
 * 2. An explicit choice (`token_storage` in config.yaml, `<PREFIX>_STORAGE`) is used as it is; if
 *    it cannot be reached that is an error, not a fallback.
 * 3. Otherwise: the keychain when one answers; else `encrypted-file` when a passphrase or an
 *    identity is configured; else `file`. Every fallback comes with one line for stderr that
 *    says where the tokens are and how to choose.
 *
 * The `reason` is what `status` shows next to each profile's store.
 */
import path from 'node:path';
import { type AppNames, envVar } from '../config/names.js';
import { InvalidInput, StoreUnavailable } from '../errors.js';
import { isRecord } from '../shape.js';
import { FileStore } from './file.js';
import { type KeychainProbe, probeKeychain } from './keychain.js';
import type { StoreKind } from './store.js';

const STORE_KINDS: ReadonlySet<string> = new Set<StoreKind>(['keychain', 'encrypted-file', 'file', 'memory']);

/** What {@link chooseStore} decides from. */
export interface StoreChoiceInput {
  /** The app's names: `<PREFIX>_STORAGE` and `<PREFIX>_PASSPHRASE` in messages. */
  names: AppNames;
  /** keyfob's home, to say where the tokens of a fallback store are. */
  home: string;
  /** `token_storage` from config.yaml or `<PREFIX>_STORAGE`, whichever the caller found; or `null`. */
  explicit: StoreKind | null;
  /** Where `explicit` came from, for messages: `"KEYFOB_STORAGE"`, `"token_storage in /…/config.yaml"`. */
  explicitSource: string | null;
  /** The store recorded for this profile in the state file, or `null` for a new profile. */
  recorded: StoreKind | null;
  /** An identity file or a passphrase is available without asking (`encryptedFileConfigured`). */
  encryptedConfigured: boolean;
  /**
   * A person is there to type a passphrase and the caller has a prompt: an explicitly chosen
   * `encrypted-file` store is then reachable even without a configured key. Default false.
   */
  passphrasePromptAvailable?: boolean;
  /** Asks whether the keychain answers; default {@link probeKeychain} for `names`. Called at most once. */
  probeKeychain?: () => Promise<KeychainProbe>;
}

/** The decision of {@link chooseStore}. */
export interface StoreChoice {
  kind: StoreKind;
  /** What decided: the profile's record, an explicit choice, or the default order. */
  source: 'recorded' | 'explicit' | 'default';
  /** One line for `status`: `"keychain: recorded at first login"`, `"file: no keychain answered (…)"`. */
  reason: string;
  /** One line for stderr when the default fell back past the keychain; `null` otherwise. */
  fallbackNotice: string | null;
  /** The keychain's own words for why it did not answer: debug output only, never stored. */
  detail?: string;
}

/**
 * Chooses the store for a profile; see the file comment for the rules.
 *
 * @throws StoreUnavailable when the explicitly chosen store cannot be reached (no keychain
 *   answers; `encrypted-file` without a passphrase, identity or prompt).
 * @throws InvalidInput when the input is malformed.
 */
export async function chooseStore(input: StoreChoiceInput): Promise<StoreChoice> {
  const { names, home, explicit, recorded } = validate(input);
  const storageVar = envVar(names, 'STORAGE');
  const howToChoose = `choose the store with token_storage in config.yaml or ${storageVar}`;
  const explicitSource = input.explicitSource ?? storageVar;
  const probe = async (): Promise<KeychainProbe> => {
    try {
      return await (input.probeKeychain ?? (() => probeKeychain(names)))();
    } catch (error) {
      return { available: false, reason: error instanceof Error ? error.message : String(error) };
    }
  };

  if (recorded !== null) {
    const ignored =
      explicit !== null && explicit !== recorded
        ? ` (${explicitSource} asks for ${explicit}, which applies to new profiles; log out and in again to move this one)`
        : '';
    return {
      kind: recorded,
      source: 'recorded',
      reason: `${recorded}: recorded at first login${ignored}`,
      fallbackNotice: null,
    };
  }

  if (explicit !== null) {
    if (explicit === 'keychain') {
      const answer = await probe();
      if (!answer.available) {
        throw new StoreUnavailable(
          `${explicitSource} chooses the keychain store, but no keychain answered (${answer.reason})`,
          { hint: `unlock or start your keychain, or ${howToChoose}` },
        );
      }
    }
    if (
      explicit === 'encrypted-file' &&
      !input.encryptedConfigured &&
      input.passphrasePromptAvailable !== true
    ) {
      throw new StoreUnavailable(
        `${explicitSource} chooses the encrypted-file store, but no passphrase or age identity is configured`,
        { hint: `set ${envVar(names, 'PASSPHRASE')} or configure an identity file, or ${howToChoose}` },
      );
    }
    return {
      kind: explicit,
      source: 'explicit',
      reason: `${explicit}: chosen by ${explicitSource}`,
      fallbackNotice: null,
    };
  }

  const answer = await probe();
  if (answer.available) {
    return {
      kind: 'keychain',
      source: 'default',
      reason: `keychain: ${answer.reason}`,
      fallbackNotice: null,
    };
  }
  // One line a person can read; the keychain's own words (a D-Bus error runs to 300 characters)
  // go to `detail`, shown only when debugging, and never into the state file.
  const why = `no keychain answered (${summarizeKeychainFailure(answer.reason)})`;
  const choose = `choose with token_storage in config.yaml or ${storageVar}`;
  if (input.encryptedConfigured) {
    return {
      kind: 'encrypted-file',
      source: 'default',
      reason: `encrypted-file: ${why}; a passphrase or identity is configured`,
      fallbackNotice: `${capitalize(why)}; tokens are encrypted in ${path.join(home, 'encrypted')}; ${choose}.`,
      detail: answer.reason,
    };
  }
  return {
    kind: 'file',
    source: 'default',
    reason: `file: ${why}; no passphrase or identity is configured`,
    fallbackNotice: `${capitalize(why)}; tokens are in ${new FileStore({ home }).location} (readable only by you); ${choose}.`,
    detail: answer.reason,
  };
}

/**
 * A few words for why the keychain did not answer, from the keyring library's message: "no
 * D-Bus session", "timed out", "the unlock prompt was dismissed", … Never the message itself,
 * which is long and may carry anything.
 */
export function summarizeKeychainFailure(reason: string): string {
  if (/d-?bus/i.test(reason)) return 'no D-Bus session';
  if (/timed? ?out|timeout/i.test(reason)) return 'it timed out';
  if (/dismiss|cancel|denied|locked/i.test(reason)) return 'it stayed locked';
  if (/cannot find|not installed|module|package/i.test(reason)) return 'no keyring module for this platform';
  return 'it did not answer';
}

function capitalize(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function validate(input: StoreChoiceInput): {
  names: AppNames;
  home: string;
  explicit: StoreKind | null;
  recorded: StoreKind | null;
} {
  if (!isRecord(input)) throw new InvalidInput('chooseStore needs its input object');
  const { names, home, explicit, recorded, explicitSource } = input;
  if (!isRecord(names) || typeof names.envPrefix !== 'string') {
    throw new InvalidInput('chooseStore needs the app names (appNames())');
  }
  if (typeof home !== 'string' || home.length === 0 || home.includes('\0')) {
    throw new InvalidInput('chooseStore home must be a non-empty path');
  }
  for (const [key, value] of [
    ['explicit', explicit],
    ['recorded', recorded],
  ] as const) {
    if (value !== null && !STORE_KINDS.has(value)) {
      throw new InvalidInput(
        `chooseStore ${key} must be one of keychain, encrypted-file, file, memory, or null`,
      );
    }
  }
  if (explicitSource !== null && typeof explicitSource !== 'string') {
    throw new InvalidInput('chooseStore explicitSource must be a string or null');
  }
  if (typeof input.encryptedConfigured !== 'boolean') {
    throw new InvalidInput('chooseStore encryptedConfigured must be a boolean');
  }
  if (input.probeKeychain !== undefined && typeof input.probeKeychain !== 'function') {
    throw new InvalidInput('chooseStore probeKeychain must be a function');
  }
  return { names, home: path.resolve(home), explicit, recorded };
}
