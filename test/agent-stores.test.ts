/**
 * The keyfob agent with the slow stores, through the built CLI (DESIGN.md, The keyfob agent):
 * a keychain profile (a real gnome-keyring on a private D-Bus) served from the agent's memory,
 * and an encrypted-file profile whose passphrase a person types once per `unlock_timeout`. What
 * a process without the agent writes is never hidden by the agent's memory.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import {
  type AgentStatusJson,
  agentLog,
  agentStatus,
  gone,
  served,
  startAgent,
  stopAllAgents,
} from './support/agent-stores.js';
import { filesUnder, loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { startBus, type TestBus } from './support/keyring.js';
import { inTerminal } from './support/pty.js';

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

const PROMPT = /Passphrase for the encrypted token store: /;

/**
 * A home whose profiles live in the encrypted file, logged in (robot) with `passphrase`. With
 * `cheap`, its identity.age is made here with a low scrypt cost (age reads the cost from the
 * file), for tests that unlock often but do not measure scrypt; else keyfob makes it (cost 18).
 */
async function encryptedHome(passphrase: string, unlockTimeout: string, cheap = false): Promise<TestHome> {
  const home = makeHome(
    idp,
    `token_storage: encrypted-file\nunlock_timeout: ${unlockTimeout}\nagent_idle_timeout: 60\n`,
  );
  if (cheap) {
    const age = await import('age-encryption');
    const encrypter = new age.Encrypter();
    encrypter.setScryptWorkFactor(12);
    encrypter.setPassphrase(passphrase);
    const sealed = await encrypter.encrypt(`${await age.generateX25519Identity()}\n`);
    writeFileSync(join(home.home, 'identity.age'), age.armor.encode(sealed), { mode: 0o600 });
  }
  // scrypt (cost 18) on a loaded machine may take most of a minute.
  const login = await runCli(['login', 'robot'], {
    env: { ...home.env, KEYFOB_PASSPHRASE: passphrase },
    timeoutMs: 120_000,
  });
  assert.equal(login.code, 0, login.stderr);
  return home;
}

/** `keyfob ARGS` at a terminal, typing `passphrase` when asked; how long it took, and how often it asked. */
async function atTerminal(args: string[], env: Record<string, string>, passphrase?: string) {
  const start = performance.now();
  const run = await inTerminal(args, env, {
    until: PROMPT,
    ...(passphrase ? { answer: `${passphrase}\r` } : {}),
  });
  return {
    ...run,
    ms: performance.now() - start,
    prompts: run.output.split(PROMPT.source.replace(/\\/g, '')).length - 1,
  };
}

function unlockedFiles(status: AgentStatusJson): string[] {
  return (status.status?.unlocked ?? []).map((u) => u.file);
}

/** Every file of the home but the agent's log, which a refused unlock appends to. */
function homeFiles(home: TestHome): Record<string, string> {
  const files = filesUnder(home.home);
  delete files[join(home.home, 'agent.log')];
  return files;
}

