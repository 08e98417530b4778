/**
 * Validation of one provider mapping: its `type`, the keys that type knows, and each type's
 * fields; plus the checks across providers (exchange `base` chains, names a setting refers to).
 */
import { parseCredentialPlacement } from '../http/credential.js';
import { formatKeyPath, type KeyPathSegment } from './interpolate.js';
import {
  type AssumeUserProviderConfig,
  BROWSER_HANDOFFS,
  type ClientCredentialsProviderConfig,
  type ControlPlaneEndpoints,
  DEFAULT_OIDC_SCOPES,
  EXCHANGE_LOGIN_TYPES,
  type ExchangeProviderConfig,
  type FirebaseProviderConfig,
  type KeyfobConfig,
  type OAuth2ProviderConfig,
  type OidcProviderConfig,
  type PasswordProviderConfig,
  PRIVATE_KEY_ALGS,
  PROVIDER_TYPES,
  type ProviderConfig,
  type ProviderConfigBase,
  type ProviderType,
  type StaticProviderConfig,
  SUBJECT_TOKENS,
  TOKEN_ENDPOINT_AUTH_METHODS,
  type TokenEndpointAuthMethod,
} from './schema.js';
import {
  type Context,
  checkKnownKeys,
  describe,
  fail,
  isMapping,
  type Mapping,
  NAME_PATTERN,
  own,
  type Path,
  quote,
  Reader,
  SECRET_KEYS,
  suggestion,
  withoutUndefined,
} from './validate-fields.js';

const BASE_KEYS = [
  'type',
  'api_base',
  'allowed_origins',
  'scopes',
  'authorization_params',
  'resource',
  'credential',
] as const;
// How a client authenticates at the token endpoint; read by clientAuthSettings.
const CLIENT_AUTH_KEYS = ['token_endpoint_auth_method', 'private_key', 'private_key_alg'] as const;
const CONTROL_PLANE_ENDPOINT_KEYS = [
  'tenants_endpoint',
  'token_endpoint',
  'assume_user_endpoint',
  'users_me_endpoint',
  'service_principals_endpoint',
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
    ...CLIENT_AUTH_KEYS,
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
    ...CLIENT_AUTH_KEYS,
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
  password: ['issuer', 'token_endpoint', 'client_id', 'client_secret', ...CLIENT_AUTH_KEYS],
  firebase: ['api_key', 'emulator_host', 'project_id'],
  exchange: ['login', 'control_plane', 'subject_token', 'tenant', ...CONTROL_PLANE_ENDPOINT_KEYS],
  assume_user: ['control_plane', 'admin_api_key', ...CONTROL_PLANE_ENDPOINT_KEYS],
  static: ['token', 'token_file'],
};

export function validateProvider(ctx: Context, name: string, raw: unknown): ProviderConfig {
  const path: Path = ['providers', name];
  if (!NAME_PATTERN.test(name)) {
    fail(ctx, path, 'a provider name must be 1 to 64 letters, digits, ".", "_" or "-"');
  }
  if (!isMapping(raw)) fail(ctx, path, `must be a mapping of settings, not ${describe(raw)}`);
  const type = requiredEnumType(ctx, raw, path);
  checkKnownKeys(ctx, raw, path, [...BASE_KEYS, ...TYPE_KEYS[type]], `setting for type ${type}`);
  // A machine or static login makes no authorization request: parameters for one would be
  // accepted and never sent.
  if ((type === 'client_credentials' || type === 'static') && raw.authorization_params !== undefined) {
    fail(
      ctx,
      [...path, 'authorization_params'],
      `means nothing for type ${type}: it makes no authorization request`,
    );
  }
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
  const credential = parseCredentialPlacement(raw.credential);
  if (typeof credential === 'string') fail(ctx, [...path, 'credential'], credential);
  return withoutUndefined({
    ...(credential.kind === 'bearer' ? {} : { credential }),
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
    ...clientAuthSettings(r, base),
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
    ...clientAuthSettings(r, base),
  });
}

function clientCredentialsProvider(r: Reader, name: string, base: Base): ClientCredentialsProviderConfig {
  const { issuer, token_endpoint } = r.issuerOrTokenEndpoint();
  const clientSecret = r.string('client_secret');
  const { token_endpoint_auth_method: method, ...key } = clientAuthSettings(r, base);
  return withoutUndefined({
    name,
    type: 'client_credentials' as const,
    ...base,
    issuer,
    token_endpoint,
    client_id: r.required('client_id', r.string('client_id')),
    client_secret: clientSecret,
    ...key,
    token_endpoint_auth_method: method ?? 'client_secret_basic',
  });
}

/**
 * `token_endpoint_auth_method`, `private_key` and `private_key_alg`, checked against each other
 * and against `client_secret` (given, or deferred because its variable is unset): every
 * combination that could not authenticate as written is refused here rather than at the
 * provider.
 */
