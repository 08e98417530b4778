/**
 * What every operation of an instance shares: names, environment, home, clock, the config and
 * state readers, the providers (created on first use) and the stores. Operations live in their
 * own modules and take this context; `keyfob.ts` only wires them.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { agentIdentityKeeper } from '../agent/keeper.js';
import type { AgentSpec } from '../agent/socket.js';
import { agentSpecFor } from '../agent/spec.js';
import { withEmulatorFromEnv } from '../config/firebase-emulator.js';
import { configFromObject, loadConfig } from '../config/load.js';
import { type AppNames, appNames, envVar } from '../config/names.js';
import { resolveConfigPath, resolveHome } from '../config/paths.js';
import type { KeyfobConfig, ProviderConfig } from '../config/schema.js';
import { type KeyfobState, readState } from '../config/state.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import { type ControlPlaneProviderConfig, controlPlaneFromConfig } from '../control-plane/from-config.js';
import { InvalidInput, ProviderNotFound } from '../errors.js';
import { checkPrivateDir } from '../fs/secure.js';
import { closeFetch, createFetch, httpSettings } from '../http/dispatcher.js';
import { guardFetch } from '../http/guard.js';
import { type HeldLock, profileLockPath, withLock } from '../lifecycle/lock.js';
import { type Logger, silentLogger } from '../log.js';
import type { CredentialProvider, ProviderRuntime } from '../providers/provider.js';
import { type ChainResult, type ExplicitCredentials, resolveChain } from '../resolve/chain.js';
import { type SelectedProfile, selectProfile } from '../resolve/select.js';
import type { Tenant } from '../session.js';
import type { IdentityKeeper } from '../stores/age/identity.js';
import { FileStore } from '../stores/file.js';
import { lazyStore } from '../stores/lazy.js';
import { MemoryStore } from '../stores/memory.js';
import { recordingMoves } from '../stores/moved-aside.js';
import type { CredentialStore, StoreKind } from '../stores/store.js';
import { appStore, isStoreKind } from './app-store.js';
import { commandLine, type KeyfobCommand, validCommandNames } from './command-names.js';
import type { Env, InteractiveOptions, KeyfobOptions } from './types.js';

/** Where a profile lives and which provider it uses, from the state file and config.yaml. */
export interface ProfileBinding {
  provider: string | null;
  store: StoreKind | null;
  tenant: Tenant | null;
}

