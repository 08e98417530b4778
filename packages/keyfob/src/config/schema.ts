/**
 * The typed configuration: what `config.yaml` (or a config object given in code) becomes once
 * validated. One interface per provider type, discriminated by `type`.
 *
 * Conventions: optional settings are optional properties; lists and maps are always present
 * (possibly empty); URLs are kept exactly as the user wrote them once they passed the URL rules,
 * because an OpenID issuer is compared as a string and `https://x` is not `https://x/`.
 */
import type { CredentialPlacement } from '../http/credential.js';
import type { StoreKind } from '../store-kind.js';

export { STORE_KINDS } from '../store-kind.js';

/** The provider types, in the order DESIGN.md lists them. */
export const PROVIDER_TYPES = [
  'oidc',
  'oauth2',
  'client_credentials',
  'password',
  'firebase',
  'exchange',
  'assume_user',
  'static',
] as const;

/** The provider types config.yaml accepts (`oidc`, `oauth2`, `client_credentials`, …). */
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Interactive login flows: authorization code + PKCE through the browser, or device code. */
export const LOGIN_FLOWS = ['browser', 'device'] as const;
export type LoginFlow = (typeof LOGIN_FLOWS)[number];

/** Signature algorithms accepted for `private_key_jwt` client assertions (asymmetric only). */
export const PRIVATE_KEY_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type PrivateKeyAlg = (typeof PRIVATE_KEY_ALGS)[number];

/** How a client authenticates at the token endpoint; `none` is a public client (not machines). */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];

/** Scopes an `oidc` provider asks for when its config names none. */
export const DEFAULT_OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];

/**
 * Authorization-request parameters keyfob sets itself; `authorization_params` may not override
 * them (PKCE, `state` and `nonce` are security checks, the others have their own settings).
 */
export const RESERVED_AUTHORIZATION_PARAMS: readonly string[] = [
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'scope',
  'request',
  'request_uri',
];

/** Settings every provider type has. */
export interface ProviderConfigBase {
  /** The provider's name: its key under `providers`. */
  name: string;
  type: ProviderType;
  /** Base URL of the API the tokens are for; its origin is added to {@link allowed_origins}. */
  api_base?: string;
  /**
   * Origins (`https://host[:port]`) the provider's tokens may be sent to: `api_base`'s origin
   * and any listed in the config, deduplicated; `kf.fetch` refuses others.
   */
  allowed_origins: string[];
  /** Sorted, unique (see `parseScopes`); `oidc` defaults to {@link DEFAULT_OIDC_SCOPES}. */
  scopes: string[];
  /** Extra authorization-request parameters (`prompt`, `access_type`, `audience`, …). */
  authorization_params: Record<string, string>;
  /** RFC 8707 resource indicator that `token` asks for by default; never inferred. */
  resource?: string;
  /** Where `fetch` puts the token: `bearer` (default), a header or a cookie (`http/credential.ts`). */
  credential?: CredentialPlacement;
  /**
   * Secret settings whose `${VAR}` is unset, with the variable: the provider fails when used,
   * naming the variable, instead of the whole configuration failing at load.
   */
  unresolved_secrets?: Record<string, string>;
}

/** OpenID Connect with discovery: browser (PKCE) and device flows, refresh. */
export interface OidcProviderConfig extends ProviderConfigBase {
  type: 'oidc';
  issuer: string;
  client_id: string;
  /** For confidential clients; always from a `${VAR}` reference. */
  client_secret?: string;
  /** Flows offered; absent means every flow the issuer's discovery document supports. */
  flows?: LoginFlow[];
  /** For issuers whose discovery document omits the device endpoint. */
  device_authorization_endpoint?: string;
  /** Fixed port for the loopback redirect, for providers that match it exactly; absent: random. */
  redirect_port?: number;
  /** As for client_credentials; absent: `client_secret_basic` with a secret, else `none`. */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  private_key?: PrivateKeySource;
  private_key_alg?: PrivateKeyAlg;
  /** How the browser gets the login's start link; absent: `file`. */
  browser_handoff?: BrowserHandoff;
}

