/**
 * What the keychain store needs from a keychain: get, set and delete a secret by service and
 * account. The store's own logic (generations, the metadata commit, recovery, corrupt data moved
 * aside) lives in `../keychain.ts` and takes a backend as a parameter, so the OS keychain
 * ({@link OsKeychainBackend}, `@napi-rs/keyring`) and the in-memory one of `@keyfob/core/testing`
 * run exactly the same store code.
 *
 * A backend reports failures as {@link StoreUnavailable}, and a call whose outcome is unknown
 * (it passed its time limit and may still land) as {@link KeychainTimeout}; the store reads such
 * a write back before it counts it ({@link setVerified}).
 */
import { KeychainTimeout, Keyring, keychainName } from './keyring.js';

/** The secrets of a keychain, by service and account. Secrets are bytes. */
export interface KeychainBackend {
  /** A name for messages ("the Secret Service (e.g. gnome-keyring)"); never a secret. */
  readonly name: string;
  /** The secret of `account` under `service`, or `null` when there is none. */
  get(service: string, account: string): Promise<Uint8Array | null>;
  /** Sets the secret; a {@link KeychainTimeout} leaves the outcome unknown. */
  set(service: string, account: string, secret: Uint8Array): Promise<void>;
  /** Deletes the entry; `false` when there was none. */
  remove(service: string, account: string): Promise<boolean>;
}

/**
 * Sets a secret; when the call times out, reads the entry back (that read queues behind the
 * stalled write) and succeeds only if it holds exactly `secret`.
 *
 * @throws KeychainTimeout when the write timed out and the read-back could not confirm it.
 */
export async function setVerified(
  backend: KeychainBackend,
  service: string,
  account: string,
  secret: Uint8Array,
): Promise<void> {
  try {
    await backend.set(service, account, secret);
  } catch (error) {
    if (!(error instanceof KeychainTimeout)) throw error;
    const stored = await backend.get(service, account).catch(() => null);
    if (stored === null || !sameBytes(stored, secret)) throw error;
  }
}

/** Options of {@link OsKeychainBackend}. */
export interface OsKeychainBackendOptions {
  /** Time limit of one call, in ms. */
  timeoutMs: number;
  /** Appended to failures: what to do instead (e.g. how to choose another store). */
  hint?: string;
}

/** The OS keychain through `@napi-rs/keyring` (see `keyring.ts`), every call time-limited. */
export class OsKeychainBackend implements KeychainBackend {
  readonly name = keychainName();
  readonly #options: OsKeychainBackendOptions;
  readonly #keyrings = new Map<string, Keyring>();

  constructor(options: OsKeychainBackendOptions) {
    this.#options = options;
  }

  get(service: string, account: string): Promise<Uint8Array | null> {
    return this.#keyring(service).get(account);
  }

  set(service: string, account: string, secret: Uint8Array): Promise<void> {
    return this.#keyring(service).set(account, secret);
  }

  remove(service: string, account: string): Promise<boolean> {
    return this.#keyring(service).remove(account);
  }

  #keyring(service: string): Keyring {
    let keyring = this.#keyrings.get(service);
    if (!keyring) {
      keyring = new Keyring({
        service,
        timeoutMs: this.#options.timeoutMs,
        ...(this.#options.hint ? { hint: this.#options.hint } : {}),
      });
      this.#keyrings.set(service, keyring);
    }
    return keyring;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