export interface InstanceContext {
  readonly names: AppNames;
  /** How people run the auth commands, for messages: `keyfob`, `acme auth`. */
  readonly cliName: string;
  /** The vendor's names of keyfob's commands (`createKeyfob({ commandNames })`), validated. */
  readonly commandNames: Readonly<Record<string, string>>;
  /**
   * How people run one of keyfob's commands, for messages: `acme auth signin` for `login` when
   * the vendor renamed it. Every hint the library writes names a command through this.
   */
  command(name: KeyfobCommand): string;
  readonly env: Env;
  readonly home: string;
  readonly log: Logger;
  now(): Date;
  nowMs(): number;
  /** Explicit credentials given to `createKeyfob` (level 1 unless a call overrides). */
  readonly explicit: ExplicitCredentials;
  /** Sessions that live only in this process (library logins, environment machine clients). */
  readonly memory: MemoryStore;
  /** Profiles logged in by this process without persisting: they win over the state file. */
  readonly memoryBindings: Map<string, ProfileBinding>;
  config(): Promise<KeyfobConfig>;
  state(): Promise<KeyfobState>;
  /** Its `fetch` reads every response up to a bound (discovery, JWKS, token, userinfo…). */
  runtime(): ProviderRuntime;
  /**
   * The fetch of `kf.fetch`: the same transport and URL rule as the runtime's, but the body of
   * the caller's own API is the caller's to read, of any size.
   */
  apiFetch(): typeof globalThis.fetch;
  provider(name: string): Promise<CredentialProvider>;
  providerConfig(cfg: KeyfobConfig, name: string): ProviderConfig;
  /** A provider's configuration by name, or `undefined` (an exchange's login, for bindings). */
  lookupProvider(cfg: KeyfobConfig): (name: string) => ProviderConfig | undefined;
  /** The provider for credentials that carry none (a token or client id from the environment). */
  ambientProvider(cfg: KeyfobConfig): string | null;
  binding(cfg: KeyfobConfig, st: KeyfobState, profile: string): ProfileBinding;
  openStore(kind: StoreKind): CredentialStore;
  /** The age identity file for the encrypted-file store (`<PREFIX>_IDENTITY_FILE`), if set. */
  identityFile(): string | null;
  /**
   * `createKeyfob({ credentialsFile })` with a `single-json` or `ini` layout: the one store every
   * profile's session lives in, and what `status` says about it; `null` for keyfob's own layout.
   */
  readonly credentialsFile: { store: CredentialStore; reason: string } | null;
  /** Whether a passphrase prompt was supplied (only then may encrypted-file ask for one). */
  readonly canPromptPassphrase: boolean;
  /** The keyfob agent this instance asks first, or `null` when it works alone (`agent/spec.ts`). */
  readonly agentSpec: AgentSpec | null;
  /** The store for a new profile, and whether the user chose it. */
  configuredStore(cfg: KeyfobConfig): { kind: StoreKind; explicit: boolean };
  withProfileLock<T>(profile: string, fn: (lock: HeldLock) => Promise<T>): Promise<T>;
  /** The chain for a call's explicit credentials on top of the instance's. */
  resolve(call: ExplicitCredentials, cfg: KeyfobConfig, st: KeyfobState): ChainResult;
  /** The exact command that logs a profile in again. */
  loginCommand(profile: string, named: boolean): string;
  /** One of keyfob's commands for a profile: `acme auth refresh --profile work` when named. */
  profileCommand(name: KeyfobCommand, profile: string, named: boolean): string;
  /** DESIGN.md's profile selection: `explicit`, else `<PREFIX>_PROFILE`, else active, else default. */
  selectedProfile(st: KeyfobState, explicit: string | undefined): SelectedProfile;
  /** Every profile keyfob knows of: in the state file, in config.yaml, or with a file-store session. */
  knownProfiles(cfg: KeyfobConfig, st: KeyfobState): Promise<string[]>;
  /** Closes the instance's idle connections (`kf.close()`); a later request opens new ones. */
  close(): Promise<void>;
  /**
   * `createKeyfob({ store })`: the store every profile of this instance uses, whatever the state
   * file recorded, with the line `status` shows for it; `null` when the usual choice applies.
   */
  readonly fixedStore: { kind: StoreKind; reason: string; custom: boolean } | null;
  /** `createKeyfob({ interactive })`, or `null` when a call may not start a login. */
  readonly interactive: InteractiveOptions | null;
  /**
   * The control plane a provider speaks to: the integrator's (`createKeyfob({ controlPlane })`)
   * when given, else the wire protocol's at the provider's `control_plane`.
   */
  controlPlaneOf(config: ControlPlaneProviderConfig): ControlPlane;
}

/** How the keyfob agent's own instances differ (`agent/server.ts`); nothing else passes it. */
export interface ContextInternals {
  /** The agent itself never asks an agent. */
  noAgent?: boolean;
  /**
   * Keychain payloads kept by generation, encrypted sessions by ciphertext: the agent re-reads
   * only the metadata or the file, and decodes nothing that did not change.
   */
  cacheStoreReads?: boolean;
  /** Where the encrypted-file store's unlocked identity is kept between processes. */
  identityKeeper?: IdentityKeeper;
}

