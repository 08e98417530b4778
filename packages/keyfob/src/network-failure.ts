/**
 * Socket-level failures in words: which host refused, reset or timed out, from the `cause`
 * chain of a failed `fetch` (Node's errno errors carry `address`/`port` or `hostname`; undici's
 * socket errors carry the socket's remote address). Light on purpose: the CLI loads it for
 * errors that reach it unmapped, without openid-client.
 */
import { NetworkError } from './errors.js';
import { safeText } from './text.js';

/** What a socket error says about where it happened. */
interface SocketCause {
  code: string;
  host: string | null;
}

/**
 * A {@link NetworkError} for a connection failure somewhere in `error`'s cause chain, naming
 * `host:port` and the code, e.g. "could not connect to 127.0.0.1:8080 (ECONNREFUSED)"; `null`
 * when the chain holds no socket error.
 */
export function networkFailure(error: unknown, action: string): NetworkError | null {
  const found = findSocketCause(error);
  if (!found) return fetchFailure(error, action);
  return new NetworkError(`${action} failed: ${socketWords(found)}`, {
    hint: 'check that the server is running and reachable',
    cause: error,
  });
}

/**
 * A `fetch` that failed before any answer without a socket error (a port fetch refuses, such as
 * 1 or 6000: "bad port"): undici's `TypeError("fetch failed")` with the reason as its cause.
 */
function fetchFailure(error: unknown, action: string): NetworkError | null {
  if (!(error instanceof TypeError) || error.message !== 'fetch failed') return null;
  const reason = error.cause instanceof Error ? error.cause.message : '';
  const printable = safeText(reason, 120);
  return new NetworkError(
    `${action} failed: the request failed before any answer${printable ? ` (${printable})` : ''}`,
    {
      cause: error,
    },
  );
}

/** The words for one socket failure. */
function socketWords({ code, host }: SocketCause): string {
  const at = host ?? 'the server';
  switch (code) {
    case 'ECONNREFUSED':
      return `could not connect to ${at} (ECONNREFUSED)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return host ? `could not resolve the host ${host} (${code})` : `could not resolve the host (${code})`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `the connection to ${at} was reset (${code})`;
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `connecting to ${at} timed out (${code})`;
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return `${at} did not answer in time (${code})`;
    case 'UND_ERR_SOCKET':
      return `the connection to ${at} closed before a complete answer (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${at} is unreachable (${code})`;
    default:
      return `network error talking to ${at} (${code})`;
  }
}

const UNDICI_SOCKET_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The first errno (`E…`) or undici socket error in the cause chain (an AggregateError's too). */
function findSocketCause(error: unknown): SocketCause | null {
  const queue: unknown[] = [error];
  for (let seen = 0; seen < 12 && queue.length > 0; seen++) {
    const current = queue.shift();
    if (!current || typeof current !== 'object') continue;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (/^E[A-Z_]+$/.test(code) || UNDICI_SOCKET_CODES.has(code))) {
      return { code, host: hostOf(current) };
    }
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
    queue.push((current as { cause?: unknown }).cause);
  }
  return null;
}

/** `host:port` from an errno error's fields, or from an undici error's socket info. */
function hostOf(error: object): string | null {
  const fields = error as {
    address?: unknown;
    port?: unknown;
    hostname?: unknown;
    socket?: { remoteAddress?: unknown; remotePort?: unknown };
  };
  const address = typeof fields.address === 'string' ? fields.address : fields.socket?.remoteAddress;
  const port = typeof fields.port === 'number' ? fields.port : fields.socket?.remotePort;
  if (typeof address === 'string' && address !== '') {
    const host = address.includes(':') ? `[${address}]` : address;
    return typeof port === 'number' ? `${host}:${port}` : host;
  }
  return typeof fields.hostname === 'string' && fields.hostname !== '' ? fields.hostname : null;
}
