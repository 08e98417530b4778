/**
 * Getting a fresh-enough access token without ever spending a refresh token twice.
 *
 * In one process, concurrent callers for the same token share one renewal (single-flight).
 * Across processes, the renewal runs under the profile's lock: after taking it the session is
 * read again, and a token another process stored meanwhile is accepted as it is. The lock is
 * held only around renew-and-write, never around a login.
 */
import { AuthenticationRequired, CredentialRefused, InsufficientScope, RefreshFailed } from '../errors.js';
import type { Logger } from '../log.js';
import { type CredentialProvider, renewedSessionOf, type TokenRequest } from '../providers/provider.js';
import {
  type AccessToken,
  accessTokenKey,
  addScopesHint,
  concretePlace,
  findAccessToken,
  isExpired,
  isFreshEnough,
  parseScopes,
  refreshOf,
  type Session,
  type SessionBinding,
} from '../session.js';
import type { CredentialStore } from '../stores/store.js';
import { assertBound } from './binding.js';
import type { HeldLock } from './lock.js';
import { type CriticalSection, holdSignals } from './signals.js';

export interface FreshTokenRequest extends TokenRequest {
  /** Minimum remaining lifetime in seconds (DESIGN.md's freshness rule applies). */
  minTtlSeconds: number;
  /** Renew even when the cached token looks fresh (after a 401). */
  force?: boolean;
  /**
   * The profile's session as the caller read it from the store just before (unlocked, as this
   * function's own first read would be): not read a second time. A renewal reads again under
   * the lock whatever this is.
   */
  stored?: Session;
}

export interface LifecycleDeps {
  profile: string;
  store: CredentialStore;
  /** Loads the profile's provider (lazily: a cached token never needs it). */
  provider(): Promise<CredentialProvider>;
  /** Runs `fn` under the profile's cross-process lock. */
  withProfileLock<T>(fn: (lock: HeldLock) => Promise<T>): Promise<T>;
  now(): Date;
  log: Logger;
  /** The exact command that logs this profile in again, for error messages. */
  loginCommand: string;
  /** The command that adds scopes (`refresh --scopes`) under the vendor's names, for messages. */
  refreshCommand?: string;
  /**
   * Where the configuration says this profile's provider is now (`lifecycle/binding.ts`): a
   * session bound elsewhere is never sent there. Omitted for in-memory machine sessions, which
   * are made from the configuration of this very process.
   */
  boundTo?: SessionBinding | null;
  /** The command's name, for the notice when a signal is held. */
  cliName?: string;
  /** The token command under the vendor's names (`acme auth token`), for that notice. */
  tokenCommand?: string;
  /** Why the profile has no session, when keyfob knows (its session was moved aside). */
  whyMissing?: () => Promise<string | null>;
}

const inFlight = new Map<string, Promise<AccessToken>>();
const storeIds = new WeakMap<CredentialStore, number>();
let nextStoreId = 0;

/** A number per store object, for the single-flight key. */
function storeId(store: CredentialStore): number {
  let id = storeIds.get(store);
  if (id === undefined) {
    id = ++nextStoreId;
    storeIds.set(store, id);
  }
  return id;
}

/**
 * Returns an access token for the request that is fresh enough, renewing it when needed.
 * @throws AuthenticationRequired when there is no session or it cannot be renewed.
 */
export async function getFreshToken(deps: LifecycleDeps, request: FreshTokenRequest): Promise<AccessToken> {
  const session = request.stored ?? (await deps.store.read(deps.profile));
  if (!session) throw await notLoggedIn(deps);
  // A control-plane token's scopes are asked of the control plane, not of the login's grant.
  if (!request.place) checkScopes(session, request.scopes, deps);
  const cached = findAccessToken(session, request.resource, request.scopes, request.place);
  if (cached && !request.force && isFreshEnough(cached, deps.now(), request.minTtlSeconds)) return cached;

  // The store object too: two instances' in-memory machines share a location and a profile name.
  const key = `${storeId(deps.store)}\u0000${deps.store.location}\u0000${deps.profile}\u0000${accessTokenKey(request.resource, request.scopes, concretePlace(session, request.place))}`;
  const pending = inFlight.get(key);
  if (pending) return pending;
  const flight = renewUnderLock(deps, request, cached).finally(() => inFlight.delete(key));
  inFlight.set(key, flight);
  return flight;
}

async function renewUnderLock(
  deps: LifecycleDeps,
  request: FreshTokenRequest,
  seen: AccessToken | undefined,
): Promise<AccessToken> {
  // Released only after the lock is: a held signal re-raised inside would leave the lock behind.
  let section: CriticalSection | undefined;
  try {
    return await lockedRenewal(deps, request, seen, (opened) => {
      section = opened;
    });
  } finally {
    section?.release();
  }
}

