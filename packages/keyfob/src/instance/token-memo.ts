/**
 * The memo of `getToken`: tokens an instance already holds, by request, so that a fresh one
 * costs no disk read (a long-running SDK calls getToken per request).
 */
import type { StaticToken } from '../providers/static-token.js';
import { type AccessToken, freshnessOf, parseScopes } from '../session.js';
import type { GetTokenOptions, TokenResult } from './types.js';

export interface MemoEntry {
  result: TokenResult;
  /** DESIGN.md's freshness rule with the token's dates parsed once. */
  freshAt(nowMs: number, minTtlSeconds: number): boolean;
}

/**
 * Tokens an instance already holds, by request: a fresh one is returned without touching disk
 * (a long-running SDK calls getToken per request). A token changed by another process is seen
 * when this one needs renewing; `forceRefresh` bypasses the memo, login and logout clear it.
 */
export class TokenMemo {
  readonly #entries = new Map<string, MemoEntry>();
  clear(): void {
    this.#entries.clear();
  }
  get(key: string): MemoEntry | undefined {
    return this.#entries.get(key);
  }
  set(key: string, entry: MemoEntry): void {
    this.#entries.set(key, entry);
  }
}

/** A token from outside profiles, as a memo entry. */
export function staticEntry(token: StaticToken, label: string): MemoEntry {
  const result: TokenResult = Object.freeze({ ...token, profile: label, resource: null, tenant: null });
  const expiresAt = token.expires_at === null ? null : Date.parse(token.expires_at);
  // A token from outside cannot be renewed: it is served until it expires, whatever minTtl.
  return { result, freshAt: (nowMs) => expiresAt === null || expiresAt > nowMs };
}

/** When each profile token result was obtained, for the keyfob agent's answers (`obtainedAtOf`). */
const obtained = new WeakMap<TokenResult, string | null>();

/** When a result of {@link profileEntry} was obtained (`null` when not known). */
export function obtainedAtOf(result: TokenResult): string | null {
  return obtained.get(result) ?? null;
}

/** A token the keyfob agent served, as a memo entry (the same freshness rule as a profile's). */
export function profileEntryFromResult(served: TokenResult, obtainedAt: string | null): MemoEntry {
  const result: TokenResult = Object.freeze({
    access_token: served.access_token,
    token_type: served.token_type,
    expires_at: served.expires_at,
    scopes: Object.freeze([...served.scopes]) as string[],
    profile: served.profile,
    resource: served.resource,
    tenant: served.tenant ? Object.freeze({ ...served.tenant }) : null,
  });
  const freshAt = freshnessOf({
    expires_at: served.expires_at,
    obtained_at: obtainedAt ?? '',
  } as AccessToken);
  return { result, freshAt };
}

/** A profile's access token, as a memo entry. */
export function profileEntry(token: AccessToken, profile: string): MemoEntry {
  const result: TokenResult = Object.freeze({
    access_token: token.token,
    token_type: token.token_type,
    expires_at: token.expires_at,
    scopes: Object.freeze([...token.scopes]) as string[],
    profile,
    resource: token.resource,
    tenant: token.tenant ? Object.freeze({ ...token.tenant }) : null,
  });
  obtained.set(result, token.obtained_at);
  return { result, freshAt: freshnessOf(token) };
}

/** The memo's key for a call's options: `''` for a call with none. */
export function memoKey(opts: GetTokenOptions): string {
  const { profile, resource, scopes, token, clientId, tenant } = opts;
  if (
    profile === undefined &&
    resource === undefined &&
    scopes === undefined &&
    token === undefined &&
    clientId === undefined &&
    tenant === undefined
  ) {
    return '';
  }
  return [
    profile ?? '',
    resource === undefined ? '\u0001' : (resource ?? ''),
    scopes === undefined ? '' : parseScopes(scopes).join(' '),
    token ?? '',
    clientId ?? '',
    tenant ?? '',
  ].join('\u0000');
}
