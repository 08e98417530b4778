/**
 * The public types of a keyfob instance: its options, what each method takes and returns.
 */
import type { AppNames } from '../config/names.js';
import type { KeyfobConfig } from '../config/schema.js';
import type { FleetStatusReport } from '../fleet/status.js';
import type { KeyfobRequestInit } from '../http/authenticated-fetch.js';
import type { LoginInteraction, RevocationResult } from '../providers/provider.js';
import type { ChainStep } from '../resolve/chain.js';
import type { Tenant } from '../session.js';
import type { StoreKind } from '../stores/store.js';
import type { AssumeUserOptions, AssumeUserResult, ServicePrincipals } from './control-plane-types.js';

export type {
  CredentialsFileField,
  CredentialsFileOptions,
  Env,
  InteractiveOptions,
  KeyfobOptions,
} from './options.js';

import type { KeyfobSession, SessionOptions } from './session-client.js';

export type {
  AssumeUserOptions,
  AssumeUserResult,
  CreateServicePrincipalOptions,
  CreateServicePrincipalResult,
  ServicePrincipalCallOptions,
  ServicePrincipals,
} from './control-plane-types.js';

/** `kf.login()`: the profile and provider, the flow, and how to talk to the person. */
export interface LoginOptions {
  profile?: string;
  /** Provider name; otherwise DESIGN.md's provider selection applies. */
  provider?: string;
  /** `auto` picks browser or device by DESIGN.md's rule. */
  flow?: 'auto' | 'browser' | 'no-browser' | 'device';
  scopes?: string | readonly string[];
  /**
   * How to show the person what to do (the link, the device code) and open the browser. By
   * default: lines on stderr (server text made safe) and `$BROWSER` or the system's opener.
   */
  interaction?: LoginInteraction;
  /** Whether a person is at the terminal: only then may keyfob ask a question. */
  personPresent?: boolean;
  /** Asks the person to pick a provider; used only when `personPresent`. */
  chooseProvider?: (names: readonly string[]) => Promise<string>;
  /** How long to wait for the person; 5 minutes by default. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Keep the session in the profile's store (and the state file). The CLI does; a login started
   * by library code stays in this instance's memory unless it asks for this.
   */
  persist?: boolean;
  /**
   * The tenant to log in to, for a provider with a control plane (`login --tenant`); above
   * `<PREFIX>_TENANT`, the profile's and the provider's tenant.
   */
  tenant?: string;
  /** Log in with a token given from outside (`login --with-token`, read from stdin). */
  token?: string;
  /** A machine client's secret (`login P --with-secret`, read from stdin), kept in the store. */
  secret?: string;
  /**
   * For a provider that logs in with an email and password (`password`, `firebase`): the email
   * (`login P --email E`).
   */
  email?: string;
  /** The password (`--password-stdin`, or typed hidden). Never logged, never in an error, never stored. */
  password?: string;
  /**
   * Asks the person for what is missing of the email and password (the email shown, the
   * password hidden); used only when `personPresent`.
   */
  askCredentials?: (known: { email?: string }) => Promise<{ email: string; password: string }>;
}

/** What `kf.login()` did: the profile, provider, subject, store and tenant, and notices to show. */
export interface LoginResult {
  profile: string;
  provider: string;
  subject: string | null;
  store: StoreKind;
  /** The tenant the login chose (an exchange provider's), else `null`. */
  tenant: Tenant | null;
  /** The provider whose session this login replaced in the profile, if any. */
  replacedProvider: string | null;
  /** Lines to show the person (fallbacks, replacements). */
  notices: string[];
}

/** `kf.getToken()`: a credential for this call (level 1), the resource, scopes and minimum lifetime. */
export interface GetTokenOptions {
  /** Level 1 of the chain for this call: a profile, a token, or machine credentials. */
  profile?: string;
  token?: string;
  clientId?: string;
  clientSecret?: string;
  tenant?: string;
  /** RFC 8707 resource; the provider's `resource` by default. */
  resource?: string | null;
  scopes?: string | readonly string[];
  /** Minimum remaining lifetime in seconds; 60 by default. */
  minTtl?: number;
  /** Renew now even if the cached token is fresh (`keyfob refresh`). */
  forceRefresh?: boolean;
}

