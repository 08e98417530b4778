/**
 * `createKeyfob()`: the instance that ties configuration, state, stores, providers and the
 * token lifecycle together. Everything heavy (openid-client, undici, the loopback server) is
 * loaded on first use, so a cached token costs a config read and a file read.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { configFromObject, loadConfig } from './config/load.js';
import { type AppNames, appNames, envVar } from './config/names.js';
import { resolveConfigPath, resolveHome } from './config/paths.js';
import type { KeyfobConfig, ProviderConfig } from './config/schema.js';
import { type KeyfobState, readState, updateState } from './config/state.js';
import {
  AuthenticationRequired,
  InvalidInput,
  KeyfobError,
  ProfileNotFound,
  StoreCorrupt,
  StoreUnavailable,
} from './errors.js';
import { chooseLoginFlow } from './flows/browser.js';
import type { KeyfobRequestInit } from './http/authenticated-fetch.js';
import { createFetch, httpSettings } from './http/dispatcher.js';
import { type HeldLock, profileLockPath, withLock } from './lifecycle/lock.js';
import { getFreshToken } from './lifecycle/refresh.js';
import { type Logger, silentLogger } from './log.js';
import type {
  CredentialProvider,
  LoginFlow,
  LoginInteraction,
  ProviderRuntime,
  RevocationResult,
} from './providers/provider.js';
import { type SelectedProfile, selectLoginProvider, selectProfile } from './resolve/select.js';
import {
  type AccessToken,
  DEFAULT_MIN_TTL_SECONDS,
  findAccessToken,
  parseScopes,
  type Session,
  type Tenant,
} from './session.js';
import { FileStore } from './stores/file.js';
import { MemoryStore } from './stores/memory.js';
import type { CredentialStore, StoreKind } from './stores/store.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface KeyfobOptions {
  /** The integrator's app name: it replaces `keyfob` in paths, env vars and messages. */
  appName?: string;
  /** How people run the auth commands, for messages (`acme auth`); defaults to the app name. */
  cliName?: string;
  /** Environment to read; `process.env` by default. */
  env?: Env;
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
}

export interface LoginOptions {
  profile?: string;
  /** Provider name; otherwise DESIGN.md's provider selection applies. */
  provider?: string;
  /** `auto` picks browser or device by DESIGN.md's rule. */
  flow?: 'auto' | 'browser' | 'no-browser' | 'device';
  scopes?: string | readonly string[];
  interaction: LoginInteraction;
  /** Whether a person is at the terminal: only then may keyfob ask a question. */
  personPresent?: boolean;
  /** Asks the person to pick a provider; used only when `personPresent`. */
  chooseProvider?: (names: readonly string[]) => Promise<string>;
  /** How long to wait for the person; 5 minutes by default. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LoginResult {
  profile: string;
  provider: string;
  subject: string | null;
  store: StoreKind;
  /** The provider whose session this login replaced in the profile, if any. */
  replacedProvider: string | null;
  /** Lines to show the person (fallbacks, replacements). */
  notices: string[];
}

export interface GetTokenOptions {
  profile?: string;
  /** RFC 8707 resource; the provider's `resource` by default. */
  resource?: string | null;
  scopes?: string | readonly string[];
  /** Minimum remaining lifetime in seconds; 60 by default. */
  minTtl?: number;
  /** Renew now even if the cached token is fresh (`keyfob refresh`). */
  forceRefresh?: boolean;
}

export interface TokenResult {
  access_token: string;
  token_type: string;
  expires_at: string | null;
  scopes: string[];
  profile: string;
  resource: string | null;
}

export interface LogoutResult {
  profile: string;
  revocation: RevocationResult;
  warnings: string[];
}

export interface ProfileStatus {
  name: string;
  provider: string | null;
  subject: string | null;
  tenant: Tenant | null;
  scopes: string[];
  expires_at: string | null;
  refreshable: boolean;
  store: StoreKind | null;
  logged_in: boolean;
}

