/**
 * `explain`: the resolution chain for the current environment, each step taken, hidden or
 * not set, with what was picked. Values never appear: names of variables and profiles only.
 */
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
  };
}
