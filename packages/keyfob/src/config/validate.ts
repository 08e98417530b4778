/**
 * Validation: from an interpolated configuration tree to a typed {@link KeyfobConfig}.
 *
 * Every failure is an `InvalidConfig` whose first line names the file and the key path and says
 * what to change. The first failure found is reported; files are small and one precise message
 * beats a page of them. Values are never echoed except enumerations (a provider `type`, a
 * `token_storage`), because a value may be a secret written in the wrong place.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { InsecureUrl, InvalidConfig } from '../errors.js';
import { parseScopes } from '../session.js';
import { checkSecureUrl, isLoopbackHost } from '../url.js';
import { formatKeyPath, type KeyPathSegment, MAX_CONFIG_DEPTH, type References } from './interpolate.js';
import {
  type AssumeUserProviderConfig,
  BROWSER_HANDOFFS,
  type ClientCredentialsProviderConfig,
  DEFAULT_OIDC_SCOPES,
  type ExchangeProviderConfig,
  type FirebaseProviderConfig,
  type KeyfobConfig,
  LOGIN_FLOWS,
  type LoginFlow,
  type OAuth2ProviderConfig,
  type OidcProviderConfig,
  type PasswordProviderConfig,
  PRIVATE_KEY_ALGS,
  PROVIDER_TYPES,
  type PrivateKeySource,
  type ProfileConfig,
  type ProviderConfig,
  type ProviderConfigBase,
  type ProviderType,
  RESERVED_AUTHORIZATION_PARAMS,
  STORE_KINDS,
  type StaticProviderConfig,
  TOKEN_ENDPOINT_AUTH_METHODS,
} from './schema.js';

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

/**
 * Keys whose value is a secret wherever they appear: a value must come from a `${VAR}`
 * reference, whole. `private_key` is a secret only when it holds the key itself rather than a path.
 */
export const SECRET_KEYS: readonly string[] = [
  'client_secret',
  'admin_api_key',
  'token',
  'password',
  'refresh_token',
  'access_token',
  'private_key',
];