// Independent homes, side by side: most of the time is spent waiting (a keychain timeout, an
// unlock_timeout, scrypt in another process).
describe('the agent with the slow stores', { concurrency: true }, () => {
  it('a keychain profile is served from memory (a stopped keyring does not hold it up), and writes by processes without the agent are seen at once', async () => {
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
  });
  it('at a terminal: one prompt, then served without scrypt; status shows until when, never a secret; agent stop forgets', async () => {
    const passphrase = 'violet staple orbit 42';
    const home = await encryptedHome(passphrase, '60');
    const pid = await startAgent(home.env);

    const first = await atTerminal(['token'], home.env, passphrase);
    assert.equal(first.code, 0, first.output);
    assert.equal(first.prompts, 1, 'asked once');
    const token = /eyJ[\w.-]+/.exec(first.output)?.[0] ?? '';
    assert.ok(token, first.output);

    for (const args of [['token'], ['whoami'], ['status']]) {
      // Asked for the passphrase, this would stop at the prompt: no answer is given.
      const next = await atTerminal(args, home.env);
      assert.equal(next.prompts, 0, `${args[0]} did not ask: ${next.output}`);
      assert.equal(next.code, 0, next.output);
      assert.ok(
        next.ms < first.ms * 0.7,
        `${args[0]} took ${Math.round(next.ms)} ms, the first (scrypt) ${Math.round(first.ms)} ms`,
      );
    }
    // No terminal and no KEYFOB_PASSPHRASE: only the agent's unlocked identity can serve this.
    const piped = await runCli(['token'], { env: home.env });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout.trim(), token);

    const json = await agentStatus(home.env);
    assert.deepEqual(unlockedFiles(json), [join(home.home, 'identity.age')]);
    const until = Date.parse(json.status?.unlocked[0]?.until ?? '');
    assert.ok(
      until > Date.now() + 30_000 && until <= Date.now() + 60_000,
      `until ${json.status?.unlocked[0]?.until}`,
    );
    const plain = await runCli(['agent', 'status'], { env: home.env });
    assert.match(plain.stdout, /unlocked\s+\S*identity\.age until \d{4}-/);
    const said = [plain.stdout, plain.stderr, JSON.stringify(json), agentLog(home.home).join('\n')].join(
      '\n',
    );
    for (const secret of ['AGE-SECRET-KEY', passphrase, token]) {
      assert.ok(!said.includes(secret), 'agent status and its log show no secret');
    }

    assert.equal((await runCli(['agent', 'stop'], { env: home.env })).code, 0);
    assert.ok(await gone(pid), 'the agent exited');
    assert.match(agentLog(home.home).join('\n'), /forgot the identity of \S+identity\.age \(agent stop\)/);
    const afterStop = await atTerminal(['token'], home.env, passphrase);
    assert.equal(afterStop.code, 0, afterStop.output);
    assert.equal(afterStop.prompts, 1, 'asked again once the agent stopped');
  });

  it('unlock_timeout: a wrong passphrase unlocks nothing and changes nothing; the right one lasts until the timeout', async () => {
    const passphrase = 'amber kettle 7';
    const home = await encryptedHome(passphrase, '2s', true);
    await startAgent(home.env);
    const before = homeFiles(home);

    const wrong = await atTerminal(['token'], home.env, 'not the passphrase');
    assert.notEqual(wrong.code, 0, wrong.output);
    assert.match(wrong.output, /The passphrase does not unlock \S+identity\.age/);
    assert.doesNotMatch(wrong.output, /eyJ/);
    assert.deepEqual(unlockedFiles(await agentStatus(home.env)), [], 'nothing unlocked in the agent');
    assert.deepEqual(homeFiles(home), before, 'nothing on disk changed');
    assert.match(agentLog(home.home).join('\n'), /unlock of \S+ refused: STORE_UNAVAILABLE/);

    const right = await atTerminal(['token'], home.env, passphrase);
    assert.equal(right.code, 0, right.output);
    assert.equal(right.prompts, 1);
    // The log says when it was unlocked and until when (status may be too late to see it).
    const unlockedLine = agentLog(home.home).find((line) => / unlocked \S+ until /.test(line)) ?? '';
    const [at, until] = [/^(\S+)/, / until (\S+)$/].map((re) => Date.parse(re.exec(unlockedLine)?.[1] ?? ''));
    assert.ok(Math.abs((until ?? 0) - (at ?? 0) - 2_000) < 500, `unlocked for 2 s: ${unlockedLine}`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (until ?? 0) - Date.now()) + 300));
    assert.deepEqual(unlockedFiles(await agentStatus(home.env)), [], 'forgotten at unlock_timeout');
    assert.match(agentLog(home.home).join('\n'), /forgot the identity of \S+ \(unlock_timeout\)/);
    const later = await atTerminal(['token'], home.env, passphrase);
    assert.equal(later.code, 0, later.output);
    assert.equal(later.prompts, 1, 'asked again after unlock_timeout');
  });

  it('KEYFOB_PASSPHRASE without a terminal: handed to the agent once; a replaced identity.age is never used stale', async () => {
    const passphrase = 'pewter lantern 3';
    const home = await encryptedHome(passphrase, '60', true);
    await startAgent(home.env);
    const withVar = await runCli(['token'], { env: { ...home.env, KEYFOB_PASSPHRASE: passphrase } });
    assert.equal(withVar.code, 0, withVar.stderr);
    for (const args of [['token'], ['whoami']]) {
      const served = await runCli(args, { env: home.env });
      assert.equal(served.code, 0, `${args[0]} without the variable: ${served.stderr}`);
    }
    const unlocks = agentLog(home.home).filter((line) => / unlocked \S+identity\.age until /.test(line));
    assert.equal(unlocks.length, 1, 'the agent got the passphrase once');

    // Another login, elsewhere with another passphrase, and its identity.age and session put
    // in place of this home's (as after deleting the encrypted store and logging in again).
    const other = 'another passphrase 9';
    const elsewhere = await encryptedHome(other, '60', true);
    const theirToken = await runCli(['token'], { env: { ...elsewhere.env, KEYFOB_PASSPHRASE: other } });
    assert.equal(theirToken.code, 0, theirToken.stderr);
    const sessions = join(home.home, 'encrypted');
    for (const name of readdirSync(sessions)) rmSync(join(sessions, name));
    rmSync(join(home.home, 'identity.age'));
    for (const name of readdirSync(join(elsewhere.home, 'encrypted'))) {
      copyFileSync(join(elsewhere.home, 'encrypted', name), join(sessions, name));
    }
    copyFileSync(join(elsewhere.home, 'identity.age'), join(home.home, 'identity.age'));
    const replaced = homeFiles(home);

    const stale = await runCli(['token'], { env: home.env });
    assert.equal(stale.code, 1, stale.stderr);
    assert.match(stale.stderr, /KEYFOB_PASSPHRASE/, 'the new identity needs its passphrase');
    assert.deepEqual(homeFiles(home), replaced, 'nothing moved aside or rewritten');
    assert.deepEqual(unlockedFiles(await agentStatus(home.env)), [], 'the old identity is forgotten');
    const fresh = await runCli(['token'], { env: { ...home.env, KEYFOB_PASSPHRASE: other } });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(fresh.stdout, theirToken.stdout);
  });
});
