/**
 * The keyfob agent as the one refresher, on real parts (DESIGN.md, The keyfob agent; issue 14):
 * `keyfob token` processes at expiry beside an agent make one refresh between them, whether they
 * ask it or work alone; an agent SIGKILLed mid-refresh costs no more than a killed CLI, and one
 * told to stop (SIGTERM) commits the refresh in flight first. Profiles live in the keychain (a
 * real gnome-keyring on a private D-Bus): the file store's fast path never asks the agent.
 * dev-idp revokes a whole grant when a spent refresh token comes back, so any double spend shows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import {
  agentLog,
  agentStatus,
  gone,
  isRefresh,
  served,
  startAgent,
  stopAllAgents,
} from './support/agent-stores.js';
import { loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { startBus, type TestBus } from './support/keyring.js';
import { startProxy } from './support/proxy.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * dev-idp's access-token lifetime. A token stops being fresh enough at half its lifetime, so
 * waiting {@link STALE_MS} makes the stored one due for a refresh, and the refreshed one stays
 * fresh for 10 s: long enough for eight processes on a loaded machine to all accept it.
 */
const TOKEN_TTL_S = 20;
const STALE_MS = (TOKEN_TTL_S / 2) * 1000 + 300;

let bus: TestBus;
const idps: DevIdp[] = [];

before(async () => {
  bus = await startBus();
});

after(async () => {
  await stopAllAgents();
  await Promise.all(idps.map((idp) => idp.close()));
  await bus?.close();
});

/**
 * A dev-idp of the test's own (its counters are the test's alone) with short-lived access tokens,
 * and a home logged in (device flow, so with a refresh token) into the keychain. `extraEnv`
 * (a proxy) is given to every process, the agent's included.
 */
async function keychainHome(
  extraEnv: Record<string, string> = {},
  accessTokenTtl = TOKEN_TTL_S,
): Promise<{
  idp: DevIdp;
  home: TestHome;
  env: Record<string, string>;
  /** The same, for a process that cannot use the agent (KEYFOB_STORAGE changes its fingerprint). */
  alone: Record<string, string>;
}> {
  const idp = await startDevIdp({ accessTokenTtl });
  idps.push(idp);
  const home = makeHome(idp, 'agent_idle_timeout: 60\n');
  const env = { ...home.env, ...bus.env, ...extraEnv };
  const login = await loginWithDevice(idp, { ...home, env });
  assert.equal(login.code, 0, login.stderr);
  const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
  assert.equal(status.profiles[0].store, 'keychain');
  return { idp, home, env, alone: { ...env, KEYFOB_STORAGE: 'keychain' } };
}

