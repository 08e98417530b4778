/**
 * `whoami`: who the token says the caller is. Userinfo needs a token without an audience, so
 * this asks for one with no resource, whatever the provider's default. A session that cannot get
 * another token (one given with `login --with-token`) is shown from the token it holds.
 */
import { AuthenticationRequired } from '../errors.js';
import { assertBound, bindingOf } from '../lifecycle/binding.js';
import type { InstanceContext } from './context.js';
import { controlPlaneTarget, withControlPlaneToken } from './control-plane.js';
import { getToken, type TokenMemo } from './token.js';
import type { TokenResult } from './types.js';

export async function whoami(
  ctx: InstanceContext,
  memo: TokenMemo,
  opts: { profile?: string; tenant?: string },
): Promise<Record<string, unknown>> {
  // A control plane says who its token stands for (users/me), tenant included.
  const target = await controlPlaneTarget(ctx, opts);
  if (target) {
    const { value, token } = await withControlPlaneToken(ctx, memo, opts, target, (cp, t) => cp.whoami(t));
    return {
      ...value,
      expires_at: typeof value.expires_at === 'string' ? value.expires_at : token.expires_at,
    };
  }
  let result: TokenResult;
  let heldToken = false;
  try {
    result = await getToken(ctx, memo, { ...opts, resource: null });
  } catch (error) {
    if (!(error instanceof AuthenticationRequired)) throw error;
    // No refresh token to ask for an audience-free one: the token the session holds still says
    // who it is for while it is valid ("can no longer be renewed" would be false).
    result = await getToken(ctx, memo, opts).catch(() => {
      throw error;
    });
    heldToken = true;
  }
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const binding = ctx.binding(cfg, st, result.profile);
  const session = binding.provider
    ? await ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind).read(result.profile)
    : null;
  if (!session) return tokenClaims(result);
  // The access token goes to userinfo only at the place the session came from.
  assertBound(session, bindingOf(ctx.providerConfig(cfg, session.provider), ctx.lookupProvider(cfg)), {
    profile: result.profile,
    loginCommand: ctx.loginCommand(result.profile, opts.profile !== undefined),
    action: 'userinfo was not asked',
  });
  const provider = await ctx.provider(session.provider);
  if (!heldToken) return provider.userinfo(session, result.access_token);
  try {
    return await provider.userinfo(session, result.access_token);
  } catch {
    // Userinfo may refuse a token issued for an API (its audience): its own claims remain.
    return tokenClaims(result);
  }
}

/** The claims of a JWT access token; an opaque one cannot say whose it is. */
async function tokenClaims(result: TokenResult): Promise<Record<string, unknown>> {
  const { decodeJwt } = await import('jose');
  try {
    return { ...decodeJwt(result.access_token) };
  } catch {
    throw new AuthenticationRequired(
      `the token from ${result.profile} is opaque; who it belongs to cannot be shown`,
    );
  }
}