/** OAuth 2.0 with endpoints given by hand (e.g. GitHub). */
export interface OAuth2ProviderConfig extends ProviderConfigBase {
  type: 'oauth2';
  client_id: string;
  client_secret?: string;
  /** Required unless `flows` is `['device']`. */
  authorization_endpoint?: string;
  token_endpoint: string;
  /** Required when `flows` includes `device`. */
  device_authorization_endpoint?: string;
  revocation_endpoint?: string;
  userinfo_endpoint?: string;
  /** Checked against the `iss` authorization response parameter (RFC 9207) when present. */
  issuer?: string;
  /** Flows offered; absent means those the given endpoints allow. */
  flows?: LoginFlow[];
  redirect_port?: number;
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  private_key?: PrivateKeySource;
  private_key_alg?: PrivateKeyAlg;
  browser_handoff?: BrowserHandoff;
}

/**
 * A private key for `private_key_jwt`: a file path (absolute after validation, relative paths
 * being taken from the config file's directory), or the key's text (PEM, or a JWK as JSON) from
 * a `${VAR}` reference. Either holds PEM (PKCS#8, PKCS#1 or SEC1) or a private JWK.
 */
export type PrivateKeySource = { kind: 'file'; path: string } | { kind: 'pem'; pem: string };

/** Machine login (service principal). At least one of `issuer` and `token_endpoint` is set. */
export interface ClientCredentialsProviderConfig extends ProviderConfigBase {
  type: 'client_credentials';
  issuer?: string;
  token_endpoint?: string;
  client_id: string;
  /** From a `${VAR}` reference; absent when it lives in the store (`login P --with-secret`). */
  client_secret?: string;
  private_key?: PrivateKeySource;
  /** Only with `private_key`; absent means "infer from the key". */
  private_key_alg?: PrivateKeyAlg;
  /** `private_key_jwt` when a private key is configured, else `client_secret_basic` unless set. */
  token_endpoint_auth_method: TokenEndpointAuthMethod;
}

/** Resource-owner password grant. At least one of `issuer` and `token_endpoint` is set. */
export interface PasswordProviderConfig extends ProviderConfigBase {
  type: 'password';
  issuer?: string;
  token_endpoint?: string;
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  private_key?: PrivateKeySource;
  private_key_alg?: PrivateKeyAlg;
}

/** Firebase Authentication's REST API. */
export interface FirebaseProviderConfig extends ProviderConfigBase {
  type: 'firebase';
  /** The web API key; an identifier, not a secret, so it may be written literally. */
  api_key: string;
  /** `host:port` of the Auth emulator, which speaks plain http: loopback only. */
  emulator_host?: string;
  project_id?: string;
}

/** The provider types an `exchange` provider may log in with (DESIGN.md: Control planes). */
export const EXCHANGE_LOGIN_TYPES = ['oidc', 'oauth2', 'password', 'firebase', 'client_credentials'] as const;

/** Which of the login's tokens is exchanged. */
export const SUBJECT_TOKENS = ['id_token', 'access_token'] as const;
export type SubjectTokenKind = (typeof SUBJECT_TOKENS)[number];

/**
 * Endpoint settings of a control plane: each replaces the protocol's path (appended to
 * `control_plane`) with an absolute URL, under the same https rule.
 */
export interface ControlPlaneEndpoints {
  tenants_endpoint?: string;
  token_endpoint?: string;
  assume_user_endpoint?: string;
  users_me_endpoint?: string;
  service_principals_endpoint?: string;
}

/**
 * A control plane turns the token of another provider (its `login`) into a tenant- and
 * region-scoped token (RFC 8693) and names the tenant's regional server.
 */
export interface ExchangeProviderConfig extends ProviderConfigBase, ControlPlaneEndpoints {
  type: 'exchange';
  /** Name of the provider that logs in; one of {@link EXCHANGE_LOGIN_TYPES}. */
  login: string;
  /** Base URL of the control plane; protocol paths are appended to it. */
  control_plane: string;
  /** Absent: `id_token` when the login has one, else `access_token`. */
  subject_token?: SubjectTokenKind;
  /** Default tenant id, below `--tenant`, the environment and the profile's tenant. */
  tenant?: string;
}

/** Admin impersonation at a control plane: an admin API key buys a user's token in a tenant. */
export interface AssumeUserProviderConfig extends ProviderConfigBase, ControlPlaneEndpoints {
  type: 'assume_user';
  control_plane: string;
  /** Always from a `${VAR}` reference; absent: `<PREFIX>_ADMIN_API_KEY`, else the store. */
  admin_api_key?: string;
}

