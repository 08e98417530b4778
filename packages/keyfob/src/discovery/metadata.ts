/**
 * An issuer's metadata (OpenID Connect Discovery, RFC 8414 as the fallback), fetched through
 * oauth4webapi and cached per process, per transport and per issuer: `check` may run thousands
 * of times in one process and must not ask the issuer each time, and two keyfob instances with
 * different dispatchers (CA bundle, proxy) must never borrow each other's connections.
 *
 * This module imports oauth4webapi: load it lazily.
 */
import * as oauth from 'oauth4webapi';
import type { KeyfobError } from '../errors.js';
import { boundedFetch } from '../http/guard.js';
import { toKeyfobError } from '../providers/oauth-client.js';
import { checkSecureUrl, parseSecureUrl } from '../url.js';

/** What keyfob keeps of an issuer's discovery document. */
export interface IssuerMetadata {
  /** The issuer exactly as the caller configured it (the cache key). */
  issuer: string;
  /** The document, already checked by oauth4webapi to name this issuer. */
  document: oauth.AuthorizationServer;
  /**
   * The issuer's clock minus the local clock, in milliseconds, from the response's `Date`
   * header; 0 when the header is missing or unreadable.
   */
  skewMs: number;
  /** True for a plain-http (loopback) issuer: follow-up requests must allow it explicitly. */
  insecure: boolean;
}

/** How long a document is reused; the same as jose's default JWKS cache age. */
export const METADATA_MAX_AGE_MS = 10 * 60_000;
const DEFAULT_TIMEOUT_MS = 10_000;

type Fetch = typeof globalThis.fetch;
interface Entry {
  expiresAt: number;
  value: Promise<IssuerMetadata>;
  /** Set once `value` resolves, for callers that must not wait a tick. */
  resolved?: IssuerMetadata;
}

const cache = new WeakMap<Fetch, Map<string, Entry>>();

export interface DiscoverOptions {
  /** The instance's fetch (its own dispatcher); also the cache's first key. */
  fetch: Fetch;
  /** Abort the request after this long; 10 s by default. */
  timeoutMs?: number;
}

/**
 * The issuer's metadata, from the cache when it is younger than {@link METADATA_MAX_AGE_MS}.
 * Concurrent callers share one request; a failure is not cached.
 *
 * @param issuer The issuer identifier as configured; plain `http` only on loopback.
 * @throws InsecureUrl for plain http off loopback; InvalidInput for a malformed URL.
 * @throws NetworkError, TlsVerificationFailed or OAuthError when the document cannot be had
 *   (unreachable, refused certificate, not a conforming document, another issuer's document).
 */
export async function discoverIssuer(issuer: string, options: DiscoverOptions): Promise<IssuerMetadata> {
  const url = issuerUrl(issuer);
  let byIssuer = cache.get(options.fetch);
  if (!byIssuer) {
    byIssuer = new Map();
    cache.set(options.fetch, byIssuer);
  }
  const cached = byIssuer.get(issuer);
  if (cached && cached.expiresAt > Date.now()) return cached.value;
  const entries = byIssuer;
  const entry: Entry = {
    expiresAt: Date.now() + METADATA_MAX_AGE_MS,
    value: fetchMetadata(issuer, url, options).then(
      (metadata) => {
        entry.resolved = metadata;
        return metadata;
      },
      (error: unknown) => {
        if (entries.get(issuer) === entry) entries.delete(issuer);
        throw error;
      },
    ),
  };
  entries.set(issuer, entry);
  return entry.value;
}

/**
 * The issuer's metadata when the cache holds a fresh copy, without waiting: the path every
 * repeated check takes. An issuer found here has already passed the URL rules.
 */
export function cachedIssuer(issuer: string, fetch: Fetch): IssuerMetadata | undefined {
  const entry = cache.get(fetch)?.get(issuer);
  return entry && entry.expiresAt > Date.now() ? entry.resolved : undefined;
}

/** Parses an issuer identifier under keyfob's URL rules (InsecureUrl, InvalidInput). */
export function issuerUrl(issuer: string): URL {
  return parseSecureUrl(issuer, 'the issuer');
}

/**
 * An endpoint the document names (`jwks_uri`, `introspection_endpoint`), held to the same URL
 * rules as the issuer: a hostile document must not send keyfob to plain http off loopback.
 * @returns The URL, or why it is refused.
 */
export function endpointUrl(
  value: unknown,
  name: string,
): { ok: true; url: URL } | { ok: false; why: string } {
  if (typeof value !== 'string') return { ok: false, why: `the issuer's metadata has no ${name}` };
  const checked = checkSecureUrl(value);
  return checked.ok ? checked : { ok: false, why: `the issuer's ${name} ${checked.message}` };
}

async function fetchMetadata(issuer: string, url: URL, options: DiscoverOptions): Promise<IssuerMetadata> {
  const insecure = url.protocol === 'http:';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let skewMs = 0;
  // A caller's own fetch (checkToken's option) gets the same bounds as the instance's.
  const fetch = boundedFetch(options.fetch);
  const customFetch: Fetch = async (input, init) => {
    const response = await fetch(input, init);
    const date = Date.parse(response.headers.get('date') ?? '');
    if (Number.isFinite(date)) skewMs = date - Date.now();
    return response;
  };
  const request = (algorithm: 'oidc' | 'oauth2') =>
    oauth.discoveryRequest(url, {
      algorithm,
      signal: AbortSignal.timeout(timeoutMs),
      [oauth.customFetch]: customFetch,
      ...(insecure ? { [oauth.allowInsecureRequests]: true } : {}),
    });
  try {
    let response = await request('oidc');
    // An OAuth-only server (RFC 8414) has no openid-configuration; try its well-known path.
    if (response.status === 404) {
      await response.body?.cancel();
      response = await request('oauth2');
    }
    const document = await oauth.processDiscoveryResponse(url, response);
    return { issuer, document, skewMs, insecure };
  } catch (error) {
    throw discoveryError(error, issuer);
  }
}

function discoveryError(error: unknown, issuer: string): KeyfobError {
  return toKeyfobError(error, { action: `discovering ${issuer}` });
}
