/**
 * The field readers and small helpers that config validation shares: a {@link Reader} per
 * provider mapping, the optional-value readers, `fail` (an `InvalidConfig` naming the file and
 * key path) and the "did you mean" suggestion.
 */
import { isAbsolute, resolve } from 'node:path';
import { InsecureUrl, InvalidConfig } from '../errors.js';
import { parseScopes } from '../session.js';
import { checkSecureUrl, isLoopbackHost } from '../url.js';
import { formatKeyPath, type KeyPathSegment, type References } from './interpolate.js';
import {
  LOGIN_FLOWS,
  type LoginFlow,
  type PrivateKeySource,
  type ProviderType,
  RESERVED_AUTHORIZATION_PARAMS,
} from './schema.js';

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

// RFC 6749 §3.3 scope-token characters.
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
export const PEM_OR_INLINE_KEY = /-----BEGIN|^\s*\{|[\r\n]/;

export type Path = readonly KeyPathSegment[];
export type Mapping = Record<string, unknown>;

export interface Context {
  readonly label: string;
  readonly refs: References;
  readonly unresolved: ReadonlyMap<string, string>;
  readonly command: string;
  readonly baseDir: string;
}

// ---------------------------------------------------------------------------------------------
// Field readers

/** Reads the fields of one provider mapping; every method names the field in its errors. */
export class Reader {
  constructor(
    private readonly ctx: Context,
    private readonly raw: Mapping,
    private readonly path: Path,
    private readonly type: ProviderType,
  ) {}

  /** The type of the provider being read. */
  get providerType(): ProviderType {
    return this.type;
  }

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

export function optionalString(ctx: Context, raw: Mapping, path: Path, key: string): string | undefined {
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

export function optionalEnum<T extends string>(
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

export function optionalMapping(ctx: Context, raw: Mapping, path: Path, key: string): Mapping | undefined {
  const value = own(raw, key);
  if (value === undefined || value === null) return undefined;
  if (!isMapping(value)) fail(ctx, [...path, key], `must be a mapping, not ${describe(value)}`);
  return value;
}

export function checkKnownKeys(
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

export function fail(ctx: Context, path: Path, message: string, hint?: string): never {
  throw new InvalidConfig(
    message,
    { file: ctx.label, key: formatKeyPath(path) },
    hint ? { hint } : undefined,
  );
}

export function isMapping(value: unknown): value is Mapping {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function own(raw: Mapping, key: string): unknown {
  return Object.hasOwn(raw, key) ? raw[key] : undefined;
}

export function describe(value: unknown): string {
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
export function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

/** `; did you mean X?` when one known word is close to `value` (edit distance), else ''. */
export function suggestion(value: string, known: readonly string[]): string {
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

export function editDistance(a: string, b: string, limit: number): number {
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
export function withoutUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