/** A token `kf.getToken()` returns, with its expiry, scopes, profile or source, resource and tenant. */
export interface TokenResult {
  access_token: string;
  token_type: string;
  expires_at: string | null;
  scopes: string[];
  /** The profile the token came from, or the source outside profiles (`KEYFOB_TOKEN`, …). */
  profile: string;
  resource: string | null;
  /** The tenant the token is scoped to (an exchange provider's), else `null`. */
  tenant: Tenant | null;
}

/** `explain`: the resolution chain for the current environment, each step taken or why not. */
export interface ExplainReport {
  /** What a call with no options would use. */
  resolved: { level: string; kind: string; source: string; profile: string | null; tenant: string | null };
  steps: ChainStep[];
  /** The fleet the resolved credential's tokens come from (a machine's, with a fleet), else `null`. */
  fleet?: FleetSummary | null;
}

/** One profile `kf.logout()` removed, and whether its refresh token was revoked. */
export interface LogoutResult {
  profile: string;
  revocation: RevocationResult;
  warnings: string[];
}

/** One profile as `kf.status()` reports it: provider, subject, tenant, expiry, store. */
export interface ProfileStatus {
  name: string;
  provider: string | null;
  subject: string | null;
  tenant: Tenant | null;
  scopes: string[];
  expires_at: string | null;
  refreshable: boolean;
  store: StoreKind | null;
  /** Why the profile's store was chosen (recorded at its first login). */
  store_reason: string | null;
  logged_in: boolean;
  /** The shown token came from the fleet's Redis (another worker acquired it). */
  from_fleet?: boolean;
}

/** `kf.status()`: every known profile, the active one, and what in the environment overrides them. */
export interface StatusReport {
  active_profile: string;
  profiles: ProfileStatus[];
  /** The environment variable that takes precedence over every profile, if one is set. */
  overridden_by: string | null;
  /** Problems met while reading (a corrupt store moved aside, …). */
  notes: string[];
  /** The fleet machine tokens are shared through (DESIGN.md, Fleets), or `null`. */
  fleet?: FleetSummary | null;
}

/** A fleet as `status` and `explain` name it: never a password or key. */
export interface FleetSummary {
  /** The Redis URL without user or password. */
  redis: string;
  key_prefix: string;
}

/** A tenant as `tenants` lists it. */
export interface ListedTenantInfo extends Tenant {
  /** The control plane marks it as the caller's default. */
  default: boolean;
}

/** `kf.tenants()`: the tenants the profile's login belongs to, and the current one's id. */
export interface TenantsResult {
  current: string | null;
  tenants: ListedTenantInfo[];
}

/** `kf.importSession()`: a session another system obtained, to be renewed like any other. */
export interface ImportSessionOptions {
  /** The profile to store it as. */
  profile: string;
  /** The configured provider it came from (oidc, oauth2, password or firebase): it is renewed there. */
  provider: string;
  accessToken: string;
  /** Without one the session ends when the access token expires. */
  refreshToken?: string;
  /** Seconds the access token has left; else its `exp` claim, else unknown. */
  expiresIn?: number;
  /** The scopes granted; the provider's configured scopes by default. */
  scopes?: string | readonly string[];
  /** The tenant (account) the session belongs to, by id. */
  tenant?: string;
  /** Keep it in the profile's store (default `true`); `false` keeps it in this instance's memory. */
  persist?: boolean;
  /** Make the profile the active one (as `login` does); default `false`. */
  makeActive?: boolean;
}

/** What {@link Keyfob.importSession} stored. */
export interface ImportSessionResult {
  profile: string;
  provider: string;
  store: StoreKind;
  expires_at: string | null;
  /** Lines to show a person (a memory store, a fallback store). */
  notices: string[];
}

