/**
 * The vendor's names of keyfob's commands (`createKeyfob({ commandNames: { login: 'signin' } })`):
 * every hint the library writes ("run `acme auth signin`") names the command its users have.
 */
import { InvalidInput } from '../errors.js';

/** keyfob's commands, by the names the library's hints use. */
export const KEYFOB_COMMANDS = [
  'assume-user',
  'check',
  'explain',
  'fetch',
  'login',
  'logout',
  'providers',
  'proxy',
  'refresh',
  'service-principal',
  'status',
  'switch',
  'tenants',
  'token',
  'whoami',
] as const;

export type KeyfobCommand = (typeof KEYFOB_COMMANDS)[number];

/** The vendor's names, by keyfob's: `{ login: 'signin' }`. */
export type CommandNames = Readonly<Partial<Record<string, string>>>;

const COMMAND_WORD = /^[a-z][a-z0-9-]*$/;

/**
 * Checks `commandNames` at the boundary and returns a frozen copy.
 * @throws InvalidInput naming the key that is not one of keyfob's commands or whose value is
 *   not a command word (`[a-z][a-z0-9-]*`).
 */
export function validCommandNames(names: unknown): Readonly<Record<string, string>> {
  if (names === undefined) return Object.freeze({});
  if (typeof names !== 'object' || names === null || Array.isArray(names)) {
    throw new InvalidInput('commandNames must be an object: { login: "signin" }');
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(names)) {
    if (value === undefined) continue;
    if (!(KEYFOB_COMMANDS as readonly string[]).includes(key)) {
      throw new InvalidInput(`commandNames.${key}: there is no command ${JSON.stringify(key)} to rename`, {
        hint: `rename one of ${KEYFOB_COMMANDS.join(', ')}`,
      });
    }
    if (typeof value !== 'string' || !COMMAND_WORD.test(value)) {
      throw new InvalidInput(`commandNames.${key} must be a lower-case command word ([a-z][a-z0-9-]*)`);
    }
    out[key] = value;
  }
  return Object.freeze(out);
}

/**
 * How people run one of keyfob's commands, for messages: `acme auth signin` for `login` when
 * the vendor renamed it, else `acme auth login`.
 */
export function commandLine(
  cliName: string,
  names: CommandNames | undefined,
  command: KeyfobCommand,
): string {
  const renamed = names && Object.hasOwn(names, command) ? names[command] : undefined;
  return `${cliName} ${renamed ?? command}`;
}

/** A command under the vendor's names, by keyfob's name (`commandLine` bound to one app). */
export type CommandOf = (command: KeyfobCommand) => string;

/** {@link commandLine} for one app: what providers and stores are given to name commands. */
export function commandOf(cliName: string, names: CommandNames | undefined): CommandOf {
  return (command) => commandLine(cliName, names, command);
}
