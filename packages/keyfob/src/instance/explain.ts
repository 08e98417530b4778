/**
 * `explain`: the resolution chain for the current environment, each step taken, hidden or
 * not set, with what was picked. Values never appear: names of variables and profiles only.
 */
import type { KeyfobConfig } from '../config/schema.js';
import type { KeyfobState } from '../config/state.js';
import { fleetSummary, isMachineConfig } from '../fleet/hook.js';
import type { Resolved } from '../resolve/chain.js';
import type { InstanceContext } from './context.js';
import { callExplicit } from './token.js';
import type { ExplainReport, GetTokenOptions } from './types.js';

export async function explain(
  ctx: InstanceContext,
  opts: Pick<GetTokenOptions, 'profile' | 'token' | 'clientId' | 'clientSecret' | 'tenant'>,
): Promise<ExplainReport> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const { resolved, steps } = ctx.resolve(callExplicit(opts), cfg, st);
  return {
    resolved: {
      level: resolved.level,
      kind: resolved.kind,
      source: resolved.origin,
      profile: resolved.kind === 'profile' ? resolved.profile : null,
      tenant: resolved.tenant,
    },
    steps,
    // A machine's tokens come from the fleet when there is one; a person's never do.
    fleet: machineResolved(ctx, cfg, st, resolved) ? await fleetSummary(ctx, cfg) : null,
  };
}

/** Whether the resolved credential is a machine's (client credentials, or an exchange on them). */
function machineResolved(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  st: KeyfobState,
  resolved: Resolved,
): boolean {
  if (resolved.kind === 'client_credentials') return true;
  if (resolved.kind !== 'profile') return false;
  const provider = ctx.binding(cfg, st, resolved.profile).provider;
  const config = provider ? ctx.lookupProvider(cfg)(provider) : undefined;
  return config !== undefined && isMachineConfig(config, ctx.lookupProvider(cfg));
}
