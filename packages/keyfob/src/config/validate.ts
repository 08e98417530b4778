/**
 * Validation: from an interpolated configuration tree to a typed {@link KeyfobConfig}.
 *
 * Every failure is an `InvalidConfig` whose first line names the file and the key path and says
 * what to change. The first failure found is reported; files are small and one precise message
 * beats a page of them. Values are never echoed except enumerations (a provider `type`, a
 * `token_storage`), because a value may be a secret written in the wrong place.
 */
import { dirname } from 'node:path';
import { formatKeyPath, MAX_CONFIG_DEPTH, type References } from './interpolate.js';
import { emptyConfig, type KeyfobConfig, type ProfileConfig, STORE_KINDS } from './schema.js';
import { AGENT_KEYS, validateAgent } from './validate-agent.js';
import {
  type Context,
  checkKnownKeys,
  describe,
  fail,
  isMapping,
  type Mapping,
  NAME_PATTERN,
  optionalEnum,
  optionalMapping,
  optionalString,
  type Path,
  PEM_OR_INLINE_KEY,
  SECRET_KEYS,
} from './validate-fields.js';
import { validateFleet } from './validate-fleet.js';
import { checkExchangeLogins, requireProvider, validateProvider } from './validate-providers.js';

export { isDeferrableSecret } from './validate-providers.js';
export { NAME_PATTERN, SECRET_KEYS };

/** Options of {@link validateConfig}. */
export interface ValidateOptions {
  /** Absolute path of the file the config came from, or `null` (a config given in code). */
  file: string | null;
  /** What messages call the source when `file` is `null`; defaults to `<options>`. */
  label?: string;
  /** Which key paths came from `${VAR}` references, from `interpolate`. */
  refs: References;
  /** Secret keys left out because their variable is unset, from `interpolate`. */
  unresolved?: ReadonlyMap<string, string>;
  /** What users type before `login` in hints: `keyfob` (default), or e.g. `acme auth`. */
  command?: string;
  /** Base of relative paths when `file` is `null`; defaults to `process.cwd()`. */
  cwd?: string;
}

const TOP_LEVEL_KEYS = [
  'default_provider',
  'token_storage',
  'providers',
  'profiles',
  ...AGENT_KEYS,
  'fleet',
] as const;
const PROFILE_KEYS = ['provider', 'tenant', 'client_id'] as const;

/**
 * Validates an interpolated configuration tree and returns the typed configuration.
 *
 * `null` or `undefined` (an empty file) is an empty configuration. Checks, in order: the top
 * level is a mapping; no literal secrets anywhere ({@link SECRET_KEYS}); no unknown keys; names;
 * each provider's type and per-type fields, types and URLs (plain `http` only on loopback);
 * `token_storage`; profiles; and that `default_provider`, profiles' `provider` and exchange
 * `base` name configured providers.
 *
 * @param raw Output of `interpolate` (or any plain data).
 * @throws InvalidConfig naming the file, the key path and the fix; never a secret's value.
 */
export function validateConfig(raw: unknown, options: ValidateOptions): KeyfobConfig {
  const ctx: Context = {
    label: options.file ?? options.label ?? '<options>',
    refs: options.refs,
    unresolved: options.unresolved ?? new Map(),
    command: options.command ?? 'keyfob',
    baseDir: options.file !== null ? dirname(options.file) : (options.cwd ?? process.cwd()),
  };
  const config: KeyfobConfig = emptyConfig(options.file);
  if (raw === null || raw === undefined) return config;
  if (!isMapping(raw)) {
    fail(
      ctx,
      [],
      `the top level must be a mapping of settings (${TOP_LEVEL_KEYS.join(', ')}), not ${describe(raw)}`,
    );
  }

  // Before anything else, so that no later message can be about a literal secret's neighbour first.
  scanSecrets(ctx, raw, [], new Set());
  checkKnownKeys(ctx, raw, [], TOP_LEVEL_KEYS, 'setting');

  const providers = optionalMapping(ctx, raw, [], 'providers');
  for (const [name, value] of Object.entries(providers ?? {})) {
    config.providers[name] = validateProvider(ctx, name, value);
  }

  config.token_storage = optionalEnum(ctx, raw, [], 'token_storage', STORE_KINDS) ?? null;
  config.agent = validateAgent(ctx, raw);
  config.default_provider = optionalString(ctx, raw, [], 'default_provider') ?? null;
  if (config.default_provider !== null) {
    requireProvider(ctx, config, ['default_provider'], config.default_provider);
  }

  const profiles = optionalMapping(ctx, raw, [], 'profiles');
  for (const [name, value] of Object.entries(profiles ?? {})) {
    config.profiles[name] = validateProfile(ctx, config, name, value);
  }

  checkExchangeLogins(ctx, config);
  const fleet = validateFleet(ctx, raw);
  if (fleet) config.fleet = fleet;
  return config;
}

