/**
 * Profile names: `[A-Za-z0-9._-]{1,64}`, never `.` or `..`. They become file and lock names,
 * so they are checked at every boundary, and an invalid one is never echoed back (a mistyped
 * argument may be a token).
 */
import { InvalidInput } from './errors.js';

export const PROFILE_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** True for a name keyfob accepts. */
export function isProfileName(name: unknown): name is string {
  return typeof name === 'string' && PROFILE_NAME_PATTERN.test(name) && name !== '.' && name !== '..';
}

/**
 * @param where what supplied the name, for the message: `--profile`, `KEYFOB_PROFILE`, …
 * @throws InvalidInput unless {@link isProfileName}.
 */
export function assertProfileName(name: unknown, where = 'profile name'): asserts name is string {
  if (!isProfileName(name)) {
    throw new InvalidInput(`${where}: not a valid profile name`, {
      hint: "use 1 to 64 letters, digits, '.', '_' or '-' (not '.' or '..')",
    });
  }
}