export function createContext(options: KeyfobOptions, internals: ContextInternals = {}): InstanceContext {
  const names = appNames(options.appName ?? 'keyfob', {
    ...(options.envPrefix !== undefined ? { envPrefix: options.envPrefix } : {}),
    ...(options.env !== undefined ? { envRenames: options.env as Record<string, string> } : {}),
  });
  const cliName = options.cliName ?? names.app;
  const commandNames = validCommandNames(options.commandNames);
  const command = (name: KeyfobCommand) => commandLine(cliName, commandNames, name);
  const env: Env = options.environment ?? process.env;
  // `~` is the environment's HOME, as for a credentials file's path (an SDK given its own map).
  const home = options.home ?? resolveHome({ names, env, homedir: env.HOME || homedir() });
  const log = options.log ?? silentLogger;
  const agentSpec = internals.noAgent
    ? null
    : agentSpecFor(options, { names, home, env, cliName, commandNames });
  const clock = options.now;
  const providers = new Map<string, Promise<CredentialProvider>>();
  const memory = new MemoryStore();
  const stores = new Map<StoreKind, CredentialStore>();
  const memoryBindings = new Map<string, ProfileBinding>();
  // The app's choice of where every profile lives: its credentials file, or its store option.
  const fixed = appStore({
    store: options.store,
    credentialsFile: options.credentialsFile,
    names,
    home,
    env,
    cliName,
    loginCommand: command('login'),
    now: () => ctx.now(),
    config: () => ctx.config(),
  });
  let configPromise: Promise<KeyfobConfig> | undefined;
  let runtime: ProviderRuntime | undefined;
  let apiFetch: typeof globalThis.fetch | undefined;
  let transport: typeof globalThis.fetch | undefined;
  // One transport (one dispatcher) under both guarded fetches.
  const sharedTransport = () =>
    (transport ??= options.fetch ?? createFetch(httpSettings(env, names), names, log));

  function createStore(kind: StoreKind): CredentialStore {
    switch (kind) {
      case 'file':
        return new FileStore({ home, cliName, loginCommand: command('login') });
      case 'memory':
        return memory;
      case 'keychain':
        return lazyStore(kind, `the OS keychain (service ${names.keychainService})`, async () => {
          const { KeychainStore } = await import('../stores/keychain.js');
          return new KeychainStore({ home, names, cacheReads: internals.cacheStoreReads === true });
        });
      case 'encrypted-file':
        return lazyStore(kind, join(home, 'encrypted'), async () => {
          const { EncryptedFileStore } = await import('../stores/encrypted-file.js');
          return new EncryptedFileStore({
            home,
            names,
            env,
            identityFile: env[envVar(names, 'IDENTITY_FILE')] || null,
            promptPassphrase: options.promptPassphrase ?? null,
            loginCommand: command('login'),
            identityKeeper: internals.identityKeeper ?? (agentSpec ? agentIdentityKeeper(() => ctx) : null),
            cacheReads: internals.cacheStoreReads === true,
          });
        });
    }
  }

  const ctx: InstanceContext = {
    close: () => closeFetch(transport),
    controlPlaneOf: (config) => options.controlPlane ?? controlPlaneFromConfig(config, ctx.runtime()),
    names,
    cliName,
    commandNames,
    command,
    env,
    home,
    log,
    now: clock ?? (() => new Date()),
    nowMs: clock ? () => clock().getTime() : Date.now,
    explicit: {
      ...(options.token !== undefined ? { token: options.token } : {}),
      ...(options.clientId !== undefined ? { clientId: options.clientId } : {}),
      ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    },
    memory,
    memoryBindings,
    credentialsFile:
      fixed?.credentialsFile && fixed.store ? { store: fixed.store, reason: fixed.reason } : null,
    fixedStore: fixed ? { kind: fixed.kind, custom: fixed.store !== null, reason: fixed.reason } : null,
    interactive:
      options.interactive === true
        ? {}
        : typeof options.interactive === 'object' && options.interactive !== null
          ? options.interactive
          : null,
    canPromptPassphrase: options.promptPassphrase !== undefined,
    agentSpec,

    config() {
      configPromise ??= (async () => {
        if (options.config) return configFromObject(options.config, env, { command: cliName });
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
    },

    async state() {
      const result = await readState(home, { cliName });
      if (result.warning) log.warn(result.warning.replace(/^warning: /, ''));
      return result.state;
    },

    runtime() {
      runtime ??= {
        fetch: guardFetch(sharedTransport(), { bounded: true }),
        now: ctx.now,
        log,
      };
      return runtime;
    },

    apiFetch() {
      apiFetch ??= guardFetch(sharedTransport(), { bounded: false });
      return apiFetch;
    },

    provider(name) {
      let pending = providers.get(name);
      if (!pending) {
        pending = (async () => {
          const providerConfig = ctx.providerConfig(await ctx.config(), name);
          const { createProvider } = await import('../providers/index.js');
          const cfg = await ctx.config();
          return createProvider(providerConfig, {
            runtime: ctx.runtime(),
            env,
            names,
            cliName,
            commandNames,
            lookup: ctx.lookupProvider(cfg),
            ...(options.controlPlane ? { controlPlane: options.controlPlane } : {}),
          });
        })();
        providers.set(name, pending);
      }
      return pending;
    },

    providerConfig(cfg, name) {
      const found = Object.hasOwn(cfg.providers, name) ? cfg.providers[name] : undefined;
      if (!found) {
        throw new ProviderNotFound(`provider ${name} is not configured`, {
          hint: `add it to config.yaml, or run \`${command('logout')}\` for the profiles that use it`,
        });
      }
      return found.type === 'firebase' ? withEmulatorFromEnv(found, env) : found;
    },

    lookupProvider(cfg) {
      return (name) => (Object.hasOwn(cfg.providers, name) ? ctx.providerConfig(cfg, name) : undefined);
    },

    ambientProvider(cfg) {
      const named = env[envVar(names, 'PROVIDER')];
      if (named) {
        ctx.providerConfig(cfg, named);
        return named;
      }
      if (cfg.default_provider) return cfg.default_provider;
      const all = Object.keys(cfg.providers);
      return all.length === 1 ? (all[0] as string) : null;
    },

    binding(cfg, st, profile) {
      const inMemory = memoryBindings.get(profile);
      if (inMemory) return inMemory;
      const recorded = Object.hasOwn(st.profiles, profile) ? st.profiles[profile] : undefined;
      const configured = Object.hasOwn(cfg.profiles, profile) ? cfg.profiles[profile] : undefined;
      const configuredTenant = configured?.tenant
        ? { id: configured.tenant, name: null, region: null, server_url: null }
        : null;
      return {
        provider: recorded?.provider ?? configured?.provider ?? null,
        store: fixed?.kind ?? recorded?.store ?? null,
        tenant: recorded?.tenant ?? configuredTenant,
      };
    },

    openStore(kind) {
      // The app's store holds every profile. Sessions kept only in this instance's memory (a
      // library login not persisted) stay there, unless the app's store is a memory store itself.
      if (fixed?.store && (kind !== 'memory' || fixed.kind === 'memory')) return fixed.store;
      let store = stores.get(kind);
      if (!store) {
        // Every move of a corrupt session is noted, whichever command met it (stores/moved-aside.ts).
        store = kind === 'memory' ? createStore(kind) : recordingMoves(createStore(kind), home, ctx.now);
        stores.set(kind, store);
      }
      return store;
    },

    identityFile() {
      return env[envVar(names, 'IDENTITY_FILE')] || null;
    },

    configuredStore(cfg) {
      if (fixed) return { kind: fixed.kind, explicit: true };
      const variable = envVar(names, 'STORAGE');
      const fromEnv = env[variable];
      if (fromEnv) {
        if (!isStoreKind(fromEnv)) {
          throw new InvalidInput(`${variable} must be one of keychain, encrypted-file, file, memory`);
        }
        return { kind: fromEnv, explicit: true };
      }
      if (cfg.token_storage) return { kind: cfg.token_storage, explicit: true };
      return { kind: 'file', explicit: false };
    },

    async withProfileLock(profile, fn) {
      // Nothing, not even a lock, is created in a home another user could change.
      await checkPrivateDir(home);
      // A store shared beyond this home (a vendor's credentials file) says where its lock is.
      const shared = await fixed?.store?.profileLockPath?.(profile);
      return withLock(shared ?? profileLockPath(home, profile), fn);
    },

    resolve(call, cfg, st) {
      return resolveChain({
        explicit: { ...ctx.explicit, ...call },
        env,
        envPrefix: names.envPrefix,
        envName: (suffix) => envVar(names, suffix),
        active: st.active_profile,
        profileTenant: (profile) => ctx.binding(cfg, st, profile).tenant?.id ?? null,
      });
    },

    loginCommand(profile, named) {
      return ctx.profileCommand('login', profile, named);
    },

    profileCommand(name, profile, named) {
      return named ? `${command(name)} --profile ${profile}` : command(name);
    },

    selectedProfile(st, explicit) {
      const envName = envVar(names, 'PROFILE');
      return selectProfile({ explicit, envValue: env[envName], envName, active: st.active_profile });
    },

    async knownProfiles(cfg, st) {
      const stored = await (
        fixed?.store ?? new FileStore({ home, cliName, loginCommand: command('login') })
      ).list();
      // Sessions of this instance's memory (a memory store, a library login) are known too.
      const inMemory = [...memoryBindings.keys()];
      return [
        ...new Set([...Object.keys(st.profiles), ...Object.keys(cfg.profiles), ...stored, ...inMemory]),
      ].sort();
    },
  };
  return ctx;
}
