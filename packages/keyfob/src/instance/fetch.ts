/**
 * `kf.fetch`: the credential of the resolved profile or source, sent only to its provider's
 * allowed origins (see `http/authenticated-fetch.ts` for the request rules).
 */
import { InsufficientScope, InvalidInput } from '../errors.js';
import type { KeyfobRequestInit } from '../http/authenticated-fetch.js';
import { addScopesHint, parseScopes } from '../session.js';
import type { InstanceContext } from './context.js';
import { callExplicit, getToken, type TokenMemo } from './token.js';

export async function authenticatedFetch(
  ctx: InstanceContext,
  memo: TokenMemo,
  input: string | URL,
  init: KeyfobRequestInit = {},
): Promise<Response> {
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const call = callExplicit({
    ...(init.profile !== undefined ? { profile: init.profile } : {}),
    ...(init.tenant !== undefined ? { tenant: init.tenant } : {}),
  });
  const { resolved } = ctx.resolve(call, cfg, st);
  const providerName =
    resolved.kind === 'profile' ? ctx.binding(cfg, st, resolved.profile).provider : ctx.ambientProvider(cfg);
  const providerConfig = providerName ? ctx.providerConfig(cfg, providerName) : undefined;
  const renewable = resolved.kind === 'profile' || resolved.kind === 'client_credentials';
  const wanted = parseScopes(init.scopes);
  const token = (force: boolean) =>
    getToken(ctx, memo, {
      ...call,
      ...(init.resource !== undefined ? { resource: init.resource } : {}),
      // A profile's grant is checked by the token lifecycle (InsufficientScope naming `refresh
      // --scopes`); a machine client asks for a token holding exactly these.
      ...(wanted.length > 0 ? { scopes: wanted } : {}),
      forceRefresh: force,
    });
  // The credential first: with no session the first error must be "not logged in; run login",
  // not an origin refusal whose advice (--allow-origin) only leads to it. Nothing is sent to
  // the target before its origin is checked; the token is memoized for the request itself.
  const first = await token(false);
  const loginCommand =
    resolved.kind === 'profile'
      ? ctx.loginCommand(resolved.profile, resolved.level === 'explicit')
      : ctx.command('login');
  const refreshCommand =
    resolved.kind === 'profile'
      ? ctx.profileCommand('refresh', resolved.profile, resolved.level === 'explicit')
      : ctx.command('refresh');
  assertScopes(first.scopes, wanted, {
    source: resolved.kind === 'profile' ? `profile ${first.profile}` : first.profile,
    hint: (missing) =>
      resolved.kind === 'profile'
        ? addScopesHint(refreshCommand, missing)
        : `use a credential granted ${missing.join(' ')}`,
  });
  // A tenant's token goes to its regional server: relative URLs are appended to its path.
  const server = first.tenant?.server_url ? new URL(first.tenant.server_url) : undefined;
  // Else the provider's api_base (an assume_user provider's tokens go there): the same rule.
  const base = server ?? (providerConfig?.api_base ? new URL(providerConfig.api_base) : undefined);
  const target = typeof input === 'string' && !URL.canParse(input) ? underServer(input, base) : input;
  const http = await import('../http/authenticated-fetch.js');
  return http.authenticatedFetch(
    {
      token,
      ...(server ? { tenantServer: server } : {}),
      allowedOrigins: providerConfig?.allowed_origins ?? [],
      ...(providerConfig?.credential ? { credential: providerConfig.credential } : {}),
      fetch: ctx.apiFetch(),
      loginCommand,
      refreshCommand,
      renewable,
      log: ctx.log,
    },
    target,
    init,
  );
}

/**
 * `/v1/x` under the tenant's `server_url` (`https://h/eu-west-1` → `https://h/eu-west-1/v1/x`),
 * or under the provider's `api_base` when the credential has no tenant server.
 * @throws InvalidInput with neither, or for `//host/…` (another host).
 */
function underServer(relative: string, server: URL | undefined): string {
  if (!server) {
    throw new InvalidInput(
      "a relative URL needs a tenant's regional server (an exchange provider) or the provider's api_base; give an absolute URL",
    );
  }
  if (relative.startsWith('//') || relative.startsWith('\\')) {
    throw new InvalidInput('a URL starting with // names another host; give an absolute URL');
  }
  return `${server.href.replace(/\/+$/, '')}/${relative.replace(/^\/+/, '')}`;
}

/**
 * A token whose scopes are known (a JWT's `scope` claim, a token response's `scope`) and lack
 * one the request needs is refused before anything is sent. A token whose scopes keyfob cannot
 * know (an opaque token from outside: an empty list) is sent, and the server decides.
 */
function assertScopes(
  held: readonly string[],
  wanted: readonly string[],
  who: { source: string; hint: (missing: readonly string[]) => string },
): void {
  if (wanted.length === 0 || held.length === 0) return;
  const missing = wanted.filter((scope) => !held.includes(scope));
  if (missing.length === 0) return;
  throw new InsufficientScope(`the token of ${who.source} does not hold ${missing.join(' ')}`, missing, {
    hint: who.hint(missing),
  });
}
