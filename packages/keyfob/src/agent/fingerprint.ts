/**
 * The fingerprint of a client's effective config and environment, and the environment an agent
 * starts with (DESIGN.md, The keyfob agent).
 *
 * The agent starts with exactly the variables the config's `${VAR}`s name, the TLS, proxy and
 * CA variables, and what reaches the OS keychain (D-Bus's address and the runtime directory);
 * nothing else. A request carries a fingerprint of the client's config file (as the parsed-config
 * cache identifies it) and of those variables, plus the ones that change what keyfob would do
 * but that an agent never gets (`<PREFIX>_STORAGE`, `_IDENTITY_FILE`, `_PROVIDER`,
 * `_ADMIN_API_KEY`, `_FLEET_REDIS`, `_FLEET_KEY`, the Firebase emulator): when the agent's own
 * fingerprint differs, the client works alone. Values enter only a SHA-256 digest, and only over the user's own socket.
 * Synchronous and small: the token fast path computes it.
 */
import { cachedVariableNames, fingerprint } from '../config/cache.js';
import { viewConfig } from '../config/look.js';
import { type AppNames, envVar, readEnvVar } from '../config/names.js';
import { AGENT_PROTOCOL_VERSION } from './protocol.js';
import { sha256Hex } from './sha256.js';
import type { AgentSpec } from './socket.js';

type Env = Readonly<Record<string, string | undefined>>;

/** TLS, proxy and CA variables: the agent gets them, and they must match. */
export function transportVariables(names: AppNames): string[] {
  return [
    envVar(names, 'CA_BUNDLE'),
    envVar(names, 'VERIFY_TLS'),
    'NODE_EXTRA_CA_CERTS',
    'HTTPS_PROXY',
    'https_proxy',
    'HTTP_PROXY',
    'http_proxy',
    'NO_PROXY',
    'no_proxy',
  ];
}

/** Variables that change the outcome but never reach an agent: a client with one set works alone. */
function clientOnlyVariables(names: AppNames): string[] {
  return [
    envVar(names, 'STORAGE'),
    envVar(names, 'IDENTITY_FILE'),
    envVar(names, 'PROVIDER'),
    envVar(names, 'ADMIN_API_KEY'),
    // A fleet named only in the environment: the agent would renew machine tokens without it.
    envVar(names, 'FLEET_REDIS'),
    envVar(names, 'FLEET_KEY'),
    'FIREBASE_AUTH_EMULATOR_HOST',
  ];
}

/** What the OS keychain needs to be reached (Secret Service over the session bus); no secret. */
const KEYCHAIN_VARIABLES = ['DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR'];

// Level 2 of the chain: credentials from the environment never go to an agent.
const OUTSIDE_CREDENTIALS = ['TOKEN', 'TOKEN_FILE', 'CLIENT_ID', 'CLIENT_SECRET'] as const;

/** Whether `env` holds a credential of level 2 (then the client works alone). */
export function hasOutsideCredentials(names: AppNames, env: Env): boolean {
  return OUTSIDE_CREDENTIALS.some((suffix) => readEnvVar(env, names, suffix) !== undefined);
}

/**
 * The names of the variables the config file refers to, from the parsed-config cache; `[]` when
 * the file does not exist, `null` when the cache does not vouch for the file as it is now.
 */
export function referencedVariables(spec: AgentSpec, view = viewConfig(spec)): string[] | null {
  if (view === null) return null;
  if (view.stats === null) return [];
  if (view.cacheText === null) return null;
  return cachedVariableNames(view.cacheText, fingerprint(spec.configPath, view.stats)) ?? null;
}

/**
 * The fingerprint of `env` and the config file for `spec`, or `null` when it cannot be told
 * (the config changed since it was last validated: the full path validates it again).
 */
export function agentFingerprint(
  spec: AgentSpec,
  names: AppNames,
  env: Env,
  view = viewConfig(spec),
): string | null {
  const referenced = referencedVariables(spec, view);
  if (referenced === null || view === null) return null;
  // A missing file is an empty configuration, the same for the agent and the client.
  const config = view.stats
    ? [view.stats.size, view.stats.mtimeMs, view.stats.ctimeMs, view.stats.ino]
    : 'missing';
  const variables = [
    ...new Set([...referenced, ...transportVariables(names), ...clientOnlyVariables(names)]),
  ].sort();
  return sha256Hex(
    JSON.stringify([
      AGENT_PROTOCOL_VERSION,
      [spec.app, spec.envPrefix, spec.envRenames, spec.home, spec.configPath],
      config,
      // Only the set ones: which names count is fixed by the version and the config, both
      // hashed above, and a shorter input is a faster hash in a cold process.
      variables.filter((name) => env[name]).map((name) => [name, env[name]]),
    ]),
  );
}

/**
 * The environment an agent starts with: the config's `${VAR}`s, the TLS, proxy and CA
 * variables and the keychain's, taken from `env`; nothing else. `null` when the config's
 * variables cannot be told (see {@link referencedVariables}).
 */
export function agentEnvironment(spec: AgentSpec, names: AppNames, env: Env): Record<string, string> | null {
  const referenced = referencedVariables(spec);
  if (referenced === null) return null;
  const scrubbed: Record<string, string> = {};
  for (const name of [...referenced, ...transportVariables(names), ...KEYCHAIN_VARIABLES]) {
    const value = env[name];
    if (value) scrubbed[name] = value;
  }
  return scrubbed;
}
