/**
 * The commands control-plane messages tell people to run. A module of its own, importing only
 * `text.ts`, so `instance/token.ts` (loaded for every `getToken`) can name them without loading
 * the control-plane client.
 */
import { safeText } from '../text.js';

/**
 * `<cli> assume-user --tenant-id T --user-id U [--profile P]`: the command that assumes a user
 * (again); `T` and `U` stand for what the caller does not know.
 */
export function assumeUserCommand(cliName: string, tenantId = 'T', userId = 'U', profile?: string): string {
  const base = `${cliName} assume-user --tenant-id ${safeText(tenantId, 100)} --user-id ${safeText(userId, 100)}`;
  return profile ? `${base} --profile ${profile}` : base;
}
