/**
 * A session as an entry of a vendor's credentials file, and back (DESIGN.md, Integrators, "File
 * layouts").
 *
 * An entry holds the vendor's own keys for what the vendor's file already has (`token`,
 * `token_expiration` in epoch seconds, the tenant, the user, a machine's `client_id` and
 * `client_secret`, an admin key), named through `fields`. Everything else of the session that
 * the vendor has no key for (its other access tokens, ID token, scopes' details, binding,
 * proof key) is kept in the same entry under one more key (`<app>_session`, a JSON object with
 * no `schema_version`), so one atomic write commits the whole session. Secrets the vendor has a
 * key for (refresh token, client secret, admin key) are written once, under the vendor's key.
 * What the vendor's key says wins over the kept copy: the vendor's own tool may have changed it.
 */
import { InvalidInput } from '../../errors.js';
import type { CredentialsFileField } from '../../instance/types.js';
import {
  type AccessToken,
  accessTokenKey,
  newSession,
  parseScopes,
  SESSION_SCHEMA_VERSION,
  type Session,
} from '../../session.js';
import { isRecord } from '../../shape.js';
import { sessionShapeProblem } from '../file.js';

/** A flat entry: the vendor's keys (and the session key) to their values; `null` removes a key. */
export type EntryValues = Record<string, string | number | Record<string, unknown> | null>;

/** keyfob field → the vendor's key, complete. */
export type FieldMap = Readonly<Record<CredentialsFileField, string>>;

const FIELD_NAMES: readonly CredentialsFileField[] = [
  'token',
  'token_expiration',
  'refresh_token',
  'scopes',
  'tenant',
  'tenant_name',
  'user',
  'client_id',
  'client_secret',
  'admin_api_key',
  'provider',
  'session',
];

/**
 * The complete field map: each field the vendor's key given in `fields`, else its own name
 * (`session` defaults to `<app>_session`).
 *
 * @throws InvalidInput when a key is empty, has characters an INI key cannot hold, or two
 *   fields share a key.
 */
export function resolveFields(
  fields: Readonly<Partial<Record<CredentialsFileField, string>>> | undefined,
  app: string,
): FieldMap {
  if (fields !== undefined && !isRecord(fields))
    throw new InvalidInput('credentialsFile.fields must be an object');
  const map = {} as Record<CredentialsFileField, string>;
  const seen = new Map<string, string>();
  for (const name of Object.keys(fields ?? {})) {
    if (!(FIELD_NAMES as readonly string[]).includes(name)) {
      throw new InvalidInput(`credentialsFile.fields.${name} is not a field keyfob maps`, {
        hint: `use one of ${FIELD_NAMES.join(', ')}`,
      });
    }
  }
  for (const name of FIELD_NAMES) {
    const given = fields?.[name];
    const key = given ?? (name === 'session' ? `${app}_session` : name);
    if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key)) {
      throw new InvalidInput(
        `credentialsFile.fields.${name} must be 1 to 64 letters, digits, '.', '_' or '-'`,
      );
    }
    const other = seen.get(key);
    if (other) throw new InvalidInput(`credentialsFile.fields: ${other} and ${name} both map to "${key}"`);
    seen.set(key, name);
    map[name] = key;
  }
  return Object.freeze(map);
}

/** Every key the map writes: keys an entry has beyond these are the vendor's, kept verbatim. */
export function mappedKeys(fields: FieldMap): string[] {
  return FIELD_NAMES.map((name) => fields[name]);
}

/**
 * The keys `logout` removes from an entry: every mapped key but the tenant's and, for a service
 * principal (an entry with both), `client_id` and `client_secret`.
 */
export function sessionKeys(entry: Readonly<Record<string, unknown>>, fields: FieldMap): string[] {
  const principal = Boolean(entry[fields.client_id]) && Boolean(entry[fields.client_secret]);
  const kept = new Set([
    fields.tenant,
    fields.tenant_name,
    ...(principal ? [fields.client_id, fields.client_secret] : []),
  ]);
  return mappedKeys(fields).filter((key) => !kept.has(key));
}