export interface StatusReport {
  active_profile: string;
  profiles: ProfileStatus[];
  /** The environment variable that takes precedence over every profile, if one is set. */
  overridden_by: string | null;
  /** Problems met while reading (a corrupt store moved aside, …). */
  notes: string[];
}

export interface Keyfob {
  readonly names: AppNames;
  readonly home: string;
  /** The validated configuration (read once per instance). */
  config(): Promise<KeyfobConfig>;
  /**
   * The instance's plain `fetch`: its own dispatcher (CA bundle, proxy, TLS setting), no
   * credential attached. For discovery, JWKS and introspection calls made on the caller's behalf.
   */
  readonly http: typeof globalThis.fetch;
  login(options: LoginOptions): Promise<LoginResult>;
  getToken(options?: GetTokenOptions): Promise<TokenResult>;
  logout(options?: { profile?: string; all?: boolean }): Promise<LogoutResult[]>;
  status(): Promise<StatusReport>;
  /** Who the token says the caller is: userinfo, or the ID token's claims. */
  whoami(options?: { profile?: string }): Promise<Record<string, unknown>>;
  /**
   * An authenticated request: the credential is attached only for the provider's allowed
   * origins (plus `allowOrigins`), refreshed once on a 401, never carried across origins on a
   * redirect.
   * @throws AuthenticationRequired on a final 401; PermissionDenied on a 403.
   */
  fetch(input: string | URL, init?: KeyfobRequestInit): Promise<Response>;
}

const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60_000;