/** Provider and profile names. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

const TOP_LEVEL_KEYS = ['default_provider', 'token_storage', 'providers', 'profiles'] as const;
const BASE_KEYS = [
  'type',
  'api_base',
  'allowed_origins',
  'scopes',
  'authorization_params',
  'resource',
] as const;
const TYPE_KEYS: Record<ProviderType, readonly string[]> = {
  oidc: [
    'issuer',
    'client_id',
    'client_secret',
    'flows',
    'device_authorization_endpoint',
    'redirect_port',
    'browser_handoff',
  ],
  oauth2: [
    'client_id',
    'client_secret',
    'authorization_endpoint',
    'token_endpoint',
    'device_authorization_endpoint',
    'revocation_endpoint',
    'userinfo_endpoint',
    'issuer',
    'flows',
    'redirect_port',
    'browser_handoff',
  ],
  client_credentials: [
    'issuer',
    'token_endpoint',
    'client_id',
    'client_secret',
    'private_key',
    'private_key_alg',
    'token_endpoint_auth_method',
  ],
  password: ['issuer', 'token_endpoint', 'client_id', 'client_secret'],
  firebase: ['api_key', 'emulator_host', 'project_id'],
  exchange: ['base', 'issuer', 'token_endpoint', 'audience', 'control_plane', 'client_id', 'client_secret'],
  assume_user: ['control_plane', 'admin_api_key'],
  static: ['token', 'token_file'],
};
const PROFILE_KEYS = ['provider', 'tenant', 'client_id'] as const;
// RFC 6749 §3.3 scope-token characters.
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const PEM_OR_INLINE_KEY = /-----BEGIN|^\s*\{|[\r\n]/;

type Path = readonly KeyPathSegment[];
type Mapping = Record<string, unknown>;

interface Context {
  readonly label: string;
  readonly refs: References;
  readonly unresolved: ReadonlyMap<string, string>;
  readonly command: string;
  readonly baseDir: string;
}

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
  const config: KeyfobConfig = {
    file: options.file,
    default_provider: null,
    token_storage: null,
    providers: Object.create(null) as Record<string, ProviderConfig>,
    profiles: Object.create(null) as Record<string, ProfileConfig>,
  };
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
  config.default_provider = optionalString(ctx, raw, [], 'default_provider') ?? null;
  if (config.default_provider !== null) {
    requireProvider(ctx, config, ['default_provider'], config.default_provider);
  }

  const profiles = optionalMapping(ctx, raw, [], 'profiles');
  for (const [name, value] of Object.entries(profiles ?? {})) {
    config.profiles[name] = validateProfile(ctx, config, name, value);
  }

  checkExchangeBases(ctx, config);
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
// Providers

function validateProvider(ctx: Context, name: string, raw: unknown): ProviderConfig {
  const path: Path = ['providers', name];
  if (!NAME_PATTERN.test(name)) {
    fail(ctx, path, 'a provider name must be 1 to 64 letters, digits, ".", "_" or "-"');
  }
  if (!isMapping(raw)) fail(ctx, path, `must be a mapping of settings, not ${describe(raw)}`);
  const type = requiredEnumType(ctx, raw, path);
  checkKnownKeys(ctx, raw, path, [...BASE_KEYS, ...TYPE_KEYS[type]], `setting for type ${type}`);
  const base = { ...readBase(ctx, raw, path, type), ...unresolvedSecrets(ctx, path) };
  const r = new Reader(ctx, raw, path, type);
  switch (type) {
    case 'oidc':
      return oidcProvider(r, name, base);
    case 'oauth2':
      return oauth2Provider(r, name, base);
    case 'client_credentials':
      return clientCredentialsProvider(r, name, base);
    case 'password':
      return passwordProvider(r, name, base);
    case 'firebase':
      return firebaseProvider(r, name, base);
    case 'exchange':
      return exchangeProvider(r, name, base);
    case 'assume_user':
      return assumeUserProvider(r, name, base);
    case 'static':
      return staticProvider(r, name, base);
  }
}

/** `{ unresolved_secrets: { client_secret: 'ROBOT_SECRET' } }` for a provider, or nothing. */
function unresolvedSecrets(ctx: Context, path: Path): { unresolved_secrets?: Record<string, string> } {
  const found: Record<string, string> = {};
  for (const key of SECRET_KEYS) {
    const variable = ctx.unresolved.get(formatKeyPath([...path, key]));
    if (variable !== undefined) found[key] = variable;
  }
  return Object.keys(found).length > 0 ? { unresolved_secrets: found } : {};
}

/** Whether an unset variable under `path` may wait until that provider is used. */
export function isDeferrableSecret(path: readonly KeyPathSegment[]): boolean {
  return path.length === 3 && path[0] === 'providers' && SECRET_KEYS.includes(String(path[2]));
}

function requiredEnumType(ctx: Context, raw: Mapping, path: Path): ProviderType {
  const value = own(raw, 'type');
  const at = [...path, 'type'];
  const known = PROVIDER_TYPES.join(', ');
  if (value === undefined || value === null) fail(ctx, at, `required; one of ${known}`);
  if (typeof value !== 'string') fail(ctx, at, `must be a string, one of ${known}; not ${describe(value)}`);
  if (!(PROVIDER_TYPES as readonly string[]).includes(value)) {
    fail(
      ctx,
      at,
      `unknown provider type ${quote(value)}${suggestion(value, PROVIDER_TYPES)}; the types are ${known}`,
    );
  }
  return value as ProviderType;
}

type Base = Omit<ProviderConfigBase, 'type' | 'name'>;

function readBase(ctx: Context, raw: Mapping, path: Path, type: ProviderType): Base {
  const r = new Reader(ctx, raw, path, type);
  const apiBase = r.url('api_base');
  const origins: string[] = [];
  if (apiBase !== undefined) origins.push(new URL(apiBase).origin);
  for (const origin of r.origins('allowed_origins')) if (!origins.includes(origin)) origins.push(origin);
  const resource = r.resource('resource');
  return withoutUndefined({
    api_base: apiBase,
    allowed_origins: origins,
    scopes: r.scopes('scopes', type === 'oidc' ? DEFAULT_OIDC_SCOPES : []),
    authorization_params: r.authorizationParams('authorization_params'),
    resource,
  });
}