function clientAuthSettings(
  r: Reader,
  base: Base,
): Pick<ClientCredentialsProviderConfig, 'private_key' | 'private_key_alg'> & {
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
} {
  const machine = r.providerType === 'client_credentials';
  const hasSecret =
    r.string('client_secret') !== undefined || base.unresolved_secrets?.client_secret !== undefined;
  const privateKey = r.privateKey('private_key');
  // A `${VAR}` key whose variable is unset still says how this client authenticates.
  const hasKey = privateKey !== undefined || base.unresolved_secrets?.private_key !== undefined;
  const alg = r.enumeration('private_key_alg', PRIVATE_KEY_ALGS);
  const method = r.enumeration('token_endpoint_auth_method', TOKEN_ENDPOINT_AUTH_METHODS);
  if (hasSecret && hasKey) {
    r.fail('private_key', 'give either client_secret or private_key, not both');
  }
  if (alg !== undefined && !hasKey) {
    r.fail('private_key_alg', 'applies only with private_key');
  }
  if (method === 'private_key_jwt' && !hasKey) {
    r.fail('private_key', 'required with token_endpoint_auth_method: private_key_jwt');
  }
  if (method !== undefined && method !== 'private_key_jwt' && hasKey) {
    r.fail(
      'token_endpoint_auth_method',
      `${method} does not use private_key; write private_key_jwt or remove private_key`,
    );
  }
  if (method === 'none' && machine) {
    r.fail(
      'token_endpoint_auth_method',
      'none cannot log a machine in: the client credentials grant needs client authentication',
      'write client_secret_basic, client_secret_post or private_key_jwt',
    );
  }
  if (method === 'none' && hasSecret) {
    r.fail(
      'token_endpoint_auth_method',
      'none sends no client secret',
      'remove client_secret, or write client_secret_basic or client_secret_post',
    );
  }
  // A machine's secret may live in the store (`login --with-secret`); a person's client has no such place.
  if ((method === 'client_secret_basic' || method === 'client_secret_post') && !hasSecret && !machine) {
    r.fail('client_secret', `required with token_endpoint_auth_method: ${method}`);
  }
  return withoutUndefined({
    token_endpoint_auth_method: method ?? (hasKey ? 'private_key_jwt' : undefined),
    private_key: privateKey,
    private_key_alg: alg,
  });
}

function passwordProvider(r: Reader, name: string, base: Base): PasswordProviderConfig {
  const { issuer, token_endpoint } = r.issuerOrTokenEndpoint();
  if (Object.keys(base.authorization_params ?? {}).length > 0) {
    r.fail('authorization_params', 'a password login sends no authorization request', 'remove it');
  }
  return withoutUndefined({
    name,
    type: 'password' as const,
    ...base,
    issuer,
    token_endpoint,
    client_id: r.required('client_id', r.string('client_id')),
    client_secret: r.string('client_secret'),
    ...clientAuthSettings(r, base),
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

function controlPlaneEndpoints(r: Reader): ControlPlaneEndpoints {
  return withoutUndefined({
    tenants_endpoint: r.url('tenants_endpoint'),
    token_endpoint: r.url('token_endpoint'),
    assume_user_endpoint: r.url('assume_user_endpoint'),
    users_me_endpoint: r.url('users_me_endpoint'),
    service_principals_endpoint: r.url('service_principals_endpoint'),
  });
}

function exchangeProvider(r: Reader, name: string, base: Base): ExchangeProviderConfig {
  const tenant = r.string('tenant');
  if (tenant !== undefined && tenant.trim() === '') r.fail('tenant', 'must not be empty');
  return withoutUndefined({
    name,
    type: 'exchange' as const,
    ...base,
    login: r.required('login', r.string('login')),
    control_plane: r.required('control_plane', r.url('control_plane')),
    subject_token: r.enumeration('subject_token', SUBJECT_TOKENS),
    tenant,
    ...controlPlaneEndpoints(r),
  });
}

function assumeUserProvider(r: Reader, name: string, base: Base): AssumeUserProviderConfig {
  return withoutUndefined({
    name,
    type: 'assume_user' as const,
    ...base,
    control_plane: r.required('control_plane', r.url('control_plane')),
    admin_api_key: r.string('admin_api_key'),
    ...controlPlaneEndpoints(r),
  });
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

/** Each exchange provider's `login` names a configured provider of a type that logs in. */
export function checkExchangeLogins(ctx: Context, config: KeyfobConfig): void {
  const loginTypes: readonly string[] = EXCHANGE_LOGIN_TYPES;
  for (const provider of Object.values(config.providers)) {
    if (provider.type !== 'exchange') continue;
    const at: Path = ['providers', provider.name, 'login'];
    requireProvider(ctx, config, at, provider.login);
    const login = config.providers[provider.login] as ProviderConfig;
    if (!loginTypes.includes(login.type)) {
      fail(
        ctx,
        at,
        `names provider ${quote(provider.login)} of type ${login.type}; the login of an exchange must be of type ${EXCHANGE_LOGIN_TYPES.join(', ')}`,
      );
    }
  }
}

export function requireProvider(ctx: Context, config: KeyfobConfig, path: Path, name: string): void {
  if (Object.hasOwn(config.providers, name)) return;
  const names = Object.keys(config.providers);
  const known = names.length > 0 ? `the providers are ${names.join(', ')}` : 'no providers are configured';
  fail(
    ctx,
    path,
    `names provider ${quote(name)}, which is not configured${suggestion(name, names)}; ${known}`,
  );
}