/** Creates a keyfob instance. Nothing is read until a method needs it. */
export function createKeyfob(options: KeyfobOptions = {}): Keyfob {
  const names = appNames(options.appName ?? 'keyfob');
  const cliName = options.cliName ?? names.app;
  const env: Env = options.env ?? process.env;
  const home = options.home ?? resolveHome({ names, env, homedir: homedir() });
  const log = options.log ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const clock = options.now;
  const nowMs = clock ? () => clock().getTime() : Date.now;
  const memory = new MemoryStore();
  // Tokens this instance already holds, by request: a fresh one is returned without touching
  // disk (a long-running SDK calls getToken per request). A token changed by another process
  // is seen when this one needs renewing; `forceRefresh` bypasses it.
  const memo = new Map<string, MemoEntry>();
  const providers = new Map<string, Promise<CredentialProvider>>();
  let configPromise: Promise<KeyfobConfig> | undefined;
  let runtime: ProviderRuntime | undefined;

  function config(): Promise<KeyfobConfig> {
    configPromise ??= (async () => {
      if (options.config) return configFromObject(options.config, env);
      const located = resolveConfigPath({ names, env, home, flag: options.configPath });
      return loadConfig({
        path: located.path,
        explicit: located.explicit,
        source: located.source,
        env,
        names,
        command: cliName,
        cacheDir: join(home, 'cache'),
      });
    })();
    return configPromise;
  }

  function providerRuntime(): ProviderRuntime {
    runtime ??= {
      fetch: options.fetch ?? createFetch(httpSettings(env, names.envPrefix), names.envPrefix, log),
      now,
      log,
    };
    return runtime;
  }

  async function provider(name: string): Promise<CredentialProvider> {
    let pending = providers.get(name);
    if (!pending) {
      pending = (async () => {
        const cfg = await config();
        const providerConfig = providerConfigOf(cfg, name);
        const { createProvider } = await import('./providers/index.js');
        return createProvider(providerConfig, { runtime: providerRuntime(), env, names, cliName });
      })();
      providers.set(name, pending);
    }
    return pending;
  }

  function providerConfigOf(cfg: KeyfobConfig, name: string): ProviderConfig {
    const found = Object.hasOwn(cfg.providers, name) ? cfg.providers[name] : undefined;
    if (!found) {
      throw new ProfileNotFound(`provider ${name} is no longer configured`, {
        hint: `add it back to config.yaml, or run \`${cliName} logout\` for the profiles that use it`,
      });
    }
    return found;
  }

  async function state(): Promise<KeyfobState> {
    const result = await readState(home, { cliName });
    if (result.warning) log.warn(result.warning.replace(/^warning: /, ''));
    return result.state;
  }

  function pickProfile(explicit: string | undefined, st: KeyfobState): SelectedProfile {
    const envName = envVar(names, 'PROFILE');
    return selectProfile({ explicit, envValue: env[envName], envName, active: st.active_profile });
  }

  /** The store kind chosen for new profiles, and whether it was chosen explicitly. */
  function configuredStoreKind(cfg: KeyfobConfig): { kind: StoreKind; explicit: boolean } {
    const fromEnv = env[envVar(names, 'STORAGE')];
    if (fromEnv) {
      if (!isStoreKind(fromEnv)) {
        throw new InvalidInput(
          `${envVar(names, 'STORAGE')} must be one of keychain, encrypted-file, file, memory`,
        );
      }
      return { kind: fromEnv, explicit: true };
    }
    if (cfg.token_storage) return { kind: cfg.token_storage, explicit: true };
    return { kind: 'file', explicit: false };
  }

  function openStore(kind: StoreKind): CredentialStore {
    if (kind === 'file') return new FileStore({ home });
    if (kind === 'memory') return memory;
    throw new StoreUnavailable(`the ${kind} store is not available in this version`, {
      hint: `choose token_storage: file (or ${envVar(names, 'STORAGE')}=file)`,
    });
  }

  function profileLock<T>(profile: string): (fn: (lock: HeldLock) => Promise<T>) => Promise<T> {
    return (fn) => withLock(profileLockPath(home, profile), fn);
  }

  function loginCommand(profile: SelectedProfile): string {
    return profile.source === 'default' || profile.source === 'active'
      ? `${cliName} login`
      : `${cliName} login --profile ${profile.name}`;
  }

  /** Where a profile lives and which provider it uses, from state and config. */
  function profileBinding(cfg: KeyfobConfig, st: KeyfobState, profile: string) {
    const recorded = Object.hasOwn(st.profiles, profile) ? st.profiles[profile] : undefined;
    const configured = Object.hasOwn(cfg.profiles, profile) ? cfg.profiles[profile] : undefined;
    return {
      provider: recorded?.provider ?? configured?.provider ?? null,
      store: recorded?.store ?? null,
      tenant: recorded?.tenant ?? null,
    };
  }

  async function login(opts: LoginOptions): Promise<LoginResult> {
    memo.clear();
    const [cfg, st] = await Promise.all([config(), state()]);
    const selected = pickProfile(opts.profile, st);
    const binding = profileBinding(cfg, st, selected.name);
    const providerName = await selectLoginProvider({
      argument: opts.provider,
      profileProvider: binding.provider,
      defaultProvider: cfg.default_provider,
      configured: Object.keys(cfg.providers),
      ...(opts.personPresent && opts.chooseProvider ? { choose: opts.chooseProvider } : {}),
      loginCommand: `${cliName} login`,
    });
    const chosen = await provider(providerName);
    const notices: string[] = [];
    let flow: LoginFlow | undefined = chosen.loginFlows.includes('client_credentials')
      ? 'client_credentials'
      : undefined;
    let openBrowser = false;
    if (!flow) {
      const choice = chooseLoginFlow({
        browserFlag: opts.flow === 'browser',
        noBrowserFlag: opts.flow === 'no-browser',
        deviceFlag: opts.flow === 'device',
        env,
        platform: process.platform,
        deviceAvailable: chosen.loginFlows.includes('device'),
        browserAvailable: chosen.loginFlows.includes('browser'),
      });
      if (choice.reason) opts.interaction.notice(choice.reason);
      flow = choice.flow;
      openBrowser = choice.openBrowser;
    }
    const session = await chosen.login({
      flow,
      openBrowser,
      scopes: parseScopes(opts.scopes),
      interaction: opts.interaction,
      timeoutMs: opts.timeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });

    const storeChoice = binding.store ? { kind: binding.store, explicit: true } : configuredStoreKind(cfg);
    const store = openStore(storeChoice.kind);
    if (!binding.store && !storeChoice.explicit) {
      notices.push(
        `Tokens are stored in ${store.location} (file store, readable only by you); choose another store with token_storage in config.yaml or ${envVar(names, 'STORAGE')}.`,
      );
    }
    const replacedProvider = binding.provider && binding.provider !== providerName ? binding.provider : null;
    if (replacedProvider) {
      notices.push(
        `Profile ${selected.name} was bound to provider ${replacedProvider}; its session was replaced.`,
      );
    }
    await withLock(profileLockPath(home, selected.name), async (lock) => {
      await store.write(selected.name, session, { signal: lock.signal });
    });
    if (storeChoice.kind !== 'memory') {
      await updateState(
        home,
        (s) => {
          const at = now().toISOString();
          const previous = s.profiles[selected.name];
          s.profiles[selected.name] = {
            provider: providerName,
            store: storeChoice.kind,
            tenant: session.tenant ?? previous?.tenant ?? null,
            created_at: previous?.created_at ?? at,
            updated_at: at,
          };
          s.active_profile = selected.name;
        },
        { cliName },
      );
    }
    return {
      profile: selected.name,
      provider: providerName,
      subject: session.subject,
      store: storeChoice.kind,
      replacedProvider,
      notices,
    };
  }

  /** The profile, its store and provider, for the token-reading commands. */
  async function openProfile(explicit: string | undefined) {
    const [cfg, st] = await Promise.all([config(), state()]);
    const selected = pickProfile(explicit, st);
    const binding = profileBinding(cfg, st, selected.name);
    const store = openStore(binding.store ?? configuredStoreKind(cfg).kind);
    return { cfg, selected, binding, store };
  }

  async function getToken(opts: GetTokenOptions = {}): Promise<TokenResult> {
    const minTtl = opts.minTtl ?? DEFAULT_MIN_TTL_SECONDS;
    if (typeof minTtl !== 'number' || minTtl < 0 || !Number.isFinite(minTtl)) {
      throw new InvalidInput('minTtl must be a non-negative number of seconds');
    }
    const key = memoKey(opts);
    const hit = opts.forceRefresh ? undefined : memo.get(key);
    if (hit?.freshAt(nowMs(), minTtl)) return hit.result;

    const result = await obtainToken(opts, minTtl);
    memo.set(key, result);
    return result.result;
  }

  async function obtainToken(opts: GetTokenOptions, minTtl: number): Promise<MemoEntry> {
    const { cfg, selected, binding, store } = await openProfile(opts.profile);
    if (!binding.provider) {
      throw new AuthenticationRequired(`not logged in (profile ${selected.name})`, {
        hint: `run \`${loginCommand(selected)}\``,
      });
    }
    const providerName = binding.provider;
    const providerConfig = providerConfigOf(cfg, providerName);
    const resource = opts.resource !== undefined ? opts.resource : (providerConfig.resource ?? null);
    const scopes = parseScopes(opts.scopes);

    if (providerConfig.type === 'client_credentials' && !(await store.read(selected.name))) {
      await acquireMachineSession(selected.name, providerName, store);
    }
    const token = await getFreshToken(
      {
        profile: selected.name,
        store,
        provider: () => provider(providerName),
        withProfileLock: profileLock(selected.name),
        now,
        log,
        loginCommand: loginCommand(selected),
      },
      { resource, scopes, minTtlSeconds: minTtl, force: opts.forceRefresh === true },
    );
    const result: TokenResult = Object.freeze({
      access_token: token.token,
      token_type: token.token_type,
      expires_at: token.expires_at,
      scopes: Object.freeze([...token.scopes]) as string[],
      profile: selected.name,
      resource: token.resource,
    });
    return { result, freshAt: freshnessCheck(token) };
  }

  /** A machine profile needs no prompt: its first token is fetched and cached on demand. */
  async function acquireMachineSession(profile: string, providerName: string, store: CredentialStore) {
    const machine = await provider(providerName);
    await withLock(profileLockPath(home, profile), async (lock) => {
      if (await store.read(profile)) return;
      const session = await machine.login({
        flow: 'client_credentials',
        openBrowser: false,
        scopes: [],
        interaction: silentInteraction,
        timeoutMs: DEFAULT_LOGIN_TIMEOUT_MS,
      });
      await store.write(profile, session, { signal: lock.signal });
    });
  }

  async function logout(opts: { profile?: string; all?: boolean } = {}): Promise<LogoutResult[]> {
    memo.clear();
    const [cfg, st] = await Promise.all([config(), state()]);
    const targets = opts.all
      ? [...new Set([...Object.keys(st.profiles), ...(await new FileStore({ home }).list())])]
      : [pickProfile(opts.profile, st).name];
    const results: LogoutResult[] = [];
    for (const profile of targets) {
      const binding = profileBinding(cfg, st, profile);
      const store = openStore(binding.store ?? configuredStoreKind(cfg).kind);
      const result = await withLock(
        profileLockPath(home, profile),
        async (): Promise<LogoutResult | null> => {
          const session = await readTolerant(store, profile);
          if (!session) return null;
          const warnings: string[] = [];
          let revocation: RevocationResult = { revoked: false, detail: 'provider no longer configured' };
          if (Object.hasOwn(cfg.providers, session.provider)) {
            try {
              revocation = await (await provider(session.provider)).revoke(session);
            } catch (error) {
              const reason = error instanceof KeyfobError ? error.message : 'unexpected error';
              revocation = { revoked: false, detail: 'revocation failed' };
              warnings.push(
                `Could not revoke the refresh token at ${session.provider}: ${reason}. The local session was removed anyway.`,
              );
            }
          }
          await store.delete(profile);
          return { profile, revocation, warnings };
        },
      );
      if (result) results.push(result);
    }
    if (results.length > 0) {
      await updateState(
        home,
        (s) => {
          for (const r of results) {
            delete s.profiles[r.profile];
            if (s.active_profile === r.profile) s.active_profile = null;
          }
        },
        { cliName },
      );
    }
    return results;
  }

  async function readTolerant(store: CredentialStore, profile: string): Promise<Session | null> {
    try {
      return await store.read(profile);
    } catch (error) {
      if (error instanceof StoreCorrupt) {
        log.warn(error.message);
        return null;
      }
      throw error;
    }
  }

  async function status(): Promise<StatusReport> {
    const [cfg, st] = await Promise.all([config(), state()]);
    const active = pickProfile(undefined, st).name;
    const file = new FileStore({ home });
    const names_ = new Set([
      ...Object.keys(st.profiles),
      ...Object.keys(cfg.profiles),
      ...(await file.list()),
    ]);
    const notes: string[] = [];
    const profiles: ProfileStatus[] = [];
    for (const name of [...names_].sort()) {
      const binding = profileBinding(cfg, st, name);
      let session: Session | null = null;
      let storeKind: StoreKind | null = binding.store;
      try {
        const store = openStore(binding.store ?? 'file');
        storeKind = store.kind;
        session = await store.read(name);
      } catch (error) {
        if (!(error instanceof KeyfobError)) throw error;
        notes.push(error.message);
      }
      const providerName = session?.provider ?? binding.provider;
      const providerType =
        providerName && Object.hasOwn(cfg.providers, providerName)
          ? cfg.providers[providerName]?.type
          : undefined;
      const defaultResource = providerName ? (cfg.providers[providerName]?.resource ?? null) : null;
      const token = session ? (findAccessToken(session, defaultResource, []) ?? latest(session)) : undefined;
      profiles.push({
        name,
        provider: providerName,
        subject: session?.subject ?? null,
        tenant: session?.tenant ?? binding.tenant,
        scopes: session?.scopes ?? [],
        expires_at: token?.expires_at ?? null,
        refreshable: Boolean(session?.refresh_token) || providerType === 'client_credentials',
        store: session ? storeKind : binding.store,
        logged_in: session !== null,
      });
    }
    const overrides = ['TOKEN', 'TOKEN_FILE', 'CLIENT_ID']
      .map((v) => envVar(names, v))
      .filter((v) => Boolean(env[v]));
    return { active_profile: active, profiles, overridden_by: overrides[0] ?? null, notes };
  }

  async function whoami(opts: { profile?: string } = {}): Promise<Record<string, unknown>> {
    const result = await getToken({ ...opts, resource: null });
    const { store, binding } = await openProfile(opts.profile);
    const session = await store.read(result.profile);
    if (!session || !binding.provider) {
      throw new AuthenticationRequired(`not logged in (profile ${result.profile})`, {
        hint: `run \`${cliName} login\``,
      });
    }
    return (await provider(session.provider)).userinfo(session, result.access_token);
  }

  async function authenticatedFetch(input: string | URL, init: KeyfobRequestInit = {}): Promise<Response> {
    const { cfg, selected, binding } = await openProfile(init.profile);
    if (!binding.provider) {
      throw new AuthenticationRequired(`not logged in (profile ${selected.name})`, {
        hint: `run \`${loginCommand(selected)}\``,
      });
    }
    const providerConfig = providerConfigOf(cfg, binding.provider);
    const http = await import('./http/authenticated-fetch.js');
    const base = { ...(init.profile !== undefined ? { profile: init.profile } : {}) };
    return http.authenticatedFetch(
      {
        token: (force) =>
          getToken({
            ...base,
            ...(init.resource !== undefined ? { resource: init.resource } : {}),
            forceRefresh: force,
          }),
        allowedOrigins: providerConfig.allowed_origins,
        fetch: providerRuntime().fetch,
        loginCommand: loginCommand(selected),
        renewable: providerConfig.type !== 'static',
      },
      input,
      init,
    );
  }

  const http: typeof globalThis.fetch = (input, init) => providerRuntime().fetch(input, init);
  return { names, home, config, http, login, getToken, logout, status, whoami, fetch: authenticatedFetch };
}

