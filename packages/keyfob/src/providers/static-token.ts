/**
 * Tokens given from outside (an option, `<PREFIX>_TOKEN`, `<PREFIX>_TOKEN_FILE`): used as they
 * are, never refreshed. A JWT's `exp` is read (not trusted: keyfob cannot verify it here) so
 * an expired one fails at once as "not renewable" instead of at the server.
 */
import { readFile, stat } from 'node:fs/promises';
import { AuthenticationRequired, InvalidInput } from '../errors.js';

export interface StaticToken {
  access_token: string;
  token_type: string;
  /** From the JWT's `exp`, or `null` for an opaque token. */
  expires_at: string | null;
  scopes: string[];
}

/** Reads what can be read from a token given from outside. */
export async function describeStaticToken(token: string, origin: string, now: Date): Promise<StaticToken> {
  const trimmed = token.trim();
  if (trimmed.length === 0 || /\s/.test(trimmed)) {
    throw new InvalidInput(`the token from ${origin} is empty or contains white space`);
  }
  let expiresAt: string | null = null;
  let scopes: string[] = [];
  try {
    // jose only when there is a token to read: the cached-token path never loads it.
    const { decodeJwt } = await import('jose');
    const claims = decodeJwt(trimmed);
    if (typeof claims.exp === 'number') expiresAt = new Date(claims.exp * 1000).toISOString();
    const scope = claims.scope ?? claims.scp;
    if (typeof scope === 'string') scopes = scope.split(' ').filter(Boolean);
    else if (Array.isArray(scope)) scopes = scope.map(String);
  } catch {
    // Opaque: nothing to read, expiry unknown.
  }
  if (expiresAt !== null && Date.parse(expiresAt) <= now.getTime()) {
    throw new AuthenticationRequired(
      `the token from ${origin} expired at ${expiresAt} and cannot be renewed`,
      {
        hint: `provide a fresh token in ${origin}`,
      },
    );
  }
  return { access_token: trimmed, token_type: 'Bearer', expires_at: expiresAt, scopes };
}

/**
 * A token file (`<PREFIX>_TOKEN_FILE`, e.g. a projected Kubernetes token), re-read when the file
 * changes or the token it held expires.
 */
export function tokenFileReader(path: string, origin: string): (now: Date) => Promise<StaticToken> {
  let cached: { mtimeMs: number; size: number; token: StaticToken } | undefined;
  return async (now) => {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new AuthenticationRequired(`the token file named by ${origin} cannot be read`, {
        hint: `check that ${origin} points at a readable file`,
      });
    }
    const expired = cached?.token.expires_at != null && Date.parse(cached.token.expires_at) <= now.getTime();
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size && !expired)
      return cached.token;
    if (info.size > 64 * 1024)
      throw new InvalidInput(`the token file named by ${origin} is larger than 64 KiB`);
    const text = await readFile(path, 'utf8');
    const token = await describeStaticToken(text, origin, now);
    cached = { mtimeMs: info.mtimeMs, size: info.size, token };
    return token;
  };
}
