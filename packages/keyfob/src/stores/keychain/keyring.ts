/**
 * The OS keychain as keyfob uses it: `@napi-rs/keyring` (Secret Service on Linux, Keychain on
 * macOS, Credential Manager on Windows), loaded on first use, with a time limit on every call.
 *
 * Why each choice:
 * - The package is an optional dependency: when it (or its native binary for this platform) is
 *   missing, the keychain is simply unavailable, with a message that says how to install it.
 * - The `AsyncEntry` calls run on libuv's thread pool, so a keychain that never answers (an
 *   unlock dialog nobody sees, a stopped daemon) cannot freeze the process. A call that passes
 *   its time limit is abandoned, not cancelled: it may still land later, so a timed-out write
 *   counts as "unknown" and is read back before anything else is tried (`setVerified` in `backend.ts`).
 * - On Linux, creating an entry talks to D-Bus synchronously; libdbus bounds that at about 2 s,
 *   and the time it took is charged to the call's limit.
 * - On Linux the Secret Service is required explicitly: the library's default falls back to the
 *   kernel keyring, which forgets everything at logout and would split one user's tokens between
 *   two places depending on whether a desktop session was there when they were written.
 */
import { StoreUnavailable } from '../../errors.js';

/** Default time limit of one keychain call, in milliseconds. */
export const DEFAULT_KEYCHAIN_TIMEOUT_MS = 5_000;

type KeyringModule = typeof import('@napi-rs/keyring');
type AsyncEntry = InstanceType<KeyringModule['AsyncEntry']>;

const KEYRING_PACKAGE = '@napi-rs/keyring';
// Pause before asking a keychain that did not reply again (times the attempt number).
const RETRY_PAUSE_MS = 100;
// Linux only; the other platforms ignore it. See the file comment for why it is pinned.
const ENTRY_OPTIONS = { linux: { store: 'secret-service' as const } };

let loading: Promise<KeyringModule> | undefined;

/**
 * Loads `@napi-rs/keyring` once per process.
 *
 * @throws StoreUnavailable when the package or its native binary for this platform is missing.
 */
export function loadKeyring(): Promise<KeyringModule> {
  loading ??= import('@napi-rs/keyring').then(
    // CommonJS seen from ESM: the named exports are there, `default` is the fallback.
    (loaded: KeyringModule & { default?: KeyringModule }) =>
      typeof loaded.AsyncEntry === 'function' ? loaded : (loaded.default ?? loaded),
    (error: unknown) => {
      loading = undefined;
      throw new StoreUnavailable(
        `The keychain store needs the optional package ${KEYRING_PACKAGE}, which could not be loaded ` +
          `(${shortMessage(error)})`,
        { cause: error, hint: `install it (npm install ${KEYRING_PACKAGE}) or choose another store` },
      );
    },
  );
  return loading;
}

/** A human name for this platform's keychain, for messages. */
export function keychainName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'the macOS Keychain';
  if (platform === 'win32') return 'the Windows Credential Manager';
  return 'the Secret Service (e.g. gnome-keyring)';
}

/** Thrown when a keychain call passed its time limit; the call's outcome is unknown. */
export class KeychainTimeout extends StoreUnavailable {
  constructor(service: string, action: string, timeoutMs: number) {
    super(
      `${capitalize(keychainName())} did not answer within ${formatSeconds(timeoutMs)} ` +
        `(service "${service}", while trying to ${action})`,
      { hint: 'unlock or restart your keychain and run the command again' },
    );
  }
}

/** Options of {@link Keyring}. */
export interface KeyringOptions {
  /** The keychain service every entry is kept under. */
  service: string;
  /** Time limit of one call, in ms. Default {@link DEFAULT_KEYCHAIN_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Appended to failures: what to do instead (e.g. how to choose another store). */
  hint?: string;
}

/**
 * The entries of one keychain service. Secrets are bytes (the Windows limit of 2,560 bytes
 * applies to bytes, while a "password" would be stored as UTF-16 there and count double).
 */
export class Keyring {
  readonly service: string;
  readonly timeoutMs: number;
  readonly #hint: string | undefined;

  constructor(options: KeyringOptions) {
    this.service = options.service;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS;
    this.#hint = options.hint;
  }

  /** The secret of `account`, or `null` when there is none. */
  async get(account: string): Promise<Uint8Array | null> {
    const secret = await this.#call('read', account, (entry, signal) => entry.getSecret(signal));
    return secret === null ? null : Uint8Array.from(secret);
  }