interface MemoEntry {
  result: TokenResult;
  /** DESIGN.md's freshness rule with the token's dates parsed once. */
  freshAt(nowMs: number, minTtlSeconds: number): boolean;
}

function freshnessCheck(token: AccessToken): MemoEntry['freshAt'] {
  if (token.expires_at === null) return () => true;
  const expiresAt = Date.parse(token.expires_at);
  const obtainedAt = Date.parse(token.obtained_at);
  const halfLifetime = Number.isFinite(obtainedAt) ? (expiresAt - obtainedAt) / 2 : Number.POSITIVE_INFINITY;
  return (nowMs, minTtlSeconds) => {
    const remaining = expiresAt - nowMs;
    return remaining > 0 && remaining >= Math.min(minTtlSeconds * 1000, halfLifetime);
  };
}

function memoKey(opts: GetTokenOptions): string {
  if (opts.profile === undefined && opts.resource === undefined && opts.scopes === undefined) return '';
  const resource = opts.resource === undefined ? '\u0001' : (opts.resource ?? '');
  const scopes = opts.scopes === undefined ? '' : parseScopes(opts.scopes).join(' ');
  return `${opts.profile ?? ''}\u0000${resource}\u0000${scopes}`;
}

function latest(session: Session) {
  return Object.values(session.access_tokens).sort((a, b) =>
    (b.expires_at ?? '9999').localeCompare(a.expires_at ?? '9999'),
  )[0];
}

function isStoreKind(value: string): value is StoreKind {
  return value === 'keychain' || value === 'encrypted-file' || value === 'file' || value === 'memory';
}

const silentInteraction: LoginInteraction = {
  showAuthorizationUrl() {},
  showDeviceCode() {},
  openBrowser: async () => false,
  waiting: () => () => {},
  notice() {},
};