function lockedRenewal(
  deps: LifecycleDeps,
  request: FreshTokenRequest,
  seen: AccessToken | undefined,
  opened: (section: CriticalSection) => void,
): Promise<AccessToken> {
  return deps.withProfileLock(async (lock) => {
    const current = await deps.store.read(deps.profile);
    if (!current) throw await notLoggedIn(deps);
    const stored = findAccessToken(current, request.resource, request.scopes, request.place);
    // Another process renewed while this one waited for the lock: take its token as it is.
    if (stored && stored.token !== seen?.token && !isExpired(stored, deps.now())) return stored;
    // Decided from the configuration alone: nothing, not even discovery, goes to another place.
    assertBound(current, deps.boundTo ?? null, {
      profile: deps.profile,
      loginCommand: deps.loginCommand,
      action: 'no refresh was attempted',
    });

    const provider = await deps.provider();
    // From sending the refresh until its result is stored, a signal must not cost the session.
    opened(
      holdSignals({
        what: `the token refresh of profile ${deps.profile}`,
        lost: `The new refresh token may be lost; if \`${deps.tokenCommand ?? `${deps.cliName ?? 'keyfob'} token`}\` then fails, run \`${deps.loginCommand}\``,
        ...(deps.cliName ? { prefix: deps.cliName } : {}),
      }),
    );
    return renewAndCommit(deps, request, lock, provider, current, stored);
  });
}

async function renewAndCommit(
  deps: LifecycleDeps,
  request: FreshTokenRequest,
  lock: HeldLock,
  provider: CredentialProvider,
  current: Session,
  stored: AccessToken | undefined,
): Promise<AccessToken> {
  let next: Session;
  try {
    next = await provider.renew(current, request);
  } catch (error) {
    // Part of the renewal succeeded (a login renewed before a failed exchange): keep it.
    const partial = renewedSessionOf(error);
    if (partial) {
      const boundTo = current.bound_to ?? deps.boundTo;
      if (boundTo) partial.bound_to = boundTo;
      await deps.store.write(deps.profile, partial, { signal: lock.signal });
    }
    if (stored && !isExpired(stored, deps.now()) && !request.force) {
      deps.log.warn(
        `could not refresh the token of profile ${deps.profile} early; using the one still valid`,
      );
      deps.log.debug('early refresh failed', { profile: deps.profile, reason: errorName(error) });
      return stored;
    }
    throw asAuthenticationRequired(error, deps);
  }
  // A session stored before bindings were recorded is bound to where it was just renewed.
  const boundTo = current.bound_to ?? deps.boundTo;
  if (boundTo) next.bound_to = boundTo;
  await deps.store.write(deps.profile, next, { signal: lock.signal });
  const token = findAccessToken(next, request.resource, parseScopes(request.scopes), request.place);
  if (!token)
    throw new AuthenticationRequired(`the provider returned no access token for profile ${deps.profile}`);
  return token;
}

function asAuthenticationRequired(error: unknown, deps: LifecycleDeps): unknown {
  // Its message names the credential and what to run; "log in again" would be the wrong fix.
  if (error instanceof CredentialRefused) return error;
  if (error instanceof AuthenticationRequired) {
    // A refusal of the refresh itself stays a RefreshFailed (REFRESH_FAILED), still exit 2.
    const Kind = error instanceof RefreshFailed ? RefreshFailed : AuthenticationRequired;
    return new Kind(
      `profile ${deps.profile} can no longer be renewed (${error.message.replace(/;.*$/, '')})`,
      { hint: `run \`${deps.loginCommand}\``, cause: error },
    );
  }
  return error;
}

/**
 * A refresh cannot add scopes (RFC 6749 §6): asking for one the grant lacks is a step-up, a new
 * authorization. Machine sessions are exempt: they simply acquire a token with those scopes.
 */
function checkScopes(session: Session, wanted: readonly string[], deps: LifecycleDeps): void {
  if (session.obtained_by === 'client_credentials' || session.scopes.length === 0) return;
  const missing = parseScopes(wanted).filter((scope) => !session.scopes.includes(scope));
  if (missing.length === 0) return;
  throw new InsufficientScope(`profile ${deps.profile} was not granted ${missing.join(' ')}`, missing, {
    hint: addScopesHint(deps.refreshCommand ?? refreshOf(deps.loginCommand), missing),
  });
}

async function notLoggedIn(deps: LifecycleDeps): Promise<AuthenticationRequired> {
  const why = (await deps.whyMissing?.().catch(() => null)) ?? null;
  return new AuthenticationRequired(`not logged in (profile ${deps.profile})${why ? `: ${why}` : ''}`, {
    hint: `run \`${deps.loginCommand}\``,
  });
}

function errorName(error: unknown): string {
  return error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'unknown';
}
