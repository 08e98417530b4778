/**
 * `@keyfob/core/testing`: helpers for tool authors' tests. {@link createTestKeychain} is an
 * in-memory keychain; {@link createTestKeychainStore} puts keyfob's real keychain store on it, to
 * pass as `createKeyfob({ store })`:
 *
 * ```ts
 * const keychain = createTestKeychain();
 * const kf = createKeyfob({ home, store: createTestKeychainStore({ home, keychain }) });
 * ```
 */
import { appNames } from '../config/names.js';
import { InvalidInput } from '../errors.js';
import { KeychainStore } from '../stores/keychain.js';
import { createTestKeychain, type TestKeychain } from './keychain.js';

export type { KeychainBackend } from '../stores/keychain/backend.js';
export type {
  TestKeychain,
  TestKeychainEntry,
  TestKeychainFailure,
  TestKeychainOperation,
  TestKeychainOptions,
} from './keychain.js';
export { createTestKeychain } from './keychain.js';

/** Options of {@link createTestKeychainStore}. */
export interface TestKeychainStoreOptions {
  /** keyfob's home: the same as `createKeyfob({ home })`. The store's metadata goes to `<home>/keychain`. */
  home: string;
  /** The keychain; a new empty one by default. */
  keychain?: TestKeychain;
  /** The app name given to `createKeyfob` (the keychain service and the commands in messages); default `keyfob`. */
  appName?: string;
}

/**
 * keyfob's keychain store (the same code as the OS keychain's: generations, metadata commit,
 * recovery, corrupt data moved aside) on an in-memory keychain. Its `kind` is `keychain`.
 * @throws InvalidInput when `home` is missing.
 */
export function createTestKeychainStore(options: TestKeychainStoreOptions): KeychainStore {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInput('createTestKeychainStore needs { home }');
  }
  return new KeychainStore({
    home: options.home,
    names: appNames(options.appName ?? 'keyfob'),
    backend: options.keychain ?? createTestKeychain(),
  });
}
