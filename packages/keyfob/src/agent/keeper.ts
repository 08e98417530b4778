/**
 * The encrypted-file store's identity keeper in a client: the keyfob agent, asked through
 * `ask.ts`, loaded only when the store first needs its identity (a cached token never does).
 */
import type { InstanceContext } from '../instance/context.js';
import type { IdentityKeeper } from '../stores/age/identity.js';

/** A keeper that asks the instance's agent; `null` answers (no agent) leave the store alone. */
export function agentIdentityKeeper(ctx: () => InstanceContext): IdentityKeeper {
  return {
    unlocked: async (file) => (await import('./ask.js')).identityFromAgent(ctx(), file),
    unlock: async (file, passphrase) => (await import('./ask.js')).unlockInAgent(ctx(), file, passphrase),
  };
}