/** A token given from outside. Neither field set: it comes from `--with-token` or the environment. */
export interface StaticProviderConfig extends ProviderConfigBase {
  type: 'static';
  /** Always from a `${VAR}` reference. */
  token?: string;
  /** Absolute path (relative ones are taken from the config file's directory). */
  token_file?: string;
}

/** One configured provider, validated: the union of every type's settings, told apart by `type`. */
export type ProviderConfig =
  | OidcProviderConfig
  | OAuth2ProviderConfig
  | ClientCredentialsProviderConfig
  | PasswordProviderConfig
  | FirebaseProviderConfig
  | ExchangeProviderConfig
  | AssumeUserProviderConfig
  | StaticProviderConfig;

/** The config interface of one provider type: `ProviderConfigOf<'oidc'>`. */
export type ProviderConfigOf<T extends ProviderType> = Extract<ProviderConfig, { type: T }>;

/** A profile declared in `config.yaml`. */
export interface ProfileConfig {
  /** Name of a configured provider. */
  provider: string | null;
  /** Tenant id to use with this profile. */
  tenant: string | null;
  /** Overrides the provider's `client_id`. */
  client_id: string | null;
}

/**
 * A validated configuration.
 *
 * `providers` and `profiles` have a `null` prototype, so a lookup by a user-supplied name
 * (`providers[name]`) never finds `constructor` or `__proto__` from `Object.prototype`.
 */
export interface KeyfobConfig {
  /** Absolute path of the file it came from; `null` for no file (missing default, or code). */
  file: string | null;
  default_provider: string | null;
  token_storage: StoreKind | null;
  providers: Record<string, ProviderConfig>;
  profiles: Record<string, ProfileConfig>;
  /** The keyfob agent: `agent`, `agent_idle_timeout`, `unlock_timeout` (defaults when absent). */
  agent: AgentConfig;
  /** `fleet:`: machine tokens shared through Redis (DESIGN.md, Fleets); absent without one. */
  fleet?: FleetConfig;
}

/** The `fleet:` setting, validated (`config/validate-fleet.ts`). */
export interface FleetConfig {
  /** `redis://` or `rediss://` URL; one holding a password came from a `${VAR}`. */
  redis: string;
  /** What every key of this fleet in Redis starts with. */
  key_prefix: string;
  /**
   * 32-byte keys as written (base64 or hex, each from a `${VAR}`), the newest first: the first
   * encrypts, every one decrypts. Kept as text so that redaction finds them.
   */
  encryption_keys: string[];
}

/**
 * `agent:` in config.yaml: `auto` starts the agent on the first command that needs it;
 * `manual` (the default) uses one that `agent start` started; `off` never asks one.
 */
export const AGENT_MODES = ['auto', 'manual', 'off'] as const;
export type AgentMode = (typeof AGENT_MODES)[number];

/** The keyfob agent's settings, validated; durations in seconds. */
export interface AgentConfig {
  mode: AgentMode;
  /** `agent_idle_timeout`: the agent exits after this long without a request. Default 1 h. */
  idle_timeout: number;
  /** `unlock_timeout`: the agent forgets an unlocked passphrase identity after this long. Default 15 min. */
  unlock_timeout: number;
}

/** Defaults of {@link AgentConfig}: unlock_timeout as git's credential-cache (15 min). */
export const DEFAULT_AGENT_CONFIG: AgentConfig = Object.freeze({
  mode: 'manual',
  idle_timeout: 3600,
  unlock_timeout: 900,
});

/** A configuration with nothing in it: what a missing default `config.yaml` means. */
export function emptyConfig(file: string | null = null): KeyfobConfig {
  return {
    file,
    default_provider: null,
    token_storage: null,
    providers: Object.create(null) as Record<string, ProviderConfig>,
    profiles: Object.create(null) as Record<string, ProfileConfig>,
    agent: { ...DEFAULT_AGENT_CONFIG },
  };
}

/**
 * How a browser login's start link reaches the browser: `file` (default) a 0600 page that
 * forwards to it, so no argv holds it; `url` the link itself, for browsers that cannot read a
 * local file (WSL, snap or flatpak browsers, remote editors' `$BROWSER` forwarders).
 */
export const BROWSER_HANDOFFS = ['file', 'url'] as const;
export type BrowserHandoff = (typeof BROWSER_HANDOFFS)[number];
