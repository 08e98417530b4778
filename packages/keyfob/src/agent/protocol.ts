/**
 * The keyfob agent's wire protocol: JSON lines over a Unix socket. The agent speaks first (a
 * hello carrying its protocol version), so a client never sends anything, least of all a
 * passphrase, to a socket that is not an agent of its own version. One request and one answer
 * per connection.
 */
import type { TokenResult } from '../instance/types.js';

/**
 * Bumped on any incompatible change. It is part of the socket's name too, so a new client never
 * reaches an old agent; the hello's version is checked as well.
 */
export const AGENT_PROTOCOL_VERSION = 1;

/** A line longer than this is refused (an answer is a token or a status, far below it). */
export const MAX_LINE_BYTES = 1024 * 1024;

/** The first line the agent writes on every connection. */
export interface AgentHello {
  agent: 'keyfob';
  v: number;
  pid: number;
}

/** An unlocked age identity as the encrypted-file store uses it; see `stores/age/identity.ts`. */
export interface WireIdentity {
  identities: string[];
  recipient: string;
  source: string;
}

/** What a client may ask. */
export type AgentRequest =
  | {
      op: 'token';
      /** The client's fingerprint of effective config and environment (`fingerprint.ts`). */
      fingerprint: string;
      profile?: string;
      tenant?: string;
      resource?: string | null;
      scopes?: string[];
      minTtl: number;
      forceRefresh?: boolean;
    }
  | { op: 'identity'; file: string }
  | { op: 'unlock'; file: string; passphrase: string }
  | { op: 'status' }
  | { op: 'stop' };

/** Why the agent did not answer a request with what was asked. */
export type AgentRefusal =
  /** The client's config or environment is not the agent's: it works alone. */
  | 'fingerprint'
  /** The encrypted-file store's identity is not unlocked in the agent. */
  | 'locked'
  /** The request failed in the agent; `code` and `message` say how (a keyfob error's). */
  | 'error'
  /** The request was not understood. */
  | 'bad-request';

export type AgentAnswer =
  | { ok: true; token: TokenResult & { obtained_at: string | null } }
  | { ok: true; identity: WireIdentity }
  | { ok: true; status: AgentStatusInfo }
  | { ok: true; stopping: true }
  | { ok: false; reason: AgentRefusal; code?: string; message?: string };

/** `keyfob agent status`: what the agent holds, never a secret. */
export interface AgentStatusInfo {
  pid: number;
  version: number;
  socket: string;
  home: string;
  config: string;
  started_at: string;
  /** When the agent exits unless a request comes first. */
  idle_exit_at: string;
  idle_timeout: number;
  unlock_timeout: number;
  /** Unlocked passphrase identities: the file and until when. */
  unlocked: { file: string; until: string }[];
  requests: number;
}

/** Splits a stream of bytes into lines, refusing one longer than {@link MAX_LINE_BYTES}. */
export class LineReader {
  #buffer = '';
  /** @returns the complete lines in `chunk` (and what came before it). */
  push(chunk: string): string[] {
    this.#buffer += chunk;
    const lines = this.#buffer.split('\n');
    this.#buffer = lines.pop() ?? '';
    if (Buffer.byteLength(this.#buffer) > MAX_LINE_BYTES) throw new Error('line too long');
    return lines;
  }
}