function oidcProvider(r: Reader, name: string, base: Base): OidcProviderConfig {
  return withoutUndefined({
    name,
    type: 'oidc' as const,
    ...base,
    issuer: r.required('issuer', r.issuer('issuer')),
    client_id: r.required('client_id', r.string('client_id')),
    client_secret: r.string('client_secret'),
    flows: r.flows('flows'),
    device_authorization_endpoint: r.url('device_authorization_endpoint'),
    redirect_port: r.port('redirect_port'),
    browser_handoff: r.enumeration('browser_handoff', BROWSER_HANDOFFS),
  });
}

function oauth2Provider(r: Reader, name: string, base: Base): OAuth2ProviderConfig {
  const flows = r.flows('flows');
  const authorizationEndpoint = r.url('authorization_endpoint');
  const deviceEndpoint = r.url('device_authorization_endpoint');
  if (flows === undefined) {
    if (authorizationEndpoint === undefined && deviceEndpoint === undefined) {
      r.fail(
        'authorization_endpoint',
        `required for type oauth2 (or give device_authorization_endpoint and flows: [device])`,
      );
    }
  } else {
    if (flows.includes('browser') && authorizationEndpoint === undefined) {
      r.fail('authorization_endpoint', 'required for type oauth2 with the browser flow');
    }
    if (flows.includes('device') && deviceEndpoint === undefined) {
      r.fail('device_authorization_endpoint', 'required for type oauth2 with the device flow');
    }
  }
  return withoutUndefined({
    name,
    type: 'oauth2' as const,
    ...base,
    client_id: r.required('client_id', r.string('client_id')),
    client_secret: r.string('client_secret'),
    authorization_endpoint: authorizationEndpoint,
    token_endpoint: r.required('token_endpoint', r.url('token_endpoint')),
    device_authorization_endpoint: deviceEndpoint,
    revocation_endpoint: r.url('revocation_endpoint'),
    userinfo_endpoint: r.url('userinfo_endpoint'),
    issuer: r.issuer('issuer'),
    flows,
    redirect_port: r.port('redirect_port'),
    browser_handoff: r.enumeration('browser_handoff', BROWSER_HANDOFFS),
  });
}

function clientCredentialsProvider(r: Reader, name: string, base: Base): ClientCredentialsProviderConfig {
  const { issuer, token_endpoint } = r.issuerOrTokenEndpoint();
  const clientSecret = r.string('client_secret');
  const privateKey = r.privateKey('private_key');
  const alg = r.enumeration('private_key_alg', PRIVATE_KEY_ALGS);
  const method = r.enumeration('token_endpoint_auth_method', TOKEN_ENDPOINT_AUTH_METHODS);
  if (clientSecret !== undefined && privateKey !== undefined) {
    r.fail('private_key', 'give either client_secret or private_key, not both');
  }
  if (alg !== undefined && privateKey === undefined) {
    r.fail('private_key_alg', 'applies only with private_key');
  }
  if (method === 'private_key_jwt' && privateKey === undefined) {
    r.fail('private_key', 'required with token_endpoint_auth_method: private_key_jwt');
  }
  if (method !== undefined && method !== 'private_key_jwt' && privateKey !== undefined) {
    r.fail(
      'token_endpoint_auth_method',
      `${method} does not use private_key; write private_key_jwt or remove private_key`,
    );
  }
  return withoutUndefined({
    name,
    type: 'client_credentials' as const,
    ...base,
    issuer,
    token_endpoint,
    client_id: r.required('client_id', r.string('client_id')),
    client_secret: clientSecret,
    private_key: privateKey,
    private_key_alg: alg,
    token_endpoint_auth_method:
      method ?? (privateKey !== undefined ? 'private_key_jwt' : 'client_secret_basic'),
  });
}

function passwordProvider(r: Reader, name: string, base: Base): PasswordProviderConfig {
  const { issuer, token_endpoint } = r.issuerOrTokenEndpoint();
  return withoutUndefined({
    name,
    type: 'password' as const,
    ...base,
    issuer,
    token_endpoint,
    client_id: r.required('client_id', r.string('client_id')),
    client_secret: r.string('client_secret'),
  });
}

function firebaseProvider(r: Reader, name: string, base: Base): FirebaseProviderConfig {
  return withoutUndefined({
    name,
    type: 'firebase' as const,
    ...base,
    api_key: r.required('api_key', r.string('api_key')),
    emulator_host: r.emulatorHost('emulator_host'),
    project_id: r.string('project_id'),
  });
}

