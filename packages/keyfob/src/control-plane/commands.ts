/**
 * The commands control-plane messages tell people to run. A module of its own, importing only
 * `text.ts`, so `instance/token.ts` (loaded for every `getToken`) can name them without loading
 * the control-plane client.
 */
import { safeText } from '../text.js';

/**
 * `<cli> assume-user --tenant-id T --user-id U [--profile P]`: the command that assumes a user
 * (again); `T` and `U` stand for what the caller does not know.
 * @param command the assume-user command under the vendor's names (`acme auth assume-user`).
 */
export function assumeUserCommand(command: string, tenantId = 'T', userId = 'U', profile?: string): string {
  const base = `${command} --tenant-id ${safeText(tenantId, 100)} --user-id ${safeText(userId, 100)}`;
  return profile ? `${base} --profile ${profile}` : base;
}
