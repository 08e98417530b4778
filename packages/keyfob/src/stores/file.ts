import path from 'node:path';
import { InvalidInput, StoreCorrupt, UnsupportedSchemaVersion } from '../errors.js';
import {
  checkPrivateDir,
  ensurePrivateDir,
  moveAside,
  PRIVATE_FILE_MODE,
  readFileNoFollow,
  writeFileAtomic,
} from '../fs/secure.js';
import { SESSION_SCHEMA_VERSION, type Session } from '../session.js';
import { isNonEmptyString, isNullableString, isRecord, isStringArray } from '../shape.js';
import { tenantShapeProblem } from '../tenant.js';
import { listProfileFiles, profileFilePath, removeProfileFile } from './profile-files.js';
import type { CredentialStore } from './store.js';

/** Version of the file envelope around a session. */
export const SESSION_FILE_SCHEMA_VERSION = 1;

const SESSION_FILE_SUFFIX = '.json';

const OBTAINED_BY: ReadonlySet<string> = new Set([
  'browser',
  'device',
  'client_credentials',
  'password',
  'token',
  'token_file',
  'exchange',
  'assume_user',
]);

/** Options of {@link FileStore}. */
export interface FileStoreOptions {
  /** keyfob's home directory; sessions go to `<home>/sessions`. */
  home: string;
  /** The command users run, for messages (an integrator's CLI name). Default `keyfob`. */
  cliName?: string;
  /** The login command under the vendor's names (`acme auth signin`); `<cliName> login` by default. */
  loginCommand?: string;
}

/** Options of {@link FileStore.write}. */
export interface FileWriteOptions {
  /** The held lock's signal: when it is aborted the write throws instead of landing. */
  signal?: AbortSignal;
}

/** What is on disk for a profile. */
type Inspection =
  | { status: 'missing' }
  | { status: 'ok'; session: Session }
  | { status: 'corrupt'; reason: string }
  | { status: 'newer'; version: number };

/** Sessions as plain JSON files, for machines with neither a keychain nor an encryption key. */
export class FileStore implements CredentialStore {
  readonly kind = 'file' as const;
  /** The sessions directory. */
  readonly location: string;
  readonly #cliName: string;
  readonly #loginCommand: string;

  /** @throws InvalidInput when `home` is not a non-empty path. */
  constructor(options: FileStoreOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidInput('FileStore needs { home }');
    const { home, cliName = 'keyfob' } = options;
    if (typeof home !== 'string' || home.length === 0 || home.includes('\0')) {
      throw new InvalidInput('FileStore home must be a non-empty path');
    }
    if (typeof cliName !== 'string' || cliName.length === 0) {
      throw new InvalidInput('cliName must be a string');
    }
    this.location = path.join(path.resolve(home), 'sessions');
    this.#cliName = cliName;
    this.#loginCommand = options.loginCommand ?? `${cliName} login`;
  }

  /**
   * The file a profile's session lives in.
   * @throws InvalidInput when the profile name is not acceptable.
   */
  sessionPath(profile: string): string {
    return profileFilePath(this.location, profile, SESSION_FILE_SUFFIX);
  }

  /**
   * @returns the profile's session, or `null` when none is stored.
   * @throws StoreCorrupt when the file cannot be parsed; it has been moved aside first, so the
   *   next read returns `null`.
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote it; it is left untouched.
   * @throws UnsafePath when the file or the sessions directory is a symlink.
   */
  async read(profile: string): Promise<Session | null> {
    const file = this.sessionPath(profile);
    if (!(await checkPrivateDir(this.location))) return null;
    const found = await inspectSessionFile(file);
    switch (found.status) {
      case 'missing':
        return null;
      case 'ok':
        return found.session;
      case 'newer':
        throw this.#newer(file, found.version);
      case 'corrupt': {
        const movedTo = await moveAside(file, new Date());
        throw new StoreCorrupt(
          `The stored session of profile "${profile}" in ${file} could not be read (${found.reason}); ` +
            `it was moved to ${movedTo}`,
          movedTo,
          { hint: `run \`${this.#loginCommand} --profile ${profile}\` to sign in again` },
        );
      }
    }
  }

