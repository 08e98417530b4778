/**
 * The keyfob agent as tests see it from outside: started and stopped through the built CLI,
 * found among the machine's processes, its environment and argv read from `/proc`, its socket
 * path computed as DESIGN.md names it, and hostile listeners of the test's own on that path
 * that record every byte a client sends them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { DevIdp } from '@keyfob/dev-idp';
import { type CliResult, makeHome, runCli, type TestHome } from './cli.js';

/** `keyfob agent status --json` of a running agent (the fields tests read). */
export interface AgentStatusJson {
  pid: number;
  version: number;
  socket: string;
  home: string;
  config: string;
  idle_timeout: number;
  unlock_timeout: number;
  unlocked: { file: string; until: string }[];
  requests: number;
}

/** `keyfob agent start` for `env`; asserts exit 0 and returns the running agent's status. */
export async function startAgentCli(env: Record<string, string>): Promise<AgentStatusJson> {
  const started = await runCli(['agent', 'start'], { env });
  assert.equal(started.code, 0, `agent start: ${started.stderr}`);
  const status = await agentStatusJson(env);
  assert.ok(status, `an agent answers after start: ${started.stderr}`);
  return status;
}

/** `keyfob agent status --json`: the status when one answers, `null` when none does (exit 1). */
export async function agentStatusJson(env: Record<string, string>): Promise<AgentStatusJson | null> {
  const result = await runCli(['agent', 'status', '--json'], { env });
  const report = JSON.parse(result.stdout || 'null') as { running: boolean; status?: AgentStatusJson } | null;
  if (report?.running && report.status) {
    assert.equal(result.code, 0, result.stderr);
    return report.status;
  }
  assert.equal(result.code, 1, `status with no agent exits 1: ${result.stderr}`);
  return null;
}

/** `keyfob agent stop`, then waits until the pid is gone (it must go within `timeoutMs`). */
export async function stopAgentCli(env: Record<string, string>, pid?: number): Promise<CliResult> {
  const stopped = await runCli(['agent', 'stop'], { env });
  if (pid !== undefined) await waitGone(pid);
  return stopped;
}

/** Whether a process with this pid exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name in parentheses: Z is a zombie, already dead.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone; fails the test past `timeoutMs`. */
export async function waitGone(pid: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) assert.fail(`process ${pid} still runs after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Waits until `check` holds; fails the test past `timeoutMs` with `what`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The pids of `<app>-agent` processes that serve `home`: the agent names itself so
 * (process.title) and runs in its home (its cwd), which is how a person finds it with `ps`.
 */
export function agentPidsFor(home: string, app = 'keyfob'): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== `${app}-agent`) continue;
      if (readlinkSync(`/proc/${entry}/cwd`) !== home) continue;
      if (alive(Number(entry))) pids.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return pids;
}

/** Kills (SIGKILL) every agent of `home`: the last resort of an `after`, never a broad name. */
export function killAgentsOf(home: string): void {
  for (const pid of agentPidsFor(home)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** `/proc/PID/environ` as name → value. */
export function procEnviron(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    if (!entry) continue;
    const at = entry.indexOf('=');
    out[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return out;
}

/** `/proc/PID/cmdline` as text (NULs as spaces): what every local user can read with `ps`. */
export function procArgv(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
}

/**
 * The socket of the agent for a home and config, computed from DESIGN.md's rule as socket.ts
 * implements it: `agent-v1-<16 hex of sha256(app, prefix, home, config)>.sock` in `dir`.
 */
export function agentSocketName(home: string, configPath: string, app = 'keyfob'): string {
  const prefix = app.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const hash = createHash('sha256')
    .update(JSON.stringify([app, prefix, home, configPath]))
    .digest('hex')
    .slice(0, 16);
  return `agent-v1-${hash}.sock`;
}

/** A listener of the test's own on a socket path, recording every byte it receives. */
export interface FakeAgent {
  /** Everything clients sent, concatenated. */
  received(): string;
  /** How many connections it accepted. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Listens on `socketPath` (0600) and, on each connection, writes `hello` first (nothing at all
 * when `null`: a listener that never speaks). Records what clients send.
 */
export async function fakeAgent(socketPath: string, hello: string | null): Promise<FakeAgent> {
  let received = '';
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    if (hello !== null) socket.write(hello);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o600);
  return {
    received: () => received,
    connections: () => connections,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(socketPath);
      } catch {
        // Closed servers unlink their socket themselves.
      }
    },
  };
}

/** `stat` of a path, or `null` when it is missing. */
export function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Asserts `text` (a log, a status, argv) holds none of `secrets` (empty ones ignored). */
export function assertNoSecret(text: string, secrets: Record<string, string | undefined>, where: string) {
  for (const [name, value] of Object.entries(secrets)) {
    if (!value) continue;
    assert.ok(!text.includes(value), `${where} holds the ${name}`);
  }
}

/** The agent's log of a home (`<home>/agent.log`), `''` when it does not exist. */
export function agentLog(home: string): string {
  try {
    return readFileSync(join(home, 'agent.log'), 'utf8');
  } catch {
    return '';
  }
}

/** A home whose active profile `default` is dev-idp's machine client, with `topYaml` at the top of its config. */
export function machineHome(idp: DevIdp, topYaml = ''): TestHome {
  const home = makeHome(idp, 'profiles:\n  default:\n    provider: robot\n');
  const file = join(home.home, 'config.yaml');
  writeFileSync(file, `${topYaml}${readFileSync(file, 'utf8')}`);
  return home;
}