/** The API accepts the token, and a refresh still works: no refresh token was spent twice. */
async function grantIntact(idp: DevIdp, token: string, env: Record<string, string>) {
  const api = await fetch(`${idp.api}/hello`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(api.status, 200);
  const refresh = await runCli(['refresh'], { env });
  assert.equal(refresh.code, 0, `the grant is intact: ${refresh.stderr}`);
}

describe('the agent as the one refresher', { concurrency: true }, () => {
  const atExpiry = [
    {
      title:
        '8 `keyfob token` processes at expiry through the agent: one refresh, one token, the grant intact',
      alone: 0,
    },
    {
      title:
        '4 processes through the agent and 4 alone at expiry: still one refresh (the agent takes the same profile lock)',
      alone: 4,
    },
  ];
  for (const { title, alone: aloneCount } of atExpiry) {
    it(title, async () => {
      const { idp, home, env, alone } = await keychainHome();
      await startAgent(env);
      assert.equal((await runCli(['token'], { env })).code, 0);
      await sleep(STALE_MS);
      const before = idp.stats.refreshRequests;
      const servedBefore = served(home.home);
      // Every other process works alone (its KEYFOB_STORAGE changes the fingerprint).
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => runCli(['token'], { env: i % 2 && aloneCount ? alone : env })),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.equal(idp.stats.refreshRequests - before, 1, 'exactly one refresh request');
      assert.equal(new Set(results.map((r) => r.stdout)).size, 1, 'all print the same token');
      assert.equal(served(home.home) - servedBefore, 8 - aloneCount, 'the agent served its own, no more');
      await grantIntact(idp, results[0]?.stdout.trim() ?? '', alone);
    });
  }

  it('the agent SIGKILLed while 8 processes ask it: each goes on alone and gets a token', async () => {
    // Tokens that outlive the test: every process must print the one the agent served.
    const { home, env } = await keychainHome({}, 600);
    const pid = await startAgent(env);
    const first = await runCli(['token'], { env });
    assert.equal(first.code, 0, first.stderr);
    // Stopped, it accepts connections but says nothing: the eight wait on it until it dies.
    process.kill(pid, 'SIGSTOP');
    const asking = Array.from({ length: 8 }, () => runCli(['token'], { env }));
    await sleep(400);
    process.kill(pid, 'SIGKILL');
    assert.ok(await gone(pid));
    const results = await Promise.all(asking);
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, first.stdout);
    }
    // Its socket is left behind: later commands still work alone, and status says none answers.
    const later = await runCli(['token'], { env });
    assert.equal(later.code, 0, later.stderr);
    assert.equal((await runCli(['agent', 'status'], { env })).code, 1);
    assert.equal(served(home.home), 1);
  });

  it('the agent SIGKILLed in the middle of a refresh, 8 processes waiting on it: they all get one token, the grant intact', async () => {
    const proxy = await startProxy();
    try {
      const { idp, home, env } = await keychainHome({ HTTP_PROXY: proxy.url });
      const pid = await startAgent(env);
      assert.equal((await runCli(['token'], { env })).code, 0);
      await sleep(STALE_MS);
      const base = (await agentStatus(env)).status?.requests ?? 0;
      let held = false;
      let polls = 0;
      // The agent's refresh is held before dev-idp sees it until the eight have asked, then the
      // agent is killed and its request dropped: its refresh token was never spent.
      proxy.before = async (exchange) => {
        if (!isRefresh(exchange) || held) return 'forward';
        held = true;
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline) {
          const requests = (await agentStatus(env)).status?.requests ?? 0;
          polls++;
          if (requests - base - polls >= 8) break;
          await sleep(100);
        }
        process.kill(pid, 'SIGKILL');
        return 'drop';
      };
      const before = idp.stats.refreshRequests;
      // The dead agent's profile lock is taken over once stale (30 s), as a killed CLI's is.
      const results = await Promise.all(
        Array.from({ length: 8 }, () => runCli(['token'], { env, timeoutMs: 90_000 })),
      );
      assert.ok(held, 'the agent started a refresh');
      assert.ok(await gone(pid));
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      assert.equal(idp.stats.refreshRequests - before, 1, 'one refresh reached dev-idp (not the agent’s)');
      assert.equal(new Set(results.map((r) => r.stdout)).size, 1, 'all print the same token');
      assert.equal(served(home.home), 1, 'the killed agent served nothing more');
      await grantIntact(idp, results[0]?.stdout.trim() ?? '', env);
    } finally {
      await proxy.close();
    }
  });

  it('SIGTERM to the agent during a refresh: it commits the refreshed session before it exits', async () => {
    const proxy = await startProxy();
    try {
      // Long-lived tokens: `keyfob refresh` (through the agent) makes the one refresh here.
      const { idp, home, env } = await keychainHome({ HTTP_PROXY: proxy.url }, 600);
      const pid = await startAgent(env);
      const old = await runCli(['token'], { env });
      assert.equal(old.code, 0, old.stderr);
      let signalled = false;
      // dev-idp has rotated the refresh token; its answer reaches the agent after the signal.
      proxy.decide = async (exchange) => {
        if (isRefresh(exchange) && !signalled) {
          signalled = true;
          process.kill(pid, 'SIGTERM');
          await sleep(500);
        }
        return 'forward' as const;
      };
      const servedBefore = served(home.home);
      const before = idp.stats.refreshRequests;
      const refresh = await runCli(['refresh'], { env, timeoutMs: 90_000 });
      assert.ok(signalled, 'the agent was refreshing when told to stop');
      assert.equal(refresh.code, 0, refresh.stderr);
      assert.equal(idp.stats.refreshRequests - before, 1, 'the agent’s refresh was the only one');
      assert.equal(served(home.home) - servedBefore, 1, 'the agent answered it');
      assert.ok(await gone(pid), 'then it exited');
      assert.match(agentLog(home.home).at(-1) ?? '', /stopped: SIGTERM/);
      // The refreshed session is in the store: the next process (alone now) reads it, no refresh.
      const next = await runCli(['token'], { env });
      assert.equal(next.code, 0, next.stderr);
      assert.notEqual(next.stdout, old.stdout, 'the refreshed token, not the one before');
      assert.equal(idp.stats.refreshRequests - before, 1);
      await grantIntact(idp, next.stdout.trim(), env);
    } finally {
      await proxy.close();
    }
  });
});
