/**
 * The keyfob-owned state file, `<home>/state.json`: the active profile, the profiles `login`
 * made, and the store each profile was first written to (so it is always used for it again).
 *
 * `config.yaml` belongs to the user and is never written; everything keyfob decides at run time
 * goes here, written atomically under the state lock.
 */
import path from 'node:path';
import { InvalidInput, UnsupportedSchemaVersion } from '../errors.js';
import {
  checkPrivateDir,
  ensurePrivateDir,
  moveAside,
  PRIVATE_FILE_MODE,
  readFileNoFollow,
  writeFileAtomic,
} from '../fs/secure.js';
import { type LockOptions, stateLockPath, withLock } from '../lifecycle/lock.js';
import { assertProfileName } from '../profile-name.js';
import { isRecord } from '../shape.js';
import type { StoreKind } from '../store-kind.js';
import { type Tenant, tenantShapeProblem } from '../tenant.js';
import { STORE_KINDS } from './schema.js';

/** Version of the state file; a reader meeting a newer one refuses and never rewrites it. */
export const STATE_SCHEMA_VERSION = 1;

const STORE_KIND_NAMES: ReadonlySet<string> = new Set<string>(STORE_KINDS);

/** What keyfob remembers about one profile. */
export interface ProfileState {
  /** Name of the provider in the configuration the profile logs in with. */
  provider: string;
  /** The store the profile was first written to; always used for it afterwards. */
  store: StoreKind;
  /** Why that store was chosen, for `status` ("keychain: …", "file: no keychain answered …"). */
  store_reason?: string;
  tenant: Tenant | null;
  /** ISO 8601 UTC. */
  created_at: string;
  /** ISO 8601 UTC. */
  updated_at: string;
}

/** The contents of `state.json`. */
export interface KeyfobState {
  schema_version: typeof STATE_SCHEMA_VERSION;
  /** Set by `switch` and `login`; `null` means "use `default`". */
  active_profile: string | null;
  profiles: Record<string, ProfileState>;
}

/** A state and, when the file was corrupt, the one-line warning the caller prints once. */
export interface StateResult {
  state: KeyfobState;
  /** Says what happened to a corrupt state file and what to run; `null` when all was well. */
  warning: string | null;
}

/** Options of {@link readState} and {@link updateState}. */
export interface StateOptions {
  /** The command users run, for messages (an integrator's CLI name). Default `keyfob`. */
  cliName?: string;
  /** Passed to the state lock ({@link withLock}); only {@link updateState} locks. */
  lock?: LockOptions;
}

/** `<home>/state.json`. */
export function statePath(home: string): string {
  if (typeof home !== 'string' || home.length === 0 || home.includes('\0')) {
    throw new InvalidInput('home must be a non-empty path');
  }
  return path.join(path.resolve(home), 'state.json');
}

/** The state of a home where keyfob has not written anything yet. */
export function emptyState(): KeyfobState {
  return { schema_version: STATE_SCHEMA_VERSION, active_profile: null, profiles: {} };
}

/**
 * Reads the state file without locking (a reader sees a whole old or new file either way).
 *
 * A missing file is an empty state. A corrupt one is moved aside to `state.json.corrupt-*` and
 * read as empty, with a `warning` for the caller to print once.
 *
 * @throws UnsupportedSchemaVersion when a newer keyfob wrote it; it is left untouched.
 * @throws UnsafePath when the file or the home directory is a symlink.
 * @throws InsecurePermissions when another user owns or can write the file or the home.
 */
export async function readState(home: string, options: StateOptions = {}): Promise<StateResult> {
  const file = statePath(home);
  if (!(await checkPrivateDir(path.dirname(file)))) return { state: emptyState(), warning: null };
  const text = await readFileNoFollow(file, { trusted: true });
  if (text === null) return { state: emptyState(), warning: null };
  const parsed = parseState(text);
  if (parsed.status === 'ok') return { state: parsed.state, warning: null };
  if (parsed.status === 'newer') {
    throw new UnsupportedSchemaVersion(
      `${file} was written by a newer version (schema_version ${parsed.version}; this one reads up to ` +
        `${STATE_SCHEMA_VERSION}); it was left untouched`,
      { hint: `upgrade ${options.cliName ?? 'keyfob'}` },
    );
  }
  const movedTo = await moveAside(file, new Date());
  const cli = options.cliName ?? 'keyfob';
  return {
    state: emptyState(),
    warning:
      `warning: ${file} could not be read (${parsed.reason}) and was moved to ${movedTo}; the active profile ` +
      `and profile list start over (stored sessions are kept): run \`${cli} switch PROFILE\` to pick a profile again`,
  };
}

