/**
 * What the agent-stores and agent-lifecycle tests share: starting, asking and stopping a keyfob
 * agent through the built CLI (and making sure none outlives the file), reading its log, and a
 * forward proxy that can hold a token request before the provider sees it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { runCli } from './cli.js';

/** What `keyfob agent status --json` says of a running agent. */
export interface AgentStatusJson {
  running: boolean;
  status?: {
    pid: number;
    unlocked: Array<{ file: string; until: string }>;
    unlock_timeout: number;
    requests: number;
  };
}

/** Every agent a test started (by its CLI environment), stopped by {@link stopAllAgents}. */
const started = new Map<string, { env: Record<string, string>; pid: number }>();

/** `keyfob agent start` in `env`; asserts it answers, and remembers it for {@link stopAllAgents}. */
export async function startAgent(env: Record<string, string>): Promise<number> {
  const result = await runCli(['agent', 'start', '--json'], { env });
  assert.equal(result.code, 0, result.stderr);
  const pid = (JSON.parse(result.stdout) as { pid: number }).pid;
  started.set(`${env.KEYFOB_HOME}\0${pid}`, { env, pid });
  return pid;
}

/** `keyfob agent status --json`. */
export async function agentStatus(env: Record<string, string>): Promise<AgentStatusJson> {
  const result = await runCli(['agent', 'status', '--json'], { env });
  return JSON.parse(result.stdout) as AgentStatusJson;
}

/** Whether process `pid` still exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until process `pid` is gone (up to `ms`). @returns whether it went. */
export async function gone(pid: number, ms = 15_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !alive(pid);
}

/** Stops every agent the file started: `agent stop`, then SIGKILL for one that did not go. */
export async function stopAllAgents(): Promise<void> {
  for (const { env, pid } of started.values()) {
    if (!alive(pid)) continue;
    await runCli(['agent', 'stop'], { env, timeoutMs: 15_000 });
    if (!(await gone(pid, 5_000))) process.kill(pid, 'SIGKILL');
  }
  started.clear();
}

/** The agent's log lines (`<home>/agent.log`), or `[]` when it has none yet. */
export function agentLog(home: string): string[] {
  const file = join(home, 'agent.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** How many tokens the agent of `home` has served so far (its log says, per request). */
export function served(home: string): number {
  return agentLog(home).filter((line) => /token for profile \S+: served/.test(line)).length;
}

/** One exchange through the {@link HoldingProxy}. */
export interface HeldExchange {
  method: string;
  url: URL;
  requestBody: string;
}

/**
 * A forward proxy (undici tunnels even http through CONNECT; the tunnel is served by an inner
 * HTTP server, so every exchange is seen) with two hooks: `before` runs before the request goes
 * on to the provider (it may wait, or drop it: the provider then never sees it), `after` once
 * the provider has answered (it may wait, or drop the answer).
 */
export interface HoldingProxy {
  url: string;
  seen: HeldExchange[];
  before: (exchange: HeldExchange) => Promise<'forward' | 'drop'> | 'forward' | 'drop';
  after: (exchange: HeldExchange) => Promise<'forward' | 'drop'> | 'forward' | 'drop';
  close(): Promise<void>;
}

/** Starts a {@link HoldingProxy} on 127.0.0.1 that forwards everything until told otherwise. */
export async function startHoldingProxy(): Promise<HoldingProxy> {
  const sockets = new Set<Duplex>();
  const inner: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const exchange: HeldExchange = {
        method: req.method ?? 'GET',
        url: new URL(req.url ?? '/', `http://${req.headers.host}`),
        requestBody: Buffer.concat(chunks).toString('utf8'),
      };
      proxy.seen.push(exchange);
      if ((await proxy.before(exchange)) === 'drop') {
        req.socket.destroy();
        return;
      }
      const upstream = request(
        exchange.url,
        { method: exchange.method, headers: { ...req.headers, host: exchange.url.host } },
        (answer) => {
          const body: Buffer[] = [];
          answer.on('data', (c: Buffer) => body.push(c));
          answer.on('end', async () => {
            if ((await proxy.after(exchange)) === 'drop') {
              req.socket.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            res.end(Buffer.concat(body));
          });
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  const server: Server = createServer((req, res) => inner.emit('request', req, res));
  server.on('connect', (_req, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    inner.emit('connection', socket);
  });
  const proxy: HoldingProxy = {
    url: '',
    seen: [],
    before: () => 'forward',
    after: () => 'forward',
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/** True for a refresh-token grant on its way to the token endpoint. */
export function isRefresh(exchange: HeldExchange): boolean {
  return exchange.requestBody.includes('grant_type=refresh_token');
}