function exchangeProvider(r: Reader, name: string, base: Base): ExchangeProviderConfig {
  const baseProvider = r.required('base', r.string('base'));
  const { issuer, token_endpoint } = r.issuerOrTokenEndpoint();
  return withoutUndefined({
    name,
    type: 'exchange' as const,
    ...base,
    base: baseProvider,
    issuer,
    token_endpoint,
    audience: r.string('audience'),
    control_plane: r.required('control_plane', r.url('control_plane')),
    client_id: r.string('client_id'),
    client_secret: r.string('client_secret'),
  });
}

function assumeUserProvider(r: Reader, name: string, base: Base): AssumeUserProviderConfig {
  return {
    name,
    type: 'assume_user',
    ...base,
    control_plane: r.required('control_plane', r.url('control_plane')),
    admin_api_key: r.required('admin_api_key', r.string('admin_api_key')),
  };
}

function staticProvider(r: Reader, name: string, base: Base): StaticProviderConfig {
  const token = r.string('token');
  const tokenFile = r.filePath('token_file');
  if (token !== undefined && tokenFile !== undefined)
    r.fail('token_file', 'give either token or token_file, not both');
  return withoutUndefined({
    name,
    type: 'static' as const,
    ...base,
    token,
    token_file: tokenFile,
  });
}

function checkExchangeBases(ctx: Context, config: KeyfobConfig): void {
  for (const provider of Object.values(config.providers)) {
    if (provider.type !== 'exchange') continue;
    const at: Path = ['providers', provider.name, 'base'];
    requireProvider(ctx, config, at, provider.base);
    const seen = new Set<string>([provider.name]);
    let next: ProviderConfig | undefined = config.providers[provider.base];
    while (next?.type === 'exchange') {
      if (seen.has(next.name)) {
        fail(
          ctx,
          at,
          `exchange providers form a loop (${[...seen, next.name].join(' → ')}); base must end at a login provider`,
        );
      }
      seen.add(next.name);
      next = config.providers[next.base];
    }
  }
}