/** What {@link Keyfob.profileInfo} knows of a profile from its store alone: no secret in it. */
export interface ProfileInfo {
  profile: string;
  /** The provider of its session, else the one the state file or config.yaml names, else `null`. */
  provider: string | null;
  /** A session is stored (it may have expired). */
  logged_in: boolean;
  /** The scopes the session was granted. */
  scopes: string[];
  /** Expiry of its access token (ISO 8601 UTC), `null` when unknown or none. */
  expires_at: string | null;
  /** When that token was obtained (ISO 8601 UTC), `null` when none. */
  obtained_at: string | null;
  /** The tenant id, or `null`. */
  tenant: string | null;
  /** It can be renewed without a person (a refresh token, or machine credentials). */
  refreshable: boolean;
  /** The exact command that logs this profile in. */
  login_command: string;
}

/** A keyfob instance (`createKeyfob()`): every operation on the app's profiles and credentials. */
export interface Keyfob {
  readonly names: AppNames;
  /** The vendor's names of keyfob's commands, as `createKeyfob({ commandNames })` was given them. */
  readonly commandNames: Readonly<Record<string, string>>;
  readonly home: string;
  /** The validated configuration (read once per instance). */
  config(): Promise<KeyfobConfig>;
  /**
   * The instance's plain `fetch`: its own dispatcher (CA bundle, proxy, TLS setting), no
   * credential attached. For discovery, JWKS and introspection calls made on the caller's behalf.
   * Plain http off loopback is refused before anything is sent (`InsecureUrl`), and a response
   * is read whole up to 1 MiB (4 MiB for a POST), else `ResponseTooLarge`.
   */
  readonly http: typeof globalThis.fetch;
  login(options: LoginOptions): Promise<LoginResult>;
  getToken(options?: GetTokenOptions): Promise<TokenResult>;
  /**
   * Stores a session another system obtained as `profile`'s, bound to `provider`, so it is
   * renewed (with its refresh token) like a login's.
   * @throws InvalidInput for a bad profile name, an unknown or unsuitable provider, or a field
   *   of the wrong type; nothing is written then.
   */
  importSession(options: ImportSessionOptions): Promise<ImportSessionResult>;
  logout(options?: { profile?: string; all?: boolean }): Promise<LogoutResult[]>;
  status(): Promise<StatusReport>;
  /**
   * The names of the known profiles (config.yaml, the state file, the file store), sorted;
   * reads no credential store and sends nothing (shell completion).
   */
  profiles(): Promise<string[]>;
  /**
   * Who the token says the caller is: the control plane's `users/me` (with `expires_at`) when
   * the profile's provider has one, else userinfo, else the ID token's claims.
   */
  whoami(options?: { profile?: string; tenant?: string }): Promise<Record<string, unknown>>;
  /**
   * Admin impersonation (`assume_user`): a token of `userId` in `tenantId`, stored in the profile
   * `login` would write, made active. The key is kept with the session to assume again on expiry.
   * @throws AdminKeyRefused (exit 2) for a wrong key; UserNotFound / TenantNotFound (exit 1).
   */
  assumeUser(options: AssumeUserOptions): Promise<AssumeUserResult>;
  /** Service principals at the control plane of a profile (exchange or assume_user). */
  readonly servicePrincipals: ServicePrincipals;
  /**
   * An authenticated request: the credential is attached only for the provider's allowed
   * origins (plus `allowOrigins`), refreshed once on a 401, never carried across origins on a
   * redirect.
   * @throws AuthenticationRequired on a final 401; PermissionDenied on a 403.
   */
  fetch(input: string | URL, init?: KeyfobRequestInit): Promise<Response>;
  /**
   * The tenants the profile's login belongs to (the control plane's list) and the current one.
   * @throws InvalidInput for a profile whose provider has no control plane.
   */
  tenants(options?: { profile?: string }): Promise<TenantsResult>;
  /**
   * Makes `tenantId` the profile's current tenant (session and state file) by one exchange of
   * the login's token: no new login, the identity provider sees nothing.
   * @throws TenantNotFound naming the tenants the login belongs to.
   */
  switchTenant(
    tenantId: string,
    options?: { profile?: string },
  ): Promise<{ profile: string; tenant: Tenant }>;
  /** Makes `profile` the active one (state file); it must be a known profile. */
  switchProfile(profile: string): Promise<{ profile: string; loggedIn: boolean }>;
  /** The resolution chain as it stands, for `explain`: no secret appears in it. */
  explain(
    options?: Pick<GetTokenOptions, 'profile' | 'token' | 'clientId' | 'clientSecret' | 'tenant'>,
  ): Promise<ExplainReport>;
  /**
   * An HTTP session bound to `profile` (the selected profile when omitted): `get`, `post`,
   * `put`, `patch`, `delete` and `request`, each through {@link Keyfob.fetch} (the credential
   * only for the provider's origins, one refresh and one retry on a 401), relative URLs under
   * the provider's `api_base`, objects sent as JSON. Nothing is sent until the first request.
   *
   * ```ts
   * await using api = kf.session('corporate');
   * const items = await (await api.get('/v1/items')).json();
   * await api.post('/v1/items', { name: 'x' });
   * ```
   */
  session(profile?: string, options?: SessionOptions): KeyfobSession;
  /**
   * Closes the instance's idle HTTP connections once requests in flight end. Keep-alive sockets
   * otherwise hold a short-lived process (a CLI command) open for seconds after its work is
   * done. The instance stays usable: a later call opens new connections. A `fetch` given to
   * `createKeyfob` is the caller's to close.
   */
  close(): Promise<void>;
  /**
   * What is stored for `profile` (provider, scopes, expiry, tenant), from its store alone: no
   * secret in the answer, no network request, no lock.
   * @throws InvalidInput for a name that is not a profile name.
   */
  profileInfo(profile: string): Promise<ProfileInfo>;
  /**
   * Starts a local credential proxy on 127.0.0.1 (DESIGN.md, Agent tools): requests that carry
   * its key (`Proxy-Authorization: Bearer KEY` or `X-<App>-Proxy-Key: KEY`) are forwarded under
   * the profile's `api_base` (or tenant `server_url`) only, never to the identity provider or the
   * control plane, each with a fresh credential; echoed credentials come back `[REDACTED]`.
   *
   * ```ts
   * await using proxy = await kf.proxy({ profile: 'ci', scope: 'registry:read' });
   * spawn('tool', { env: { ...env, KEYFOB_PROXY_URL: proxy.url, KEYFOB_PROXY_KEY: proxy.key } });
   * ```
   */
  proxy(options?: ProxyOptions): Promise<CredentialProxy>;
  /**
   * What the fleet holds (`keyfob fleet status`): entry names, expiries and keys, never a token.
   * @throws InvalidInput without a fleet; FleetUnavailable when its Redis does not answer.
   */
  fleetStatus(): Promise<FleetStatusReport>;
}

/** Options of {@link Keyfob.proxy}. */
export interface ProxyOptions {
  /** The profile whose credential the proxy adds; the selected one by default. */
  profile?: string;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Hold a token with only these scopes (a narrowing refresh, or a client-credentials request). */
  scope?: string | readonly string[];
  /** Loopback only: `127.0.0.1` (the default) or `::1`. */
  host?: '127.0.0.1' | '::1';
}

/** A running credential proxy. The key is useless anywhere else and dies with it. */
export interface CredentialProxy {
  /** `http://127.0.0.1:PORT`: a request's path is appended under the upstream base. */
  readonly url: string;
  /** 32 random bytes, base64url: give it to the tool (environment), never on a command line. */
  readonly key: string;
  /** Where requests go: the profile's `api_base` or tenant `server_url`. */
  readonly upstream: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