  /** Sets the secret of `account`. A timeout leaves the outcome unknown (see `setVerified` in `backend.ts`). */
  async set(account: string, secret: Uint8Array): Promise<void> {
    await this.#call('write', account, (entry, signal) => entry.setSecret(secret, signal));
  }

  /** Deletes `account`'s entry; `false` when there was none. */
  async remove(account: string): Promise<boolean> {
    return this.#call('delete', account, (entry, signal) => entry.deleteCredential(signal));
  }

  async #call<T>(
    action: 'read' | 'write' | 'delete',
    account: string,
    run: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const keyring = await loadKeyring();
    const deadline = Date.now() + this.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        // Synchronous, and on Linux a D-Bus round trip: charged to this call's time limit.
        const entry = new keyring.AsyncEntry(this.service, account, ENTRY_OPTIONS);
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new KeychainTimeout(this.service, `${action} an entry`, this.timeoutMs);
        const controller = new AbortController();
        return await this.#withTimeout(
          `${action} an entry`,
          run(entry, controller.signal),
          remaining,
          controller,
        );
      } catch (error) {
        // A busy daemon (many clients at once) lets libdbus give up on one message after about
        // 2 s. Asking again is safe: reads and deletes are idempotent, and a write sets the same
        // bytes under the same account, so a first attempt that lands late changes nothing.
        const pause = RETRY_PAUSE_MS * attempt;
        if (!isNoReply(error) || deadline - Date.now() <= pause) {
          throw error instanceof KeychainTimeout ? error : this.#failure(`${action} an entry`, error);
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  async #withTimeout<T>(
    action: string,
    pending: Promise<T>,
    remainingMs: number,
    controller: AbortController,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Cancels the call only if the thread pool has not started it yet.
        controller.abort();
        reject(new KeychainTimeout(this.service, action, this.timeoutMs));
      }, remainingMs);
    });
    // An abandoned call may still fail later; that is no longer anyone's concern.
    pending.catch(() => undefined);
    try {
      return await Promise.race([pending, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  #failure(action: string, error: unknown): StoreUnavailable {
    if (error instanceof StoreUnavailable) return error;
    return new StoreUnavailable(
      `${capitalize(keychainName())} could not ${action} (service "${this.service}"): ${shortMessage(error)}`,
      { cause: error, ...(this.#hint ? { hint: this.#hint } : {}) },
    );
  }
}

/** The result of {@link probeKeyring}. */
export interface KeychainProbe {
  /** True when an entry could be written, read back and deleted. */
  available: boolean;
  /** Why, for `status` and fallback notices: "the Secret Service answered", or what failed. */
  reason: string;
}

/**
 * Asks the keychain whether it works, by writing, reading back and deleting a throw-away entry
 * under `service`. Never throws: any failure (no package, no bus, a locked keychain whose unlock
 * prompt was dismissed, a timeout) means "unavailable", with the reason.
 */
export async function probeKeyring(
  service: string,
  options: { timeoutMs?: number } = {},
): Promise<KeychainProbe> {
  const keyring = new Keyring({ service, timeoutMs: options.timeoutMs ?? DEFAULT_KEYCHAIN_TIMEOUT_MS });
  // '@' never occurs in a profile name, so the probe can never meet a stored session.
  const account = `@probe/${process.pid}-${randomHex(6)}`;
  const marker = new TextEncoder().encode(`probe-${randomHex(8)}`);
  try {
    await keyring.set(account, marker);
    const back = await keyring.get(account);
    await keyring.remove(account).catch(() => undefined);
    if (back === null || !sameBytes(back, marker)) {
      return { available: false, reason: `${keychainName()} did not return what was written to it` };
    }
    return { available: true, reason: `${keychainName()} answered` };
  } catch (error) {
    if (error instanceof KeychainTimeout) return { available: false, reason: error.message };
    const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
    return { available: false, reason: `${keychainName()} did not answer: ${shortMessage(cause)}` };
  }
}

/** The first line of an error's message, without noise, at most 200 characters. */
export function shortMessage(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  // e.g. "Platform failure: DBus error: Did not receive a reply. Possible causes include: …"
  const line = (raw.split('\n')[0] ?? '').replace(/\s+Possible causes include:.*$/, '').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line || 'unknown error';
}

/** Random hex, from the global WebCrypto (no `node:crypto` import on the token path). */
export function randomHex(bytes: number): string {
  return Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes))).toString('hex');
}

/** libdbus's "Did not receive a reply": the message may or may not have been handled. */
function isNoReply(error: unknown): boolean {
  return error instanceof Error && /Did not receive a reply|NoReply/i.test(error.message);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