function requireProvider(ctx: Context, config: KeyfobConfig, path: Path, name: string): void {
  if (Object.hasOwn(config.providers, name)) return;
  const names = Object.keys(config.providers);
  const known = names.length > 0 ? `the providers are ${names.join(', ')}` : 'no providers are configured';
  fail(
    ctx,
    path,
    `names provider ${quote(name)}, which is not configured${suggestion(name, names)}; ${known}`,
  );
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

// ---------------------------------------------------------------------------------------------
// Field readers

/** Reads the fields of one provider mapping; every method names the field in its errors. */
class Reader {
  constructor(
    private readonly ctx: Context,
    private readonly raw: Mapping,
    private readonly path: Path,
    private readonly type: ProviderType,
  ) {}

  fail(key: string, message: string, hint?: string): never {
    return fail(this.ctx, [...this.path, key], message, hint);
  }

  required<T>(key: string, value: T | undefined): T {
    if (value === undefined) this.fail(key, `required for type ${this.type}`);
    return value;
  }

  string(key: string): string | undefined {
    return optionalString(this.ctx, this.raw, this.path, key);
  }

  enumeration<T extends string>(key: string, values: readonly T[]): T | undefined {
    return optionalEnum(this.ctx, this.raw, this.path, key, values);
  }

  url(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const check = checkSecureUrl(value);
    if (!check.ok) {
      const cause = check.problem === 'insecure' ? new InsecureUrl(`${key} ${check.message}`) : undefined;
      throw new InvalidConfig(check.message, this.where(key), { cause });
    }
    return value;
  }

  /** An issuer identifier: a URL without query or fragment (OpenID Connect Discovery §3). */
  issuer(key: string): string | undefined {
    const value = this.url(key);
    if (value !== undefined && new URL(value).search !== '') this.fail(key, 'must not contain a query (?…)');
    return value;
  }

  issuerOrTokenEndpoint(): { issuer: string | undefined; token_endpoint: string | undefined } {
    const issuer = this.issuer('issuer');
    const tokenEndpoint = this.url('token_endpoint');
    if (issuer === undefined && tokenEndpoint === undefined) {
      this.fail('issuer', `required for type ${this.type} (or give token_endpoint)`);
    }
    return { issuer, token_endpoint: tokenEndpoint };
  }

  /** RFC 8707: an absolute URI without a fragment; an identifier, never fetched. */
  resource(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return this.fail(key, 'must be an absolute URI (RFC 8707), e.g. https://api.example.com');
    }
    if (url.hash !== '' || value.includes('#')) this.fail(key, 'must not contain a fragment (#…)');
    return value;
  }

  origins(key: string): string[] {
    const items = this.list(key);
    return items.map((item, index) => {
      const at = [...this.path, key, index];
      if (typeof item !== 'string') fail(this.ctx, at, `must be a string, not ${describe(item)}`);
      const check = checkSecureUrl(item);
      if (!check.ok) {
        const cause = check.problem === 'insecure' ? new InsecureUrl(`${key} ${check.message}`) : undefined;
        throw new InvalidConfig(check.message, { file: this.ctx.label, key: formatKeyPath(at) }, { cause });
      }
      if (check.url.pathname !== '/' || check.url.search !== '') {
        fail(
          this.ctx,
          at,
          `must be an origin (scheme://host[:port]) without a path or query; write ${check.url.origin}`,
        );
      }
      return check.url.origin;
    });
  }

  /** A list, or one string of items separated by commas or spaces (as `--scopes` accepts). */
  private list(key: string): unknown[] {
    const value = own(this.raw, key);
    if (value === undefined || value === null) return [];
    if (typeof value === 'string') return value.split(/[\s,]+/).filter((s) => s.length > 0);
    if (Array.isArray(value)) return value;
    return this.fail(key, `must be a list of strings, not ${describe(value)}`);
  }

  scopes(key: string, fallback: readonly string[]): string[] {
    if (own(this.raw, key) === undefined || own(this.raw, key) === null) return parseScopes(fallback);
    const items = this.list(key);
    items.forEach((item, index) => {
      const at = [...this.path, key, index];
      if (typeof item !== 'string') fail(this.ctx, at, `must be a string, not ${describe(item)}`);
      for (const scope of parseScopes(item)) {
        if (!SCOPE_TOKEN.test(scope)) {
          fail(
            this.ctx,
            at,
            'contains a character a scope cannot have (RFC 6749 §3.3: printable ASCII, no " or \\)',
          );
        }
      }
    });
    return parseScopes(items as string[]);
  }

  flows(key: string): LoginFlow[] | undefined {
    if (own(this.raw, key) === undefined || own(this.raw, key) === null) return undefined;
    const items = this.list(key);
    if (items.length === 0) this.fail(key, `must name at least one flow (${LOGIN_FLOWS.join(', ')})`);
    const flows: LoginFlow[] = [];
    items.forEach((item, index) => {
      const at = [...this.path, key, index];
      if (typeof item !== 'string' || !(LOGIN_FLOWS as readonly string[]).includes(item)) {
        fail(this.ctx, at, `must be one of ${LOGIN_FLOWS.join(', ')}`);
      }
      if (!flows.includes(item as LoginFlow)) flows.push(item as LoginFlow);
    });
    return flows;
  }

  authorizationParams(key: string): Record<string, string> {
    const out = Object.create(null) as Record<string, string>;
    const value = optionalMapping(this.ctx, this.raw, this.path, key);
    if (value === undefined) return out;
    for (const [name, item] of Object.entries(value)) {
      const at = [...this.path, key, name];
      if (name === '') fail(this.ctx, at, 'a parameter name must not be empty');
      if (name === 'scope') fail(this.ctx, at, 'is set by keyfob; list scopes under scopes instead');
      // RFC 8707 §2.1: a resource for the authorization request only, sent besides `resource`.
      if (name === 'resource') {
        out[name] = new Reader(this.ctx, value, [...this.path, key], this.type).resource(name) as string;
        continue;
      }
      if (RESERVED_AUTHORIZATION_PARAMS.includes(name))
        fail(this.ctx, at, 'is set by keyfob and cannot be overridden');
      // Request parameters are text on the wire; a number or boolean here means what it says.
      if (typeof item === 'string') out[name] = item;
      else if (typeof item === 'number' && Number.isFinite(item)) out[name] = String(item);
      else if (typeof item === 'boolean') out[name] = String(item);
      else fail(this.ctx, at, `must be a string, number or boolean, not ${describe(item)}`);
    }
    return out;
  }

  /** A TCP port; a string of digits is accepted because `${PORT}` always yields text. */
  port(key: string): number | undefined {
    const value = own(this.raw, key);
    if (value === undefined || value === null) return undefined;
    const port = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      return this.fail(key, `must be a port number from 1 to 65535, not ${describe(value)}`);
    }
    return port;
  }

  /** A path, made absolute from the config file's directory (or the working directory). */
  filePath(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    return this.absolute(key, value);
  }

  privateKey(key: string): PrivateKeySource | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    // Only a value from a reference can reach here holding the key itself (scanSecrets).
    if (PEM_OR_INLINE_KEY.test(value)) return { kind: 'pem', pem: value };
    return { kind: 'file', path: this.absolute(key, value) };
  }

  /** Firebase's `host:port` form (as in FIREBASE_AUTH_EMULATOR_HOST), loopback only. */
  emulatorHost(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    let url: URL | undefined;
    try {
      url = /[/?#@\s]/.test(value) ? undefined : new URL(`http://${value}`);
    } catch {
      url = undefined;
    }
    if (url === undefined)
      return this.fail(key, 'must be host:port, e.g. 127.0.0.1:9099 (no scheme or path)');
    if (!isLoopbackHost(url.hostname)) {
      this.fail(
        key,
        'the emulator speaks plain http, which is allowed only on loopback (127.0.0.1, [::1], localhost)',
      );
    }
    return url.host;
  }

  private absolute(key: string, value: string): string {
    if (value.includes('\0')) this.fail(key, 'must not contain a NUL character');
    if (value === '~' || value.startsWith('~/')) {
      this.fail(key, '~ is not expanded in config.yaml', `write \${HOME}/… or an absolute path`);
    }
    return isAbsolute(value) ? value : resolve(this.ctx.baseDir, value);
  }

  private where(key: string): { file: string; key: string } {
    return { file: this.ctx.label, key: formatKeyPath([...this.path, key]) };
  }
}

