/**
 * The `memory` store: sessions that live only as long as the process (a login started by the
 * library that the caller did not ask to persist, tests).
 */
import { InvalidInput } from '../errors.js';
import { assertProfileName } from '../profile-name.js';
import type { Session } from '../session.js';
import { sessionShapeProblem } from './file.js';
import type { CredentialStore, StoreWriteOptions } from './store.js';

/**
 * Sessions in a `Map`. Records are deep-copied on the way in and out, so a caller mutating a
 * session it read (or wrote) cannot change what is stored, exactly as with the other stores.
 */
export class MemoryStore implements CredentialStore {
  readonly kind = 'memory' as const;
  readonly location = 'memory (this process only)';
  readonly #sessions = new Map<string, Session>();

  /**
   * @returns a copy of the profile's session, or `null` when none is stored.
   * @throws InvalidInput when the profile name is not acceptable.
   */
  async read(profile: string): Promise<Session | null> {
    assertProfileName(profile);
    const session = this.#sessions.get(profile);
    return session ? structuredClone(session) : null;
  }

  /**
   * Stores a copy of `session`.
   * @throws InvalidInput when the profile name is not acceptable or `session` is malformed.
   */
  async write(profile: string, session: Session, options: StoreWriteOptions = {}): Promise<void> {
    assertProfileName(profile);
    const problem = sessionShapeProblem(session);
    if (problem) {
      throw new InvalidInput(`Refusing to store an invalid session for profile "${profile}": ${problem}`);
    }
    options.signal?.throwIfAborted();
    this.#sessions.set(profile, structuredClone(session));
  }

  /** Removes the profile's session; `false` when there was none. */
  async delete(profile: string): Promise<boolean> {
    assertProfileName(profile);
    return this.#sessions.delete(profile);
  }

  /** Profiles with a session, sorted. */
  async list(): Promise<string[]> {
    return [...this.#sessions.keys()].sort();
  }
}
