/**
 * Calls to a profile's control plane with its control-plane token (users/me, service
 * principals): the token of `getToken` for the profile, sent only when the session is bound to
 * the control plane the configuration names now; on a 401 the token is acquired again once
 * (re-assumed, re-exchanged, or client credentials again) and the call retried.
 */
import type { KeyfobConfig } from '../config/schema.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import { type ControlPlaneProviderConfig, hasControlPlane } from '../control-plane/from-config.js';
import { AuthenticationRequired, CredentialRefused } from '../errors.js';
import { assertBound, bindingOf } from '../lifecycle/binding.js';
import type { InstanceContext } from './context.js';
import { callExplicit, getToken, type TokenMemo } from './token.js';
import type { TokenResult } from './types.js';

/** Which credential a control-plane call uses: DESIGN.md's resolution, as for `getToken`. */
export interface ControlPlaneCallOptions {
  profile?: string;
  tenant?: string;
}

/** The provider and profile a call resolves to, before anything is sent. */
export interface ControlPlaneTarget {
  /** `null` for a credential from outside profiles (`<PREFIX>_TOKEN`, …). */
  profile: string | null;
  providerConfig: ControlPlaneProviderConfig;
}

/**
 * The control-plane provider the call would use, or `null` when its provider has no control
 * plane (or none is known). Sends nothing.
 */
export async function controlPlaneTarget(
  ctx: InstanceContext,
  opts: ControlPlaneCallOptions,
): Promise<ControlPlaneTarget | null> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const { resolved } = ctx.resolve(callExplicit(opts), cfg, st);
  const profile = resolved.kind === 'profile' ? resolved.profile : null;
  const providerName = profile ? ctx.binding(cfg, st, profile).provider : ctx.ambientProvider(cfg);
  if (!providerName) return null;
  const providerConfig = ctx.providerConfig(cfg, providerName);
  return hasControlPlane(providerConfig) ? { profile, providerConfig } : null;
}

/**
 * Runs `fn` with the control plane and a control-plane token of `target`; once more with a
 * token acquired anew when the control plane answers 401.
 */
export async function withControlPlaneToken<T>(
  ctx: InstanceContext,
  memo: TokenMemo,
  opts: ControlPlaneCallOptions,
  target: ControlPlaneTarget,
  fn: (controlPlane: ControlPlane, token: string) => Promise<T>,
): Promise<{ value: T; token: TokenResult }> {
  const cfg = await ctx.config();
  let token = await getToken(ctx, memo, opts);
  await assertSessionBound(ctx, cfg, target, opts.profile !== undefined);
  const controlPlane = ctx.controlPlaneOf(target.providerConfig);
  try {
    return { value: await fn(controlPlane, token.access_token), token };
  } catch (error) {
    if (!(error instanceof AuthenticationRequired) || error instanceof CredentialRefused) throw error;
    ctx.log.debug('control plane refused the token; acquiring another', { profile: target.profile });
    token = await getToken(ctx, memo, { ...opts, forceRefresh: true });
    return { value: await fn(controlPlane, token.access_token), token };
  }
}

/** A profile's token goes to the control plane only if its session came from there. */
async function assertSessionBound(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  target: ControlPlaneTarget,
  named: boolean,
): Promise<void> {
  if (!target.profile) return;
  const st = await ctx.state();
  const binding = ctx.binding(cfg, st, target.profile);
  const session = await ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind).read(target.profile);
  if (!session?.bound_to) return;
  // Only the control plane's place matters for this send (an exchange's login is checked when
  // it is renewed): the stored binding with the configuration's control-plane fields.
  const current = bindingOf(target.providerConfig);
  assertBound(
    session,
    current && {
      ...session.bound_to,
      control_plane: current.control_plane ?? null,
      ...(target.providerConfig.type === 'assume_user' ? { token_endpoint: current.token_endpoint } : {}),
    },
    {
      profile: target.profile,
      loginCommand: ctx.loginCommand(target.profile, named),
      action: 'nothing was sent to the control plane',
    },
  );
}