function optionalString(ctx: Context, raw: Mapping, path: Path, key: string): string | undefined {
  const value = own(raw, key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    const hint =
      typeof value === 'number' || typeof value === 'boolean' ? 'put the value in quotes' : undefined;
    fail(ctx, [...path, key], `must be a string, not ${describe(value)}`, hint);
  }
  if (value === '') fail(ctx, [...path, key], 'must not be empty');
  return value;
}

function optionalEnum<T extends string>(
  ctx: Context,
  raw: Mapping,
  path: Path,
  key: string,
  values: readonly T[],
): T | undefined {
  const value = optionalString(ctx, raw, path, key);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) {
    fail(
      ctx,
      [...path, key],
      `must be one of ${values.join(', ')}, not ${quote(value)}${suggestion(value, values)}`,
    );
  }
  return value as T;
}

function optionalMapping(ctx: Context, raw: Mapping, path: Path, key: string): Mapping | undefined {
  const value = own(raw, key);
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) fail(ctx, [...path, key], `must be a mapping, not ${describe(value)}`);
  return value;
}

function checkKnownKeys(
  ctx: Context,
  raw: Mapping,
  path: Path,
  known: readonly string[],
  what: string,
): void {
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue;
    fail(
      ctx,
      [...path, key],
      `unknown ${what}${suggestion(key, known)}; the known ones are ${known.join(', ')}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function fail(ctx: Context, path: Path, message: string, hint?: string): never {
  throw new InvalidConfig(
    message,
    { file: ctx.label, key: formatKeyPath(path) },
    hint ? { hint } : undefined,
  );
}

function isMapping(value: unknown): value is Mapping {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function own(raw: Mapping, key: string): unknown {
  return Object.hasOwn(raw, key) ? raw[key] : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

/** Quotes a user value for a message, cut short: it names an enumeration, never a secret. */
function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** `; did you mean X?` when one known word is close to `value` (edit distance), else ''. */
function suggestion(value: string, known: readonly string[]): string {
  const limit = Math.max(1, Math.floor(value.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const distance = editDistance(value.toLowerCase(), candidate.toLowerCase(), limit);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}

function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit || a.length > 64 || b.length > 64) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

/** Drops `undefined` properties so optional settings are absent rather than present-but-empty. */
function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
