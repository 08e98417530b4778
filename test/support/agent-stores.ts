/**
 * What the agent-stores and agent-lifecycle tests share: starting, asking and stopping a keyfob
 * agent through the built CLI (and making sure none outlives the file), reading its log, and a
 * forward proxy that can hold a token request before the provider sees it.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from './cli.js';
import type { Exchange } from './proxy.js';

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

/** True for a refresh-token grant on its way to the token endpoint. */
export function isRefresh(exchange: Exchange): boolean {
  return exchange.requestBody.includes('grant_type=refresh_token');
}
