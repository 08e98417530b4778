/**
 * The proxy's credential: a fresh token per request through the instance's own token path
 * (memoized, renewed under the profile's lock, a rotated refresh token committed to the store
 * like every refresh), optionally narrowed to the scopes of `--scope`; and the secrets a
 * response must not echo back to the tool.
 */
import { InvalidInput } from '../errors.js';
import { type HeldSecrets, heldSecrets } from '../held-secrets.js';
import type { InstanceContext } from '../instance/context.js';
import { getToken, type TokenMemo } from '../instance/token.js';
import type { TokenResult } from '../instance/types.js';
import { parseScopes } from '../session.js';

/** Where the proxy's tokens come from. */
export interface ProxyCredential {
  /** A token for one request; `force` renews it first (after a 401 from upstream). */
  token(force: boolean): Promise<TokenResult>;
  /** The credentials keyfob holds for this path, to redact from responses. */
  secrets(current: TokenResult): Promise<HeldSecrets>;
}

/**
 * The credential of `profile` (the selected one when absent). With `scopes`, a token holding
 * exactly those: a refresh (RFC 6749 §6 narrowing) or a client-credentials request asking for
 * only them, kept in the session under its own key so the session's full token stays as it
 * was; never a stored token that merely includes them.
 */
export function proxyCredential(
  ctx: InstanceContext,
  memo: TokenMemo,
  profile: string | undefined,
  scopes: readonly string[] | undefined,
): ProxyCredential {
  const wanted = scopes ? parseScopes(scopes) : undefined;
  const base = {
    ...(profile !== undefined ? { profile } : {}),
    ...(wanted ? { scopes: wanted } : {}),
  };
  let held: { token: string; secrets: HeldSecrets } | undefined;
  return {
    async token(force) {
      const first = await getToken(ctx, memo, { ...base, forceRefresh: force });
      if (!wanted || sameScopes(first.scopes, wanted)) return first;
      // A broader token was found (the session's full one): ask for one with only these.
      const narrowed = await getToken(ctx, memo, { ...base, forceRefresh: true });
      if (!sameScopes(narrowed.scopes, wanted)) {
        throw new InvalidInput(
          `the provider gave a token with scopes "${narrowed.scopes.join(' ')}" when asked for only "${wanted.join(' ')}"; the proxy will not hold more than --scope`,
        );
      }
      return narrowed;
    },
    async secrets(current) {
      // The session is read again only when the token changed (a refresh may rotate the rest).
      if (held?.token !== current.access_token) {
        const injected = [current.access_token, `${current.token_type} ${current.access_token}`];
        held = { token: current.access_token, secrets: await heldSecrets(ctx, current.profile, injected) };
      }
      return held.secrets;
    },
  };
}

function sameScopes(have: readonly string[], wanted: readonly string[]): boolean {
  const sorted = parseScopes(have);
  return sorted.length === wanted.length && sorted.every((scope, i) => scope === wanted[i]);
}
