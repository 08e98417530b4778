/**
 * A store whose implementation loads on first use: the keychain and encrypted-file stores pull
 * in native bindings and crypto that a command reading a file-store profile never needs.
 */
import type { Session } from '../session.js';
import type { CredentialStore, StoreKind, StoreWriteOptions } from './store.js';

export function lazyStore(
  kind: StoreKind,
  location: string,
  load: () => Promise<CredentialStore>,
): CredentialStore {
  let loaded: Promise<CredentialStore> | undefined;
  const store = () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
  return {
    kind,
    location,
    read: async (profile: string): Promise<Session | null> => (await store()).read(profile),
    write: async (profile: string, session: Session, options?: StoreWriteOptions) =>
      (await store()).write(profile, session, options),
    delete: async (profile: string) => (await store()).delete(profile),
    list: async () => (await store()).list(),
  };
}