/**
 * The access token the vendor's `token` key stands for: the one without a control plane
 * obtained last (the login's own), else the last obtained.
 */
export function primaryAccessToken(session: Session): { key: string; token: AccessToken } | null {
  // The vendor's API token: one for a resource (an audience) before the userinfo token, the newest first.
  const entries = Object.entries(session.access_tokens).sort(
    ([, a], [, b]) =>
      Number(b.resource !== null) - Number(a.resource !== null) || b.obtained_at.localeCompare(a.obtained_at),
  );
  const found = entries.find(([, t]) => !t.control_plane) ?? entries[0];
  return found ? { key: found[0], token: found[1] } : null;
}

/**
 * The entry's values for `session`. Numbers are epoch seconds (`token_expiration`); `asText`
 * (INI) turns them into decimal strings.
 */
export function sessionToEntry(session: Session, fields: FieldMap, asText: boolean): EntryValues {
  const primary = primaryAccessToken(session);
  const expires = primary?.token.expires_at ? Math.floor(Date.parse(primary.token.expires_at) / 1000) : null;
  const { schema_version: _version, refresh_token, client_secret, admin_api_key, ...kept } = session;
  // The vendor's `token` key holds the primary token: the kept copy keeps its dates, not the
  // token a second time (a user who deletes `token` must not find it in use, or on disk).
  if (primary) {
    kept.access_tokens = { ...kept.access_tokens, [primary.key]: { ...primary.token, token: '' } };
  }
  const values: EntryValues = {
    [fields.token]: primary?.token.token ?? null,
    [fields.token_expiration]:
      expires === null || Number.isNaN(expires) ? null : asText ? String(expires) : expires,
    [fields.refresh_token]: refresh_token,
    [fields.scopes]: session.scopes.length > 0 ? session.scopes.join(' ') : null,
    [fields.tenant]: session.tenant?.id ?? null,
    [fields.tenant_name]: session.tenant?.name ?? null,
    [fields.user]: session.subject,
    [fields.client_id]: session.client_id ?? null,
    [fields.client_secret]: client_secret ?? null,
    [fields.admin_api_key]: admin_api_key ?? null,
    [fields.provider]: session.provider,
    // A JSON object; the INI layout writes it as one line of JSON.
    [fields.session]: kept as unknown as Record<string, unknown>,
  };
  return values;
}

/** What the store found out about an entry before reading it: its provider, and that one's resource. */
export interface EntryDefaults {
  /** The provider, when the entry names none (see {@link entryProvider}). */
  provider: string | null;
  /** The provider's `resource`: what a token the vendor wrote is for. */
  resource: string | null;
  now: Date;
}

/** Whether an entry holds anything keyfob can use: a token, a refresh token, a secret, a kept session. */
export function holdsCredentials(entry: Readonly<Record<string, unknown>>, fields: FieldMap): boolean {
  const has = (key: string) => (typeof entry[key] === 'string' && entry[key] !== '') || isRecord(entry[key]);
  return [
    fields.token,
    fields.refresh_token,
    fields.client_secret,
    fields.admin_api_key,
    fields.session,
  ].some(has);
}

/**
 * The provider the entry names (its provider key, or the kept session's), and whether it is a
 * machine's (a client id and a secret), for the store to find a default when it names none.
 */
export function entryProvider(
  entry: Readonly<Record<string, unknown>>,
  fields: FieldMap,
): { named: string | null; machine: boolean } {
  const text = (key: string) =>
    typeof entry[key] === 'string' && entry[key] !== '' ? (entry[key] as string) : null;
  const named = text(fields.provider) ?? keptSession(entry[fields.session])?.provider ?? null;
  return { named, machine: text(fields.client_id) !== null && text(fields.client_secret) !== null };
}

/**
 * The session an entry holds, or `null` when it holds none keyfob can use (no token, no refresh
 * token, no machine secret; or no provider to use it with).
 *
 * @returns `{ problem }` when the kept session copy is damaged: the entry is then taken as if
 *   it had none (the vendor's keys still give a session).
 */
