/**
 * Tokens given from outside (an option, `<PREFIX>_TOKEN`, `<PREFIX>_TOKEN_FILE`): used as they
 * are, never refreshed. A JWT's `exp` is read (not trusted: keyfob cannot verify it here) so
 * an expired one fails at once as "not renewable" instead of at the server.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { AuthenticationRequired, InvalidInput, TokenExpired } from '../errors.js';

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
    throw new TokenExpired(`the token from ${origin} expired at ${expiresAt} and cannot be renewed`, {
      hint: `provide a fresh token in ${origin}`,
    });
  }
  return { access_token: trimmed, token_type: 'Bearer', expires_at: expiresAt, scopes };
}

/** The most a token file may hold; a token is far smaller. */
const TOKEN_FILE_LIMIT_BYTES = 64 * 1024;

/**
 * A token file (`<PREFIX>_TOKEN_FILE`, e.g. a projected Kubernetes token), re-read when the file
 * changes or the token it held expires. Only a regular file is read: a FIFO would hang the
 * read and a device (`/dev/zero`) would never end, so both are refused at once.
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
    checkTokenFile(info, origin);
    const expired = cached?.token.expires_at != null && Date.parse(cached.token.expires_at) <= now.getTime();
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size && !expired)
      return cached.token;
    const read = await readTokenFile(path, origin);
    const token = await describeStaticToken(read.text, origin, now);
    cached = { mtimeMs: read.info.mtimeMs, size: read.info.size, token };
    return token;
  };
}

/** Refuses anything but a regular file of at most 64 KiB. */
function checkTokenFile(info: Stats, origin: string): void {
  if (!info.isFile()) {
    throw new InvalidInput(`the token file named by ${origin} is ${fileKind(info)}, not a regular file`, {
      hint: `point ${origin} at a file that holds the token`,
    });
  }
  if (info.size > TOKEN_FILE_LIMIT_BYTES) {
    throw new InvalidInput(`the token file named by ${origin} is larger than 64 KiB`);
  }
}

/**
 * Reads the file through one descriptor: opened without blocking (a FIFO swapped in after the
 * `stat` must not hang the open), checked again by `fstat`, and read up to the bound whatever
 * its size claims.
 */
async function readTokenFile(path: string, origin: string): Promise<{ text: string; info: Stats }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    throw new AuthenticationRequired(`the token file named by ${origin} cannot be read`, {
      hint: `check that ${origin} points at a readable file`,
    });
  }
  try {
    const info = await handle.stat();
    checkTokenFile(info, origin);
    const buffer = Buffer.alloc(TOKEN_FILE_LIMIT_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > TOKEN_FILE_LIMIT_BYTES) {
        throw new InvalidInput(`the token file named by ${origin} is larger than 64 KiB`);
      }
    }
    return { text: buffer.toString('utf8', 0, length), info };
  } finally {
    await handle.close();
  }
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isDirectory()) return 'a directory';
  if (info.isSocket()) return 'a socket';
  return 'a special file';
}
