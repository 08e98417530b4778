/**
 * The kinds of credential store, below both the configuration (`token_storage`) and the stores
 * themselves, so the config layer never imports a store to name one.
 */

/** The kinds of store a profile can live in. */
export type StoreKind = 'keychain' | 'encrypted-file' | 'file' | 'memory';

// A Record over StoreKind fails to compile when a kind is added above but not here.
const STORE_KIND_SET: Record<StoreKind, true> = {
  keychain: true,
  'encrypted-file': true,
  file: true,
  memory: true,
};

/** Every store kind, for `token_storage` and `KEYFOB_STORAGE`. */
export const STORE_KINDS: readonly StoreKind[] = Object.freeze(Object.keys(STORE_KIND_SET) as StoreKind[]);
