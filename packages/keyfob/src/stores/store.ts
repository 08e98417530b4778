/**
 * The one interface every credential store implements.
 *
 * A store keeps whole {@link Session} records by profile name. It does not lock: callers wrap
 * every read-modify-write of a profile in that profile's lock (`lifecycle/lock.ts`), whatever
 * the store, so the same discipline holds for files, the keychain and anything added later.
 */
import type { Session } from '../session.js';

import type { StoreKind } from '../store-kind.js';

export type { StoreKind };

export interface StoreWriteOptions {
  signal?: AbortSignal;
}

/** Where sessions are kept, by profile: the four built-in stores and any an integrator passes as `createKeyfob({ store })`. `kind` is what the state file records for its profiles. */
export interface CredentialStore {
  readonly kind: StoreKind;
  /** Where the data lives, for messages (a path, a keychain service); never a secret. */
  readonly location: string;
  /**
   * The profile's session, or `null` when none is stored.
   * @throws StoreCorrupt when the data cannot be parsed (it has been moved aside first).
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote it (it is left untouched).
   */
  read(profile: string): Promise<Session | null>;
  /**
   * Replaces the profile's session atomically: a reader sees the old or the new record, whole.
   * With `signal` (the profile lock's), the write throws instead of committing once the lock is lost.
   */
  write(profile: string, session: Session, options?: StoreWriteOptions): Promise<void>;
  /** Removes the profile's session; `false` when there was none. */
  delete(profile: string): Promise<boolean>;
  /** Names of the profiles with a stored session. */
  list(): Promise<string[]>;
  /**
   * Where changes to a profile's session (a refresh, a login, a logout) are serialized, for a
   * store that other homes may share (a vendor's credentials file): the home's own lock folder
   * would let two homes spend one refresh token twice. Omitted: `<home>/locks/<profile>.lock`.
   * Checks the place first: nothing is created where another user could reach it.
   */
  profileLockPath?(profile: string): Promise<string>;
}
