/**
 * An in-memory keychain for tests: a {@link KeychainBackend} that the real keychain store runs
 * on, so a test exercises the store's own generations, metadata commit, recovery and corrupt
 * data handling without an OS keychain, D-Bus or an unlock prompt.
 *
 * It shows the failures the OS keychain can: locked or unreachable (every call fails with
 * {@link StoreUnavailable}, as a dismissed unlock prompt or a missing D-Bus session does), a call
 * that times out ({@link KeychainTimeout}, optionally after the write landed, as a stalled daemon
 * can), and a per-entry size limit (Windows' 2,560 bytes by default, the smallest platform's).
 */
import { InvalidInput, StoreUnavailable } from '../errors.js';
import type { KeychainBackend } from '../stores/keychain/backend.js';
import { KeychainTimeout } from '../stores/keychain/keyring.js';

/** The three keychain calls the store makes. */
export type TestKeychainOperation = 'get' | 'set' | 'remove';

/** How {@link TestKeychain.failNext} makes a call fail. */
export interface TestKeychainFailure {
  /** How many calls of that operation fail, from the next one on. Default 1. */
  times?: number;
  /** Fail as a call that passed its time limit ({@link KeychainTimeout}) rather than {@link StoreUnavailable}. */
  timeout?: boolean;
  /** The call takes effect, then fails: a write that landed although the caller heard an error. */
  afterEffect?: boolean;
  /** Only calls whose account matches. */
  account?: RegExp;
}

/** Options of {@link createTestKeychain}. */
export interface TestKeychainOptions {
  /** The largest secret one entry takes, in bytes; default 2560 (Windows' limit). */
  maxEntryBytes?: number;
}

/** One stored entry, as {@link TestKeychain.entries} lists it: no secret. */
export interface TestKeychainEntry {
  service: string;
  account: string;
  bytes: number;
}

/** The in-memory keychain; see the file comment. */
export class TestKeychain implements KeychainBackend {
  readonly name = 'the test keychain (in memory)';
  /** Calls made, by operation (failed ones included). */
  readonly calls: Record<TestKeychainOperation, number> = { get: 0, set: 0, remove: 0 };
  readonly #entries = new Map<string, Uint8Array>();
  readonly #failures: Array<{
    operation: TestKeychainOperation;
    left: number;
    failure: TestKeychainFailure;
  }> = [];
  readonly #maxEntryBytes: number;
  #locked = false;

  constructor(options: TestKeychainOptions = {}) {
    const max = options.maxEntryBytes ?? 2560;
    if (!Number.isInteger(max) || max < 1) throw new InvalidInput('maxEntryBytes must be a positive integer');
    this.#maxEntryBytes = max;
  }

  /** Every call fails with {@link StoreUnavailable} until {@link unlock}, as a locked keychain. */
  lock(): void {
    this.#locked = true;
  }

  unlock(): void {
    this.#locked = false;
  }

  /** Makes the next call(s) of `operation` fail; see {@link TestKeychainFailure}. */
  failNext(operation: TestKeychainOperation, failure: TestKeychainFailure = {}): void {
    this.#failures.push({ operation, left: failure.times ?? 1, failure });
  }

  /** What is stored, sorted by service and account; lengths only, never the secrets. */
  entries(): TestKeychainEntry[] {
    return [...this.#entries]
      .map(([key, secret]) => {
        const [service = '', account = ''] = JSON.parse(key) as [string, string];
        return { service, account, bytes: secret.length };
      })
      .sort((a, b) => a.service.localeCompare(b.service) || a.account.localeCompare(b.account));
  }

  async get(service: string, account: string): Promise<Uint8Array | null> {
    return this.#call('get', service, account, () => {
      const secret = this.#entries.get(key(service, account));
      return secret ? Uint8Array.from(secret) : null;
    });
  }

  async set(service: string, account: string, secret: Uint8Array): Promise<void> {
    return this.#call('set', service, account, () => {
      if (secret.length > this.#maxEntryBytes) {
        throw new StoreUnavailable(
          `${this.name} could not write an entry (service "${service}"): ${secret.length} bytes is over its limit of ${this.#maxEntryBytes}`,
        );
      }
      this.#entries.set(key(service, account), Uint8Array.from(secret));
    });
  }

  async remove(service: string, account: string): Promise<boolean> {
    return this.#call('remove', service, account, () => this.#entries.delete(key(service, account)));
  }

  async #call<T>(
    operation: TestKeychainOperation,
    service: string,
    account: string,
    run: () => T,
  ): Promise<T> {
    this.calls[operation]++;
    // A real keychain answers asynchronously: never within the caller's own tick.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.#locked) {
      throw new StoreUnavailable(`${this.name} is locked (service "${service}")`, {
        hint: 'unlock your keychain, or choose another store',
      });
    }
    const index = this.#failures.findIndex(
      (f) => f.operation === operation && (!f.failure.account || f.failure.account.test(account)),
    );
    const planned = index === -1 ? undefined : this.#failures[index];
    if (!planned) return run();
    if (--planned.left <= 0) this.#failures.splice(index, 1);
    if (planned.failure.afterEffect) run();
    throw planned.failure.timeout
      ? new KeychainTimeout(service, `${operation} an entry`, 5_000)
      : new StoreUnavailable(
          `${this.name} could not ${operation} an entry (service "${service}"): simulated failure`,
        );
  }
}

/** A new, empty in-memory keychain. */
export function createTestKeychain(options: TestKeychainOptions = {}): TestKeychain {
  return new TestKeychain(options);
}

function key(service: string, account: string): string {
  return JSON.stringify([service, account]);
}
