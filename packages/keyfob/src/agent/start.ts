/**
 * Starting, stopping and asking the keyfob agent from a client (`keyfob agent start|stop|status`,
 * and `agent: auto`). The agent is a detached process (its own session, no terminal) with the
 * scrubbed environment `fingerprint.ts` describes and its output in `<home>/agent.log`.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AppNames } from '../config/names.js';
import { InsecurePermissions, InvalidInput } from '../errors.js';
import { PRIVATE_FILE_MODE } from '../fs/secure.js';
import { type AgentCallResult, callAgent } from './client.js';
import { agentEnvironment } from './fingerprint.js';
import type { AgentStatusInfo } from './protocol.js';
import { type AgentSpec, agentLocation, checkAgentDir } from './socket.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The agent's log: `<home>/agent.log`, 0600. */
export function agentLogPath(spec: AgentSpec): string {
  return join(spec.home, 'agent.log');
}

/**
 * Starts an agent process and returns at once (it may not listen yet).
 * @returns its pid, or why none was started.
 */
export function spawnAgent(
  spec: AgentSpec,
  names: AppNames,
  env: Env,
): { ok: true; pid: number } | { ok: false; reason: string } {
  const scrubbed = agentEnvironment(spec, names, env);
  if (scrubbed === null) return { ok: false, reason: 'the config is not validated in its cache yet' };
  let fd: number;
  try {
    fd = openSync(
      agentLogPath(spec),
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0),
      PRIVATE_FILE_MODE,
    );
  } catch (error) {
    return {
      ok: false,
      reason: `cannot open ${agentLogPath(spec)} (${(error as NodeJS.ErrnoException).code})`,
    };
  }
  try {
    const child = spawn(process.execPath, [...daemonArgs(), JSON.stringify(spec)], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: scrubbed,
      cwd: spec.home,
    });
    child.unref();
    return child.pid === undefined ? { ok: false, reason: 'spawn failed' } : { ok: true, pid: child.pid };
  } finally {
    closeSync(fd);
  }
}

/** `node` arguments that run the daemon: the built file, or the source through tsx in this repository. */
function daemonArgs(): string[] {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return [
      '--import',
      import.meta.resolve('tsx'),
      '--conditions=@keyfob/source',
      fileURLToPath(new URL('./daemon.ts', here)),
    ];
  }
  return [fileURLToPath(new URL('./daemon.js', here))];
}

/** What `agent start` did. */
export interface AgentStarted {
  started: boolean;
  pid: number;
  socket: string;
  log: string;
}

/**
 * Starts the agent for `spec` unless one answers, and waits until it does.
 * @throws InsecurePermissions when its directory is refused (nothing started).
 * @throws InvalidInput when it did not come up (the log's last line says why).
 */
export async function startAgent(
  spec: AgentSpec,
  names: AppNames,
  env: Env,
  timeoutMs = 15_000,
): Promise<AgentStarted> {
  const location = agentLocation(spec, env);
  if (!location) throw new InvalidInput('no directory gives the agent a socket path short enough');
  const log = agentLogPath(spec);
  const running = await statusOf(spec, env);
  if (running.status === 'answered' && running.answer.ok && 'status' in running.answer) {
    return { started: false, pid: running.answer.status.pid, socket: location.socket, log };
  }
  if (running.status === 'refused') throw refusedDir(running);
  const spawned = spawnAgent(spec, names, env);
  if (!spawned.ok) throw new InvalidInput(`could not start the agent: ${spawned.reason}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await statusOf(spec, env);
    if (now.status === 'answered' && now.answer.ok && 'status' in now.answer) {
      return {
        started: now.answer.status.pid === spawned.pid,
        pid: now.answer.status.pid,
        socket: location.socket,
        log,
      };
    }
    if (!alive(spawned.pid)) break;
  }
  throw new InvalidInput(`the agent did not start: ${lastLine(log)}`, { hint: `see ${log}` });
}

/** Asks the agent for its status; never throws. */
export function statusOf(spec: AgentSpec, env: Env): Promise<AgentCallResult> {
  const location = agentLocation(spec, env);
  if (!location) return Promise.resolve({ status: 'failed', reason: 'no socket path short enough' });
  return callAgent(location, { op: 'status' });
}

/** Stops the agent if one answers, and waits for it to go. @returns its pid, or `null` when none ran. */
export async function stopAgent(spec: AgentSpec, env: Env, timeoutMs = 10_000): Promise<number | null> {
  const location = agentLocation(spec, env);
  if (!location) return null;
  const dir = checkAgentDir(location.dir);
  if (dir.status === 'refused') throw refusedDir(dir);
  const result = await callAgent(location, { op: 'stop' });
  if (result.status !== 'answered') return null;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && alive(result.pid)) await new Promise((resolve) => setTimeout(resolve, 50));
  return result.pid;
}

/** The status of a running agent, from a status call's result. */
export function statusInfo(result: AgentCallResult): AgentStatusInfo | null {
  return result.status === 'answered' && result.answer.ok && 'status' in result.answer
    ? result.answer.status
    : null;
}

export function refusedDir(dir: { reason: string; fix: string }): InsecurePermissions {
  return new InsecurePermissions(`the agent's directory is refused: ${dir.reason}`, {
    hint: `run \`${dir.fix}\``,
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function lastLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.at(-1)?.replace(/^\S+ /, '') || 'no reason in its log';
  } catch {
    return 'no log';
  }
}
