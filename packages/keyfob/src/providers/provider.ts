/**
 * The one interface every credential provider implements.
 *
 * A provider knows one way of obtaining credentials (an OIDC issuer, a machine client, …) and
 * nothing about profiles, stores or locks: the instance (`keyfob.ts`) and the lifecycle layer
 * decide when to call it and where its sessions go.
 */

import type { ListedTenant } from '../control-plane/control-plane.js';
import type { Logger } from '../log.js';
import type { Session, TokenPlace } from '../session.js';

/** The ways a person or machine can log in. */
export type LoginFlow = 'browser' | 'device' | 'client_credentials' | 'password';

/** What a provider needs from the instance that hosts it. */
export interface ProviderRuntime {
  /**
   * `fetch` through the instance's own dispatcher (CA bundle, proxy, TLS setting) and its guard
   * (`http/guard.ts`: plain http only on loopback, every response read up to a bound).
   */
  fetch: typeof globalThis.fetch;
  /** The clock; injectable so tests can move it. */
  now(): Date;
  log: Logger;
}

/** Device-flow instructions for the person. */
export interface DeviceCodePrompt {
  verificationUri: string;
  verificationUriComplete: string | null;
  userCode: string;
  expiresInSeconds: number;
}

/**
 * How a login talks to the person at the terminal. The CLI prints to stderr; a library caller
 * may render it in its own UI.
 */
export interface LoginInteraction {
  /**
   * What to open to log in: the login's one-time start link (never the provider's authorization
   * URL, whose secrets it keeps off every argv). Always shown, on the person's own channel only
   * (never stdout or a log): a browser opener can fail silently. `opened`: the browser command
   * started and did not fail; `tried`: keyfob tried to open a browser at all (false with
   * `--no-browser`).
   */
  showAuthorizationUrl(url: string, info: { opened: boolean; tried?: boolean }): void;
  /** The device-flow verification URL and user code. */
  showDeviceCode(prompt: DeviceCodePrompt): void;
  /**
   * Opens a URL in the browser (a `file://` page, or with `browser_handoff: url` the start link);
   * resolves `false` when it could not (not spawned, or exited non-zero).
   */
  openBrowser(url: string): Promise<boolean>;
  /**
   * Asks the person to pick a tenant (a terminal's numbered list); given only when a person is
   * there. Resolves the chosen tenant's id.
   */
  chooseTenant?(tenants: readonly ListedTenant[]): Promise<string>;
  /** Shows that keyfob is waiting (a spinner on a terminal); the returned function stops it. */
  waiting(message: string): () => void;
  /** A one-line notice to the person ("using the device flow because …"). */
  notice(message: string): void;
}

/** What `login` asks of a provider. */
export interface LoginRequest {
  flow: LoginFlow;
  /** For `browser`: open the browser (false = only print the URL, still wait on the loopback). */
  openBrowser: boolean;
  /** Scopes to request; empty means the provider's configured scopes. */
  scopes: readonly string[];
  interaction: LoginInteraction;
  /** How long to wait for the person, in milliseconds. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** A machine client's secret read from stdin (`login P --with-secret`); kept in the session. */
  secret?: string;
  /** For `password`: the email (or user name) to log in as. */
  email?: string;
  /** For `password`: the password. Never logged, never in an error, never stored. */
  password?: string;
  /**
   * For a provider with a control plane (`exchange`): the tenants asked for, highest first
   * (`--tenant`, `<PREFIX>_TENANT`, the profile's tenant), each with where it came from. The
   * provider adds its own `tenant` setting below them (DESIGN.md: which tenant).
   */
  tenants?: ReadonlyArray<{ id: string; source: string }>;
  /** The command that runs this login again (`keyfob login --profile work`), for messages. */
  command?: string;
  /**
   * Called just before the request whose answer is the session (the code exchange), or as soon
   * as that answer arrives where the request is a poll that may wait for the person (device
   * flow): from then until the session is stored, the caller holds termination signals.
   */
  onTokenRequest?: () => void;
}

/** An access token wanted for a resource (RFC 8707) and scopes. */
export interface TokenRequest {
  resource: string | null;
  /** Empty means the session's own scopes. */
  scopes: readonly string[];
  /** For a control-plane token: which control plane and tenant it belongs to. */
  place?: TokenPlace | null;
}

/** What `logout` got from the provider's revocation endpoint (or why nothing was revoked). */
export interface RevocationResult {
  /** True when the provider confirmed revocation of the refresh token. */
  revoked: boolean;
  /** Why nothing was revoked (no refresh token, no revocation endpoint, …). */
  detail: string;
}

/** What every provider type implements: log in, renew, revoke, and describe its place. */
export interface CredentialProvider {
  /** Name in the configuration. */
  readonly name: string;
  readonly type: string;
  /** Login flows this provider can perform, as configured (discovery may narrow them). */
  readonly loginFlows: readonly LoginFlow[];
  /** Origins this provider's tokens may be sent to. */
  readonly allowedOrigins: readonly string[];
  /** The RFC 8707 resource `token` asks for by default, or `null`. */
  readonly defaultResource: string | null;
  /** True when tokens can be re-acquired without a person (client credentials, token file). */
  readonly canReacquire: boolean;

  /** Performs a login and returns a new session holding at least one access token. */
  login(request: LoginRequest): Promise<Session>;
  /**
   * Returns a copy of the session with a new access token for `request` (refreshing, or
   * re-acquiring for machine clients). A rotated refresh token replaces the old one.
   * @throws AuthenticationRequired when the session can no longer be renewed.
   */
  renew(session: Session, request: TokenRequest): Promise<Session>;
  /** Revokes what can be revoked (the refresh token) at the provider. */
  revoke(session: Session): Promise<RevocationResult>;
  /** Who the token says the caller is: userinfo when the provider has it, else the ID token's claims. */
  userinfo(session: Session, accessToken: string): Promise<Record<string, unknown>>;
}

const renewedSessions = new WeakMap<object, Session>();

/**
 * Marks `error`, thrown by a `renew` after part of it succeeded (an exchange provider renewed
 * its login, then the exchange failed), with the session to store anyway: its refresh token may
 * have rotated, and the old one is then spent.
 */
export function withRenewedSession<E>(error: E, session: Session): E {
  if (typeof error === 'object' && error !== null) renewedSessions.set(error, session);
  return error;
}

/** The session a failed `renew` asks to store anyway (see {@link withRenewedSession}). */
export function renewedSessionOf(error: unknown): Session | undefined {
  return typeof error === 'object' && error !== null ? renewedSessions.get(error) : undefined;
}