export function entryToSession(
  entry: Readonly<Record<string, unknown>>,
  fields: FieldMap,
  defaults: EntryDefaults,
): Session | null {
  const text = (field: CredentialsFileField): string | null => {
    const value = entry[fields[field]];
    if (typeof value === 'string') return value.length > 0 ? value : null;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return null;
  };
  const kept = keptSession(entry[fields.session]);
  const token = text('token');
  const refresh = text('refresh_token');
  const secret = text('client_secret');
  const adminKey = text('admin_api_key');
  const clientId = text('client_id');
  const machine = secret !== null && clientId !== null;
  if (!kept && token === null && refresh === null && !machine && adminKey === null) return null;
  const provider = text('provider') ?? kept?.provider ?? defaults.provider;
  if (provider === null) return null;
  const session: Session = kept
    ? { ...kept, provider }
    : newSession(provider, machine ? 'client_credentials' : 'token', defaults.now);
  session.refresh_token = refresh;
  if (secret !== null) session.client_secret = secret;
  else delete session.client_secret;
  if (adminKey !== null) session.admin_api_key = adminKey;
  else delete session.admin_api_key;
  if (clientId !== null) session.client_id = clientId;
  const user = text('user');
  if (user !== null) session.subject = user;
  const scopes = text('scopes');
  if (scopes !== null) session.scopes = parseScopes(scopes);
  const tenantId = text('tenant');
  if (tenantId !== null) {
    const same = session.tenant?.id === tenantId ? session.tenant : null;
    session.tenant = {
      id: tenantId,
      name: text('tenant_name') ?? same?.name ?? null,
      region: same?.region ?? null,
      server_url: same?.server_url ?? null,
    };
  }
  // The kept copy's primary token was written without its token (it is under the vendor's key):
  // the vendor's token fills it, and without one it is gone.
  for (const [key, kept] of Object.entries(session.access_tokens)) {
    if (kept.token !== '') continue;
    if (token === null) delete session.access_tokens[key];
    else kept.token = token;
  }
  if (token !== null) overlayToken(session, token, text('token_expiration'), defaults);
  return sessionShapeProblem(session) === null ? session : null;
}

/** The vendor's `token` (and its expiry) replaces the kept primary token when they differ. */
function overlayToken(
  session: Session,
  token: string,
  expiration: string | null,
  defaults: EntryDefaults,
): void {
  const seconds = expiration !== null && /^\d{1,12}$/.test(expiration) ? Number(expiration) : null;
  const expiresAt = seconds === null ? null : new Date(seconds * 1000).toISOString();
  const primary = primaryAccessToken(session);
  if (primary && primary.token.token === token) {
    // Same token: the kept copy's millisecond expiry is the more precise one.
    if (expiresAt !== null && primary.token.expires_at?.slice(0, 19) !== expiresAt.slice(0, 19)) {
      primary.token.expires_at = expiresAt;
    }
    return;
  }
  const resource = primary ? primary.token.resource : defaults.resource;
  const key = primary?.key ?? accessTokenKey(resource, []);
  session.access_tokens[key] = {
    token,
    token_type: primary?.token.token_type ?? 'Bearer',
    expires_at: expiresAt,
    obtained_at: defaults.now.toISOString(),
    scopes: primary?.token.scopes ?? [],
    resource,
    ...(primary?.token.control_plane !== undefined ? { control_plane: primary.token.control_plane } : {}),
    ...(primary?.token.tenant !== undefined ? { tenant: primary.token.tenant } : {}),
  };
}

/** The kept session copy, when it parses to a session (secrets are filled from the entry). */
function keptSession(value: unknown): Session | null {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return null;
    }
  }
  if (!isRecord(parsed)) return null;
  const candidate = { ...parsed, schema_version: SESSION_SCHEMA_VERSION, refresh_token: null } as Session;
  return sessionShapeProblem(candidate) === null ? structuredClone(candidate) : null;
}
