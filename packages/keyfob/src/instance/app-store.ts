/**
 * Where every profile of an instance lives when the app decides it, not the user:
 * `createKeyfob({ credentialsFile })` with a vendor's layout, or `createKeyfob({ store })`.
 */

import { homedir } from 'node:os';
import type { AppNames } from '../config/names.js';
import { type KeyfobConfig, STORE_KINDS } from '../config/schema.js';
import { InvalidInput } from '../errors.js';
import { credentialsFileStore } from '../stores/credentials-file/index.js';
import { recordingMoves } from '../stores/moved-aside.js';
import type { CredentialStore, StoreKind } from '../stores/store.js';
import type { Env, KeyfobOptions } from './types.js';

/** The app's store: its kind, the object (`null` for a kind keyfob opens), and why, for status. */
export interface AppStore {
  kind: StoreKind;
  store: CredentialStore | null;
  reason: string;
  /** The store is the vendor's credentials file (a `single-json` or `ini` layout). */
  credentialsFile: boolean;
}

/**
 * The store the app fixed for every profile, or `null` when the user's configuration decides.
 * @throws InvalidInput for a store that is neither a kind nor a CredentialStore, a bad
 *   credentials-file option, or both options at once.
 */
export function appStore(input: {
  store: KeyfobOptions['store'];
  credentialsFile: KeyfobOptions['credentialsFile'];
  names: AppNames;
  home: string;
  env: Env;
  cliName: string;
  /** The login command under the vendor's names, for messages. */
  loginCommand?: string;
  now: () => Date;
  config: () => Promise<KeyfobConfig>;
}): AppStore | null {
  const vendorFile = credentialsFileStore({
    options: input.credentialsFile,
    app: input.names.app,
    home: input.home,
    env: input.env,
    userHome: input.env.HOME || homedir(),
    cliName: input.cliName,
    ...(input.loginCommand ? { loginCommand: input.loginCommand } : {}),
    now: input.now,
    config: input.config,
  });
  const given = givenStore(input.store);
  if (given && vendorFile) {
    throw new InvalidInput('give createKeyfob either store or a credentialsFile layout, not both', {
      hint: 'the credentials file is where every profile lives',
    });
  }
  if (vendorFile) {
    return {
      kind: 'file',
      store: recordingMoves(vendorFile, input.home, input.now),
      reason: `file: the ${vendorFile.layout} credentials file ${vendorFile.location}`,
      credentialsFile: true,
    };
  }
  if (!given) return null;
  return {
    ...given,
    credentialsFile: false,
    reason: given.store
      ? `${given.kind}: the store given to createKeyfob (${given.store.location})`
      : `${given.kind}: chosen by the app (createKeyfob store option)`,
  };
}

/**
 * Checks `createKeyfob({ store })`: a kind, or an object with the {@link CredentialStore}
 * methods and a `kind` among the four (recorded in the state file for its profiles).
 * @throws InvalidInput otherwise.
 */
function givenStore(
  store: KeyfobOptions['store'],
): { kind: StoreKind; store: CredentialStore | null } | null {
  if (store === undefined) return null;
  if (typeof store === 'string') {
    if (!isStoreKind(store)) {
      throw new InvalidInput(
        'store must be one of keychain, encrypted-file, file, memory, or a CredentialStore',
      );
    }
    return { kind: store, store: null };
  }
  const candidate = store as unknown as Record<string, unknown> | null;
  const methods = ['read', 'write', 'delete', 'list'] as const;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    methods.some((m) => typeof candidate[m] !== 'function') ||
    typeof candidate.kind !== 'string' ||
    !isStoreKind(candidate.kind) ||
    typeof candidate.location !== 'string'
  ) {
    throw new InvalidInput(
      'store must be a kind or an object implementing CredentialStore (kind, location, read, write, delete, list)',
    );
  }
  return { kind: store.kind, store };
}

export function isStoreKind(value: string): value is StoreKind {
  return (STORE_KINDS as readonly string[]).includes(value);
}
