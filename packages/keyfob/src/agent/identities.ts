/**
 * The passphrase identities the keyfob agent holds unlocked (DESIGN.md, The keyfob agent): a
 * client hands over the passphrase once, the agent runs scrypt and keeps the identity until
 * `unlock_timeout`, `agent stop`, or a change to the identity file (a replaced file is not the
 * same identity). Nothing here is ever written anywhere.
 */
import { stat } from 'node:fs/promises';
import { type UnlockedIdentity, unlockPassphraseIdentity } from '../stores/age/identity.js';

/** What unlocking takes besides the file and the passphrase (as the encrypted store unlocks). */
export interface UnlockSettings {
  lockPath: string;
  cliName: string;
  passphraseVar: string;
  /** Seconds the identity stays unlocked. */
  unlockTimeout: number;
}

interface Held {
  identity: UnlockedIdentity;
  until: number;
  file: string;
  /** The file as it was when unlocked. */
  version: string;
  timer: NodeJS.Timeout;
}

/** The identities an agent holds, by file. */
export class HeldIdentities {
  readonly #held = new Map<string, Held>();

  constructor(private readonly log: (line: string) => void) {}

  /** The unlocked identity of `file`, or `null` (none, expired, or the file changed since). */
  async get(file: string): Promise<UnlockedIdentity | null> {
    const entry = this.#held.get(file);
    if (!entry || entry.until <= Date.now()) return null;
    if ((await fileVersion(file)) !== entry.version) {
      this.forget(file, 'its file changed');
      return null;
    }
    return entry.identity;
  }

  /** Whether `file` exists and is not unlocked here. */
  async locked(file: string): Promise<boolean> {
    return (await this.get(file)) === null && (await fileVersion(file)) !== 'missing';
  }

  /**
   * Runs scrypt on `file` with `passphrase` and holds the identity for `settings.unlockTimeout`.
   * @returns `null` when the file does not exist.
   * @throws what the encrypted store would (a wrong passphrase: StoreUnavailable).
   */
  async unlock(file: string, passphrase: string, settings: UnlockSettings): Promise<UnlockedIdentity | null> {
    const identity = await unlockPassphraseIdentity({
      file,
      passphrase: async () => passphrase,
      create: false,
      lockPath: settings.lockPath,
      scryptWorkFactor: 18,
      cliName: settings.cliName,
      passphraseVar: settings.passphraseVar,
    });
    if (!identity) return null;
    this.forget(file, 'unlocked again');
    const until = Date.now() + settings.unlockTimeout * 1000;
    const timer = setTimeout(() => this.forget(file, 'unlock_timeout'), settings.unlockTimeout * 1000);
    timer.unref();
    this.#held.set(file, { identity, until, file, version: await fileVersion(file), timer });
    this.log(`unlocked ${file} until ${new Date(until).toISOString()}`);
    return identity;
  }

  forget(file: string, why: string): void {
    const entry = this.#held.get(file);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.#held.delete(file);
    this.log(`forgot the identity of ${file} (${why})`);
  }

  forgetAll(why: string): void {
    for (const file of [...this.#held.keys()]) this.forget(file, why);
  }

  /** What `agent status` shows: which files, until when; never the identity. */
  list(): { file: string; until: string }[] {
    return [...this.#held.values()]
      .filter((entry) => entry.until > Date.now())
      .map((entry) => ({ file: entry.file, until: new Date(entry.until).toISOString() }));
  }
}

/** The identity as the protocol carries it to a same-user client. */
export function wire(identity: UnlockedIdentity) {
  return { identities: [...identity.identities], recipient: identity.recipient, source: identity.source };
}

async function fileVersion(file: string): Promise<string> {
  const stats = await stat(file).catch(() => null);
  return stats ? `${stats.ino}:${stats.size}:${stats.mtimeMs}` : 'missing';
}
