/**
 * `whoami`: who the token says the caller is. Userinfo needs a token without an audience, so
 * this asks for one with no resource, whatever the provider's default.
 */
import { AuthenticationRequired } from '../errors.js';
import { assertBound, bindingOf } from '../lifecycle/binding.js';
import type { InstanceContext } from './context.js';
import { getToken, type TokenMemo } from './token.js';

export async function whoami(
  ctx: InstanceContext,
  memo: TokenMemo,
  opts: { profile?: string },
): Promise<Record<string, unknown>> {
  const result = await getToken(ctx, memo, { ...opts, resource: null });
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const binding = ctx.binding(cfg, st, result.profile);
  const session = binding.provider
    ? await ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind).read(result.profile)
    : null;
  if (!session) {
    // A token from outside profiles: only its own claims can be shown.
    const { decodeJwt } = await import('jose');
    try {
      return { ...decodeJwt(result.access_token) };
    } catch {
      throw new AuthenticationRequired(
        `the token from ${result.profile} is opaque; who it belongs to cannot be shown`,
      );
    }
  }
  // The access token goes to userinfo only at the place the session came from.
  assertBound(session, bindingOf(ctx.providerConfig(cfg, session.provider)), {
    profile: result.profile,
    loginCommand: ctx.loginCommand(result.profile, opts.profile !== undefined),
    action: 'userinfo was not asked',
  });
  return (await ctx.provider(session.provider)).userinfo(session, result.access_token);
}