// ---------------------------------------------------------------------------------------------
// Secrets

function scanSecrets(ctx: Context, node: unknown, path: Path, ancestors: Set<object>): void {
  if (node === null || typeof node !== 'object') return;
  // validateConfig may be handed raw data directly: bound the walk as interpolate does.
  if (path.length >= MAX_CONFIG_DEPTH) fail(ctx, path, `nested deeper than ${MAX_CONFIG_DEPTH} levels`);
  if (ancestors.has(node)) fail(ctx, path, 'refers to itself (a cycle)');
  ancestors.add(node);
  if (Array.isArray(node)) {
    node.forEach((item, index) => {
      scanSecrets(ctx, item, [...path, index], ancestors);
    });
  } else {
    for (const [key, value] of Object.entries(node)) {
      const at = [...path, key];
      if (SECRET_KEYS.includes(key)) checkSecret(ctx, at, key, value);
      scanSecrets(ctx, value, at, ancestors);
    }
  }
  ancestors.delete(node);
}

function checkSecret(ctx: Context, path: Path, key: string, value: unknown): void {
  if (value === null || value === undefined) return;
  const ref = ctx.refs.get(formatKeyPath(path));
  if (ref === undefined) {
    // A private key may be given as a path to the key file; only the key itself is secret.
    if (key === 'private_key' && typeof value === 'string' && !PEM_OR_INLINE_KEY.test(value)) return;
    fail(ctx, path, 'a literal secret is not allowed here', secretHint(ctx, path, key));
  }
  if (!ref.whole) {
    fail(
      ctx,
      path,
      `a secret must be exactly one \${VAR} reference, with no text around it`,
      secretHint(ctx, path, key),
    );
  }
  if (value === '') {
    const variable = ref.variables[0] ?? 'the variable';
    fail(ctx, path, `\${${variable}} is set but empty`, `set ${variable} to the secret, or remove ${key}`);
  }
}

function secretHint(ctx: Context, path: Path, key: string): string {
  const provider = path.length === 3 && path[0] === 'providers' ? path[1] : undefined;
  const named = typeof provider === 'string' && NAME_PATTERN.test(provider) ? provider : undefined;
  const variable = envName(named ? `${named}_${key}` : key);
  const write = `write \${${variable}} and set it in the environment`;
  if (named && key === 'client_secret')
    return `${write}, or run \`${ctx.command} login ${named} --with-secret\``;
  if (named && key === 'token')
    return `${write}, or pipe it to \`${ctx.command} login ${named} --with-token\``;
  if (key === 'private_key') return `${write}, or give the path of the key file`;
  return write;
}

function envName(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

// ---------------------------------------------------------------------------------------------
// Profiles

function validateProfile(ctx: Context, config: KeyfobConfig, name: string, raw: unknown): ProfileConfig {
  const path: Path = ['profiles', name];
  if (!NAME_PATTERN.test(name)) {
    fail(ctx, path, 'a profile name must be 1 to 64 letters, digits, ".", "_" or "-"');
  }
  // `ci:` with nothing under it is a profile with no settings.
  const settings: Mapping =
    raw === null
      ? {}
      : isMapping(raw)
        ? raw
        : fail(ctx, path, `must be a mapping of settings, not ${describe(raw)}`);
  checkKnownKeys(ctx, settings, path, PROFILE_KEYS, 'profile setting');
  const provider = optionalString(ctx, settings, path, 'provider') ?? null;
  if (provider !== null) requireProvider(ctx, config, [...path, 'provider'], provider);
  return {
    provider,
    tenant: optionalString(ctx, settings, path, 'tenant') ?? null,
    client_id: optionalString(ctx, settings, path, 'client_id') ?? null,
  };
}