  /**
   * Replaces the profile's session atomically (temp file, fsync, rename). A corrupt file in its
   * place is moved aside first, never overwritten.
   *
   * @throws UnsupportedSchemaVersion when a newer keyfob wrote the current file (left untouched).
   * @throws InvalidInput when `session` does not have the shape of a session.
   * @throws UnsafePath when the file or the sessions directory is a symlink.
   */
  async write(profile: string, session: Session, options: FileWriteOptions = {}): Promise<void> {
    const file = this.sessionPath(profile);
    const problem = sessionShapeProblem(session);
    if (problem) {
      throw new InvalidInput(`Refusing to store an invalid session for profile "${profile}": ${problem}`);
    }
    await ensurePrivateDir(this.location, { within: path.dirname(this.location) });
    const current = await inspectSessionFile(file);
    if (current.status === 'newer') throw this.#newer(file, current.version);
    if (current.status === 'corrupt') await moveAside(file, new Date());
    const envelope = { schema_version: SESSION_FILE_SCHEMA_VERSION, profile, session };
    await writeFileAtomic(file, `${JSON.stringify(envelope, null, 2)}\n`, {
      mode: PRIVATE_FILE_MODE,
      signal: options.signal,
    });
  }

  /** Removes the profile's session; `false` when there was none. */
  async delete(profile: string): Promise<boolean> {
    return removeProfileFile(this.location, this.sessionPath(profile));
  }

  /** Profiles with a session file, sorted; moved-aside and temp files are not profiles. */
  async list(): Promise<string[]> {
    return listProfileFiles(this.location, SESSION_FILE_SUFFIX);
  }

  #newer(file: string, version: number): UnsupportedSchemaVersion {
    return new UnsupportedSchemaVersion(
      `${file} was written by a newer version (schema_version ${version}; this one reads up to ` +
        `${SESSION_FILE_SCHEMA_VERSION}); it was left untouched`,
      { hint: `upgrade ${this.#cliName}, or use another profile` },
    );
  }
}

async function inspectSessionFile(file: string): Promise<Inspection> {
  const text = await readFileNoFollow(file);
  return text === null ? { status: 'missing' } : inspectSessionText(text);
}

/** The session in a session file's text, when it reads cleanly; else `null`. */
export function sessionFromFileText(text: string): Session | null {
  const found = inspectSessionText(text);
  return found.status === 'ok' ? found.session : null;
}

function inspectSessionText(text: string): Inspection {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { status: 'corrupt', reason: 'not valid JSON' };
  }
  if (!isRecord(parsed)) return { status: 'corrupt', reason: 'not a JSON object' };
  const version = newerVersion(parsed.schema_version, SESSION_FILE_SCHEMA_VERSION);
  if (version !== null) return { status: 'newer', version };
  if (parsed.schema_version !== SESSION_FILE_SCHEMA_VERSION) {
    return { status: 'corrupt', reason: 'schema_version is missing or invalid' };
  }
  if (typeof parsed.profile !== 'string') return { status: 'corrupt', reason: 'profile is not a string' };
  return innerSession(parsed.session);
}

/**
 * The session inside a store's envelope (file, keychain payload, encrypted file): written by a
 * newer keyfob (its own `schema_version`), of a shape keyfob cannot use, or usable.
 */
export function innerSession(
  session: unknown,
):
  | { status: 'ok'; session: Session }
  | { status: 'newer'; version: number }
  | { status: 'corrupt'; reason: string } {
  const version = isRecord(session) ? newerVersion(session.schema_version, SESSION_SCHEMA_VERSION) : null;
  if (version !== null) return { status: 'newer', version };
  const problem = sessionShapeProblem(session);
  if (problem) return { status: 'corrupt', reason: problem };
  return { status: 'ok', session: session as Session };
}

/** The version when `value` is a schema_version above `supported`, else `null`. */
export function newerVersion(value: unknown, supported: number): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > supported ? value : null;
}

