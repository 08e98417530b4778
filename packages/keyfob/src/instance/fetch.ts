/**
 * `kf.fetch`: the credential of the resolved profile or source, sent only to its provider's
 * allowed origins (see `http/authenticated-fetch.ts` for the request rules).
 */
import type { KeyfobRequestInit } from '../http/authenticated-fetch.js';
import type { InstanceContext } from './context.js';
import { callExplicit, getToken, type TokenMemo } from './token.js';

export async function authenticatedFetch(
  ctx: InstanceContext,
  memo: TokenMemo,
  input: string | URL,
  init: KeyfobRequestInit = {},
): Promise<Response> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const call = callExplicit({ ...(init.profile !== undefined ? { profile: init.profile } : {}) });
  const { resolved } = ctx.resolve(call, cfg, st);
  const providerName =
    resolved.kind === 'profile' ? ctx.binding(cfg, st, resolved.profile).provider : ctx.ambientProvider(cfg);
  const providerConfig = providerName ? ctx.providerConfig(cfg, providerName) : undefined;
  const renewable = resolved.kind === 'profile' || resolved.kind === 'client_credentials';
  const token = (force: boolean) =>
    getToken(ctx, memo, {
      ...call,
      ...(init.resource !== undefined ? { resource: init.resource } : {}),
      forceRefresh: force,
    });
  // The credential first: with no session the first error must be "not logged in; run login",
  // not an origin refusal whose advice (--allow-origin) only leads to it. Nothing is sent to
  // the target before its origin is checked; the token is memoized for the request itself.
  await token(false);
  const http = await import('../http/authenticated-fetch.js');
  return http.authenticatedFetch(
    {
      token,
      allowedOrigins: providerConfig?.allowed_origins ?? [],
      fetch: ctx.apiFetch(),
      loginCommand:
        resolved.kind === 'profile'
          ? ctx.loginCommand(resolved.profile, resolved.level === 'explicit')
          : `${ctx.cliName} login`,
      renewable,
      log: ctx.log,
    },
    input,
    init,
  );
}
