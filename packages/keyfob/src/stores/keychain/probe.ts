/** Whether the OS keychain answers, asked without opening a store. */
import type { AppNames } from '../../config/names.js';
import { InvalidInput } from '../../errors.js';
import { isRecord } from '../../shape.js';
import { type KeychainProbe, probeKeyring } from './keyring.js';

/**
 * Whether the OS keychain answers for this app: writes, reads back and deletes a throw-away
 * entry under `names.keychainService`. Never throws; `reason` says what answered or what failed
 * ("Couldn't access platform storage…", "unlock prompt was dismissed", a timeout, a missing
 * package).
 *
 * @param options.timeoutMs time limit of each of the three calls; default 5000.
 */
export async function probeKeychain(
  names: AppNames,
  options: { timeoutMs?: number } = {},
): Promise<KeychainProbe> {
  if (!isRecord(names) || typeof names.keychainService !== 'string') {
    throw new InvalidInput('probeKeychain needs the app names (appNames())');
  }
  return probeKeyring(names.keychainService, options);
}