/**
 * Describes the first way `value` falls short of a {@link Session}, or returns `null` when it
 * has every required field with the right type. Unknown extra fields are allowed: they may come
 * from a newer keyfob of the same schema version.
 */
export function sessionShapeProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'session is not an object';
  if (value.schema_version !== SESSION_SCHEMA_VERSION) return 'session.schema_version is not 1';
  if (!isNonEmptyString(value.provider)) return 'session.provider is not a non-empty string';
  if (typeof value.obtained_by !== 'string' || !OBTAINED_BY.has(value.obtained_by)) {
    return 'session.obtained_by is not a known method';
  }
  for (const key of ['subject', 'refresh_token', 'id_token'] as const) {
    if (!isNullableString(value[key])) return `session.${key} is neither a string nor null`;
  }
  for (const key of ['created_at', 'updated_at'] as const) {
    if (typeof value[key] !== 'string') return `session.${key} is not a string`;
  }
  if (!isStringArray(value.scopes)) return 'session.scopes is not a list of strings';
  const tenant = tenantShapeProblem(value.tenant);
  if (tenant) return `session.${tenant}`;
  if (value.proof_key !== null && !isProofKey(value.proof_key)) return 'session.proof_key is malformed';
  if (value.bound_to !== undefined) {
    const bound = bindingShapeProblem(value.bound_to);
    if (bound) return `session.${bound}`;
  }
  for (const key of ['client_secret', 'admin_api_key', 'client_id'] as const) {
    if (value[key] !== undefined && !isNonEmptyString(value[key]))
      return `session.${key} is not a non-empty string`;
  }
  if (value.service_principal !== undefined) {
    const principal = servicePrincipalShapeProblem(value.service_principal);
    if (principal) return `session.${principal}`;
  }
  if (!isRecord(value.access_tokens)) return 'session.access_tokens is not an object';
  for (const [key, token] of Object.entries(value.access_tokens)) {
    const problem = accessTokenShapeProblem(token);
    if (problem) return `session.access_tokens[${JSON.stringify(key)}].${problem}`;
  }
  return null;
}

/** `service_principal` (optional: only saved service principals have it). */
function servicePrincipalShapeProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'service_principal is not an object';
  for (const key of ['client_id', 'token_endpoint'] as const) {
    if (!isNonEmptyString(value[key])) return `service_principal.${key} is not a non-empty string`;
  }
  const method = value.token_endpoint_auth_method;
  if (method !== 'client_secret_basic' && method !== 'client_secret_post') {
    return 'service_principal.token_endpoint_auth_method is not client_secret_basic or client_secret_post';
  }
  return null;
}

/** `bound_to` (optional: sessions stored before it was recorded lack it). */
function bindingShapeProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'bound_to is not an object';
  for (const key of ['issuer', 'token_endpoint', 'client_id'] as const) {
    if (!isNullableString(value[key])) return `bound_to.${key} is neither a string nor null`;
  }
  for (const key of ['control_plane', 'api_key', 'emulator_host'] as const) {
    if (value[key] !== undefined && !isNullableString(value[key])) {
      return `bound_to.${key} is neither a string nor null`;
    }
  }
  return null;
}

function accessTokenShapeProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'is not an object';
  if (typeof value.token !== 'string') return 'token is not a string';
  if (typeof value.token_type !== 'string') return 'token_type is not a string';
  if (!isNullableString(value.expires_at)) return 'expires_at is neither a string nor null';
  if (typeof value.obtained_at !== 'string') return 'obtained_at is not a string';
  if (!isStringArray(value.scopes)) return 'scopes is not a list of strings';
  if (!isNullableString(value.resource)) return 'resource is neither a string nor null';
  // Control-plane tokens (optional: sessions stored before control planes lack them).
  if (value.control_plane !== undefined && !isNullableString(value.control_plane)) {
    return 'control_plane is neither a string nor null';
  }
  if (value.tenant !== undefined) return tenantShapeProblem(value.tenant);
  return null;
}

function isProofKey(value: unknown): boolean {
  return isRecord(value) && value.kind === 'dpop' && isRecord(value.private_jwk);
}
