/**
 * The keyfob agent with the slow stores, through the built CLI (DESIGN.md, The keyfob agent):
 * a keychain profile (a real gnome-keyring on a private D-Bus) served from the agent's memory,
 * and an encrypted-file profile whose passphrase a person types once per `unlock_timeout`. What
 * a process without the agent writes is never hidden by the agent's memory.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { agentLog, served, startAgent, stopAllAgents } from './support/agent-stores.js';
import { loginWithDevice, makeHome, runCli } from './support/cli.js';
import { startBus, type TestBus } from './support/keyring.js';

let idp: DevIdp;
let bus: TestBus;

before(async () => {
  idp = await startDevIdp();
  bus = await startBus();
});

after(async () => {
  await stopAllAgents();
  await bus?.close();
  await idp?.close();
});

/** Runs `keyfob ARGS` and says how long the whole process took. */
async function timed(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const start = performance.now();
  const result = await runCli(args, { env, timeoutMs });
  return { ...result, ms: performance.now() - start };
}

describe('a keychain profile with the agent', () => {
  it('is served from memory (a stopped keyring does not hold it up), and writes by processes without the agent are seen at once', async () => {
    const home = makeHome(idp, 'agent_idle_timeout: 60\n');
    const env = { ...home.env, ...bus.env };
    // KEYFOB_STORAGE is not in the agent's environment: a process with it set works alone.
    const alone = { ...env, KEYFOB_STORAGE: 'keychain' };
    assert.equal((await loginWithDevice(idp, { ...home, env })).code, 0);
    const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
    assert.equal(status.profiles[0].store, 'keychain');
    await startAgent(env);

    const first = await runCli(['token'], { env });
    assert.equal(first.code, 0, first.stderr);
    const tokenA = first.stdout.trim();
    assert.equal(served(home.home), 1, 'the agent served it (and read the keychain once)');

    bus.pauseKeyring();
    let viaAgent: Awaited<ReturnType<typeof timed>>;
    let withoutAgent: Awaited<ReturnType<typeof timed>>;
    try {
      [viaAgent, withoutAgent] = await Promise.all([timed(['token'], env), timed(['token'], alone)]);
    } finally {
      bus.resumeKeyring();
    }
    assert.equal(viaAgent.code, 0, viaAgent.stderr);
    assert.equal(viaAgent.stdout.trim(), tokenA);
    assert.equal(served(home.home), 2);
    // Alone, the same call waits for the stopped keyring until the keychain timeout (5 s).
    assert.ok(withoutAgent.ms >= 4_500, `alone it waited for the keyring (${withoutAgent.ms} ms)`);
    assert.ok(
      viaAgent.ms < withoutAgent.ms / 2,
      `through the agent ${Math.round(viaAgent.ms)} ms, alone ${Math.round(withoutAgent.ms)} ms`,
    );

    // A refresh by a process without the agent: the agent's next answer is the new session.
    const refreshed = await runCli(['refresh'], { env: alone });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const refreshes = idp.stats.refreshRequests;
    const afterRefresh = await runCli(['token'], { env });
    assert.equal(afterRefresh.code, 0, afterRefresh.stderr);
    const tokenB = afterRefresh.stdout.trim();
    assert.notEqual(tokenB, tokenA, 'not the old token from the agent’s memory');
    assert.equal(
      idp.stats.refreshRequests,
      refreshes,
      'the agent read the refreshed session, it did not refresh',
    );
    assert.equal(served(home.home), 3);
    const direct = await runCli(['token'], { env: alone });
    assert.equal(direct.stdout.trim(), tokenB, 'the token in the keychain');

    // A logout by a process without the agent: the agent has no session to give any more.
    assert.equal((await runCli(['logout'], { env: alone })).code, 0);
    const loggedOut = await runCli(['token'], { env });
    assert.equal(loggedOut.code, 2, loggedOut.stderr);
    assert.equal(loggedOut.stdout, '');
    assert.equal(served(home.home), 3, 'nothing served after the logout');
    assert.match(agentLog(home.home).at(-1) ?? '', /token for profile \S+: (?!served)/);

    // A new login by a process without the agent: the agent serves the new session.
    assert.equal((await loginWithDevice(idp, { ...home, env: alone })).code, 0);
    const again = await runCli(['token'], { env });
    assert.equal(again.code, 0, again.stderr);
    const tokenC = again.stdout.trim();
    assert.ok(![tokenA, tokenB].includes(tokenC), 'the new login’s token');
    assert.equal(served(home.home), 4);
    assert.equal((await runCli(['token'], { env: alone })).stdout.trim(), tokenC);
  });
});
