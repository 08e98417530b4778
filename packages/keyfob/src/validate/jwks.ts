/**
 * Step 3's source of keys: the issuer's `jwks_uri`, and nothing else. One jose remote key set
 * per transport and URL for the whole process, so repeated checks verify against keys already
 * imported, as fast as calling jose directly.
 *
 * Refetching: jose refetches on an unknown `kid` only once the cooldown since the last download
 * has passed, then fails. Its default (30 s) would hide a key rotation for that long; keyfob
 * waits {@link DEFAULT_JWKS_COOLDOWN_SECONDS}, which still caps what a stream of tokens with
 * made-up `kid`s can cost the issuer at one request per cooldown.
 */
import {
  createRemoteJWKSet,
  customFetch,
  type ExportedJWKSCache,
  type JSONWebKeySet,
  jwksCache,
  type RemoteJWKSet,
} from 'jose';
import { boundedFetch } from '../http/guard.js';
import { algorithmsForKeys } from './algorithms.js';

/** Seconds after a JWKS download before an unknown `kid` may trigger another. */
export const DEFAULT_JWKS_COOLDOWN_SECONDS = 5;
/** Keys are downloaded again after this long even when every `kid` is known. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 10_000;

type Fetch = typeof globalThis.fetch;

/** One verification key of an issuer, as jose's key set resolves it. */
export type IssuerKey = Awaited<ReturnType<RemoteJWKSet>>;

/** A key remembered from a key set, with what that set permits. */
export interface KeyChoice {
  readonly key: IssuerKey;
  readonly algorithms: ReadonlySet<string>;
}

/** The keys of one `jwks_uri`, as the check uses them. */
export interface IssuerKeys {
  readonly uri: string;
  /** jose's resolver: picks the one key matching a header's `alg` and `kid`. */
  readonly resolve: RemoteJWKSet;
  /** The algorithms the current key set permits (recomputed after each download). */
  algorithms(): ReadonlySet<string>;
  /** The key for `alg` and `kid` when the set is fresh and the key was resolved before; no waiting. */
  cachedKey(alg: string, kid: string | undefined): IssuerKey | undefined;
  /** The same, with the algorithms of the key set it came from. */
  cachedChoice(alg: string, kid: string | undefined): KeyChoice | undefined;
  /**
   * The key for `alg` and `kid`: from a memo while the key set is fresh and unchanged, else
   * through {@link resolve} (which downloads, and refetches once on an unknown `kid`).
   */
  key(alg: string, kid: string | undefined): ReturnType<RemoteJWKSet>;
  /** Downloads attempted so far (debugging, tests). */
  readonly downloads: number;
}

const cache = new WeakMap<Fetch, Map<string, IssuerKeys>>();

/**
 * The process-wide key set for `uri` fetched through `fetch`.
 * @param cooldownSeconds Only applies when the set is first created for this URL and transport.
 */
export function issuerKeys(
  uri: URL,
  fetch: Fetch,
  cooldownSeconds = DEFAULT_JWKS_COOLDOWN_SECONDS,
): IssuerKeys {
  let byUri = cache.get(fetch);
  if (!byUri) {
    byUri = new Map();
    cache.set(fetch, byUri);
  }
  const key = `${cooldownSeconds} ${uri.href}`;
  const existing = byUri.get(key);
  if (existing) return existing;
  const created = createIssuerKeys(uri, fetch, cooldownSeconds);
  byUri.set(key, created);
  return created;
}

function createIssuerKeys(uri: URL, fetch: Fetch, cooldownSeconds: number): IssuerKeys {
  // jose writes the JSON of every key set it accepts here: the allow-list is recomputed only
  // when this object changes, never per check.
  const accepted: ExportedJWKSCache | Record<string, never> = {};
  interface Memo {
    source: JSONWebKeySet | undefined;
    algorithms: ReadonlySet<string>;
    // By `alg`, then by `kid` (undefined: the token names none).
    keys: Map<string, Map<string | undefined, KeyChoice>>;
  }
  let memo: Memo | undefined;
  const current = (): Memo => {
    const source = 'jwks' in accepted ? (accepted.jwks as JSONWebKeySet) : undefined;
    if (!memo || memo.source !== source) {
      const algorithms = algorithmsForKeys(source);
      memo = { source, algorithms, keys: new Map() };
    }
    return memo;
  };
  // Only a fresh set may answer from the memo: a stale one must go through jose to be renewed.
  const cachedChoice = (alg: string, kid: string | undefined) =>
    resolve.fresh ? current().keys.get(alg)?.get(kid) : undefined;
  const cachedKey = (alg: string, kid: string | undefined) => cachedChoice(alg, kid)?.key;
  let downloads = 0;
  // A caller's own fetch (checkToken's option) gets the same bounds as the instance's.
  const bounded = boundedFetch(fetch);
  const resolve = createRemoteJWKSet(uri, {
    cooldownDuration: cooldownSeconds * 1000,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
    [jwksCache]: accepted,
    [customFetch]: (url, init) => {
      downloads++;
      return bounded(url, init);
    },
  });
  return {
    uri: uri.href,
    resolve,
    algorithms() {
      return current().algorithms;
    },
    cachedKey,
    cachedChoice,
    async key(alg, kid) {
      const known = cachedKey(alg, kid);
      if (known) return known;
      const found = await resolve({ alg, ...(kid !== undefined ? { kid } : {}) });
      const { keys, algorithms } = current();
      let byKid = keys.get(alg);
      if (!byKid) {
        byKid = new Map();
        keys.set(alg, byKid);
      }
      byKid.set(kid, { key: found, algorithms });
      return found;
    },
    get downloads() {
      return downloads;
    },
  };
}
