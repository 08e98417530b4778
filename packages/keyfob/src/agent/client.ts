/**
 * Talking to a keyfob agent: connect (after checking its directory), read its hello, send one
 * request, read one answer, each within a bound. Any failure is an outcome, never an exception:
 * the caller then works alone, as without an agent.
 */
import {
  AGENT_PROTOCOL_VERSION,
  type AgentAnswer,
  type AgentHello,
  type AgentRequest,
  LineReader,
} from './protocol.js';
import { type AgentLocation, checkAgentDir } from './socket.js';

/** How a call went: the answer, or why there is none (for `KEYFOB_DEBUG` and `agent status`). */
export type AgentCallResult =
  | { status: 'answered'; answer: AgentAnswer; pid: number }
  /** No agent listens (no directory, no socket, or a stale socket of a killed agent). */
  | { status: 'none' }
  /** The directory is not safe to connect in: nothing was sent. */
  | { status: 'refused'; reason: string; fix: string }
  /** Something answers, but not an agent of this version: nothing was sent. */
  | { status: 'wrong-version'; version: unknown }
  /** The agent did not answer in time, or the connection failed otherwise. */
  | { status: 'failed'; reason: string };

/** Bounds of a call, in milliseconds. */
export interface AgentCallBounds {
  /** For the hello: an agent answers it at once, whatever it is busy with. Default 1000. */
  helloMs?: number;
  /** For the answer, from when the request is sent. Default 2000. */
  answerMs?: number;
}

/** Polls a bound waits at most, once expired, for a connect still pending. */
const MAX_CONNECT_LOOKS = 10;

/**
 * Sends `request` to the agent at `location`; never throws. `request` may be a function: it is
 * called once the connection is under way, so its work (the token fast path's fingerprint)
 * overlaps the agent's accept and hello instead of adding to them; `null` from it ends the call
 * with nothing sent.
 */
export function callAgent(
  location: AgentLocation,
  request: AgentRequest | (() => AgentRequest | null),
  bounds: AgentCallBounds = {},
): Promise<AgentCallResult> {
  const dir = checkAgentDir(location.dir);
  if (dir.status === 'missing') return Promise.resolve({ status: 'none' });
  if (dir.status === 'refused') return Promise.resolve(dir);
  return new Promise((resolve) => {
    // Loaded here, not at the top: the token fast path's bundle must not pay for `net` when the
    // file store answers (Node >= 20.16 has getBuiltinModule; engines say >= 20.19).
    const socket = process.getBuiltinModule('node:net').connect(location.socket);
    const lines = new LineReader();
    let hello: AgentHello | null = null;
    let settled = false;
    const finish = (result: AgentCallResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    // A bound expires only once the socket has had a read since its connect completed (a
    // setImmediate runs after each poll phase: while the connect is pending, look again; once it
    // is done, one more poll reads what waits). When this process's event loop was busy past the
    // bound (a library caller's synchronous work), Node runs expired timers before it reads: an
    // agent that answered in time must not be taken for a silent one.
    const expire = (reason: string, still: () => boolean) => () => {
      let pending = 0;
      let readSince = false;
      const look = () => {
        if (!still()) return;
        if (socket.connecting && pending++ < MAX_CONNECT_LOOKS) setImmediate(look);
        else if (!socket.connecting && !readSince) {
          readSince = true;
          setImmediate(look);
        } else finish({ status: 'failed', reason });
      };
      look();
    };
    let timer = setTimeout(
      expire('no hello in time', () => hello === null),
      bounds.helloMs ?? 1000,
    );
    socket.setEncoding('utf8');
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const none = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
      finish(none ? { status: 'none' } : { status: 'failed', reason: error.code ?? error.message });
    });
    let body: AgentRequest | null;
    try {
      body = typeof request === 'function' ? request() : request;
    } catch {
      body = null;
    }
    if (body === null) {
      finish({ status: 'failed', reason: 'nothing to ask' });
      return;
    }
    const text = `${JSON.stringify(body)}\n`;
    socket.on('close', () => finish({ status: 'failed', reason: 'the agent closed the connection' }));
    socket.on('data', (chunk: string) => {
      let received: string[];
      try {
        received = lines.push(chunk);
      } catch {
        finish({ status: 'failed', reason: 'an answer too long' });
        return;
      }
      for (const line of received) {
        const parsed = parse(line);
        if (hello === null) {
          if (!isHello(parsed)) {
            finish({ status: 'wrong-version', version: isRecord(parsed) ? parsed.v : undefined });
            return;
          }
          hello = parsed;
          clearTimeout(timer);
          timer = setTimeout(
            expire('no answer in time', () => true),
            bounds.answerMs ?? 2000,
          );
          socket.write(text);
        } else {
          if (!isRecord(parsed) || typeof parsed.ok !== 'boolean') {
            finish({ status: 'failed', reason: 'an answer that is not the protocol' });
          } else {
            finish({ status: 'answered', answer: parsed as AgentAnswer, pid: hello.pid });
          }
          return;
        }
      }
    });
  });
}

function parse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHello(value: unknown): value is AgentHello {
  return (
    isRecord(value) &&
    value.agent === 'keyfob' &&
    value.v === AGENT_PROTOCOL_VERSION &&
    typeof value.pid === 'number'
  );
}

/** Says why a call found no usable agent, for `KEYFOB_DEBUG` lines. */
export function describeCall(result: AgentCallResult): string {
  switch (result.status) {
    case 'answered':
      return result.answer.ok
        ? 'answered'
        : `refused (${result.answer.reason}${result.answer.code ? `: ${result.answer.code}` : ''})`;
    case 'none':
      return 'none runs';
    case 'refused':
      return `its directory is refused: ${result.reason}`;
    case 'wrong-version':
      return `the socket answers with another protocol version (${String(result.version)})`;
    case 'failed':
      return `failed: ${result.reason}`;
  }
}
