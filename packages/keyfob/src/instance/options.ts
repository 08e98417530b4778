/**
 * `createKeyfob(options)`: what an instance is made with (names, files, environment, explicit
 * credentials, the integrator options). Re-exported from `types.ts`.
 */
import type { KnownEnvSuffix } from '../config/names.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import type { Logger } from '../log.js';
import type { LoginInteraction } from '../providers/provider.js';
import type { CredentialStore, StoreKind } from '../stores/store.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** `createKeyfob(options)`: names, files, environment, explicit credentials, and the integrator options (envPrefix, env renames, store, interactive). */
export interface KeyfobOptions {
  /** The integrator's app name: it replaces `keyfob` in paths, env vars and messages. */
  appName?: string;
  /** How people run the auth commands, for messages (`acme auth`); defaults to the app name. */
  cliName?: string;
  /**
   * The vendor's names of keyfob's commands when it mounts them renamed (`{ login: 'signin' }`):
   * every hint ("run `acme auth signin`") then names the command its users have. Keys are
   * keyfob's command names, values command words (`[a-z][a-z0-9-]*`), else `InvalidInput`.
   */
  commandNames?: Readonly<Partial<Record<string, string>>>;
  /**
   * Prefix of the app's environment variables, without the trailing `_`: `KUMIHO_AUTH` gives
   * `KUMIHO_AUTH_TOKEN`. Defaults to the app name upper-cased (`acme` → `ACME`).
   */
  envPrefix?: string;
  /**
   * Single variables the vendor already documents under other names, by keyfob's suffix:
   * `{ VERIFY_TLS: 'KSCLI_VERIFY_SSL', ADMIN_API_KEY: 'ADMIN_API_KEY' }`. A renamed variable is
   * read under its new name only; every other one under `envPrefix`.
   */
  env?: Readonly<Partial<Record<KnownEnvSuffix | (string & {}), string>>>;
  /** The environment to read; `process.env` by default (tests, or an SDK given its own map). */
  environment?: Env;
  /** The home directory; otherwise `<PREFIX>_HOME`, `$XDG_CONFIG_HOME/<app>`, `~/.config/<app>`. */
  home?: string;
  /** A config file to read instead of `<home>/config.yaml` (the CLI's `--config`). */
  configPath?: string;
  /** Configuration given in code instead of a file; same shape and rules as config.yaml. */
  config?: Record<string, unknown>;
  log?: Logger;
  /** The clock; for tests. */
  now?: () => Date;
  /** Replaces the instance's fetch (tests, or a caller with its own transport). */
  fetch?: typeof globalThis.fetch;
  /** Explicit credentials (level 1 of the chain): a token given in code. */
  token?: string;
  /** Explicit machine credentials (level 1): with `clientSecret`, on the default provider's issuer. */
  clientId?: string;
  clientSecret?: string;
  /** The profile to use unless a call names another (level 1). */
  profile?: string;
  /** The tenant (some vendors say account) for the explicit credential or profile. */
  tenant?: string;
  /**
   * Asks for the passphrase of the encrypted-file store when `<PREFIX>_PASSPHRASE` is unset;
   * give it only when a person is there (the CLI does).
   */
  promptPassphrase?: (request: { file: string; creating: boolean }) => Promise<string>;
  /**
   * A control plane that does not speak keyfob's wire protocol: the integrator's implementation
   * of {@link ControlPlane}, used by every `exchange` provider instead of the default.
   */
  controlPlane?: ControlPlane;
  /**
   * Where sessions are kept: a kind (`keychain`, `encrypted-file`, `file`, `memory`), fixed for
   * every profile of this instance, or any object implementing {@link CredentialStore}.
   * Otherwise `token_storage`, `<PREFIX>_STORAGE`, and DESIGN.md's default choice apply.
   */
  store?: StoreKind | CredentialStore;
  /** The vendor's credentials file layout, so its users keep their existing files. */
  credentialsFile?: CredentialsFileOptions;
  /**
   * May a call (`getToken`, `fetch`) start a browser login when nothing else is found and a
   * person is there (stdin and stderr terminals, no `CI`, no `<PREFIX>_NO_PROMPT`)? Off by
   * default. Such a login stays in this instance's memory unless `persist: true`.
   */
  interactive?: boolean | InteractiveOptions;
}

/** `createKeyfob({ interactive })`: how an SDK-triggered login behaves. */
export interface InteractiveOptions {
  /** Keep the session in the profile's store, as `login` does; in memory only by default. */
  persist?: boolean;
  /** How to show the person what to do; a default that opens the browser and writes to stderr. */
  interaction?: LoginInteraction;
}

/**
 * `createKeyfob({ credentialsFile })`: DESIGN.md's file layouts.
 * - `sessions`: keyfob's own, a JSON file per profile (the default).
 * - `single-json`: every profile in one JSON file, keyed by profile name.
 * - `ini`: an INI file as AWS and Komodo use: `[default]` holds a person's `token`,
 *   `token_expiration` and tenant; a named section holding `client_id` and `client_secret` is a
 *   machine profile.
 */
export interface CredentialsFileOptions {
  layout: 'sessions' | 'single-json' | 'ini';
  /**
   * The file (`single-json`, `ini`); a leading `~` is the user's home (`HOME` of the instance's
   * environment). Default: `credentials.json` (`single-json`) or `credentials` (`ini`) in the
   * instance's home. Its directory must be the user's and private: never a shared `/tmp/<app>/`.
   */
  path?: string;
  /**
   * A variable whose value, when set, overrides `path` (`KSCLI_CREDENTIALS_PATH`). Full name,
   * read from the instance's environment.
   */
  pathEnv?: string;
  /**
   * The vendor's names for keyfob's fields: `{ tenant: 'account_id', token_expiration: 'expires' }`.
   * A field not given keeps its own name (`session`: `<app>_session`).
   */
  fields?: Readonly<Partial<Record<CredentialsFileField, string>>>;
}

/** The fields of a `single-json` or `ini` entry that a vendor may rename. */
export type CredentialsFileField =
  | 'token'
  | 'token_expiration'
  | 'refresh_token'
  | 'scopes'
  | 'tenant'
  | 'tenant_name'
  | 'user'
  | 'client_id'
  | 'client_secret'
  | 'admin_api_key'
  | 'provider'
  /**
   * The key under which the rest of a session (what the vendor has no key for: other access
   * tokens, ID token, binding, …) is kept in the same entry; default `<app>_session`.
   */
  | 'session';