/** The state in a state file's text, when it reads cleanly; else `null`. */
export function stateFromText(text: string): KeyfobState | null {
  const parsed = parseState(text);
  return parsed.status === 'ok' ? parsed.state : null;
}

/**
 * Changes the state under the state lock: re-reads the file, lets `mutate` change the state in
 * place, checks the result and writes it atomically (0600, home 0700).
 *
 * @returns the state as written, and the warning of {@link readState} if the file was corrupt.
 * @throws InvalidInput when `mutate` leaves a malformed state (nothing is written).
 * @throws UnsupportedSchemaVersion when a newer keyfob wrote the file (it is left untouched).
 * @throws LockTimeout when the state lock cannot be taken, or is lost before the write.
 */
export async function updateState(
  home: string,
  mutate: (state: KeyfobState) => void | Promise<void>,
  options: StateOptions = {},
): Promise<StateResult> {
  const file = statePath(home);
  if (typeof mutate !== 'function') {
    throw new InvalidInput('updateState needs a function that changes the state');
  }
  // The home is checked before the lock is taken: nothing is created in a refused home.
  await checkPrivateDir(path.dirname(file));
  return withLock(
    stateLockPath(home),
    async (lock) => {
      const result = await readState(home, options);
      await mutate(result.state);
      const problem = stateShapeProblem(result.state);
      if (problem) throw new InvalidInput(`Refusing to write an invalid state to ${file}: ${problem}`);
      await ensurePrivateDir(path.dirname(file));
      await writeFileAtomic(file, `${JSON.stringify(result.state, null, 2)}\n`, {
        mode: PRIVATE_FILE_MODE,
        signal: lock.signal,
      });
      return result;
    },
    options.lock,
  );
}

type Parsed =
  | { status: 'ok'; state: KeyfobState }
  | { status: 'corrupt'; reason: string }
  | { status: 'newer'; version: number };

function parseState(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { status: 'corrupt', reason: 'not valid JSON' };
  }
  if (isRecord(value)) {
    const version = value.schema_version;
    if (typeof version === 'number' && Number.isInteger(version) && version > STATE_SCHEMA_VERSION) {
      return { status: 'newer', version };
    }
  }
  const problem = stateShapeProblem(value);
  return problem ? { status: 'corrupt', reason: problem } : { status: 'ok', state: value as KeyfobState };
}

/** Describes the first way `value` falls short of a {@link KeyfobState}, or `null`. */
export function stateShapeProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'not a JSON object';
  if (value.schema_version !== STATE_SCHEMA_VERSION) return 'schema_version is missing or invalid';
  if (value.active_profile !== null && !isProfileName(value.active_profile)) {
    return 'active_profile is neither a profile name nor null';
  }
  if (!isRecord(value.profiles)) return 'profiles is not an object';
  for (const [name, entry] of Object.entries(value.profiles)) {
    if (!isProfileName(name)) {
      return `profiles has an invalid profile name ${JSON.stringify(name.slice(0, 80))}`;
    }
    const problem = profileStateProblem(entry);
    if (problem) return `profiles.${name}.${problem}`;
  }
  return null;
}

function profileStateProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'is not an object';
  if (typeof value.provider !== 'string' || value.provider.length === 0) {
    return 'provider is not a non-empty string';
  }
  if (typeof value.store !== 'string' || !STORE_KIND_NAMES.has(value.store))
    return 'store is not a known store';
  if (value.store_reason !== undefined && typeof value.store_reason !== 'string')
    return 'store_reason is not a string';
  const tenant = tenantShapeProblem(value.tenant);
  if (tenant) return tenant;
  if (typeof value.created_at !== 'string') return 'created_at is not a string';
  if (typeof value.updated_at !== 'string') return 'updated_at is not a string';
  return null;
}

function isProfileName(value: unknown): boolean {
  try {
    assertProfileName(value);
    return true;
  } catch {
    return false;
  }
}
