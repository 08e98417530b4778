/**
 * The keyfob agent from the library (DESIGN.md, The keyfob agent): an SDK's `createKeyfob`
 * instance starts, asks and stops the agent of its home and config; `getToken` is served by it
 * (and its memo still answers repeated calls without a round trip); an instance whose answers an
 * agent could not reproduce never asks; debug lines say why an instance works alone; and an
 * integrator's app gets an agent of its own. Real agent processes, real dev-idp.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  agentStatus,
  createKeyfob,
  createLogger,
  InvalidInput,
  type Keyfob,
  MemoryStore,
  startAgent,
  stopAgent,
} from '@keyfob/core';
import { type DevIdp, keyfobConfig, startDevIdp } from '@keyfob/dev-idp';
import { callAgent } from '../packages/keyfob/src/agent/client.js';
import { sha256Hex } from '../packages/keyfob/src/agent/sha256.js';
import { fakeAgent } from './support/agent.js';

/** The `keyfob token` fast path's bundle, as `bin/keyfob.cjs` loads it (built by scripts/build.mjs). */
const FAST_BUNDLE = fileURLToPath(new URL('../packages/cli/dist/token-fast.cjs', import.meta.url));

let idp: DevIdp;
const roots: string[] = [];
/** Every instance that may have an agent: stopped in `after`, whatever a test left behind. */
const started: Keyfob[] = [];

before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 3600 });
});
after(async () => {
  await Promise.all(started.map((kf) => stopAgent(kf).catch(() => null)));
  await idp?.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

interface Setting {
  home: string;
  runtime: string;
  env: Record<string, string>;
}

/**
 * A home with a machine profile and a private runtime directory of its own (the agent's socket
 * goes there, never into the runner's `$XDG_RUNTIME_DIR`). `prefix` is the app's variable prefix.
 */
function setting(prefix = 'KEYFOB'): Setting {
  const root = mkdtempSync(join(tmpdir(), 'keyfob-agentlib-'));
  roots.push(root);
  const home = join(root, 'home');
  const runtime = join(root, 'run');
  mkdirSync(home, { mode: 0o700 });
  mkdirSync(runtime, { mode: 0o700 });
  writeFileSync(
    join(home, 'config.yaml'),
    keyfobConfig(idp, {
      person: false,
      machine: true,
      // A daemon a failed run leaves behind exits by itself.
      extra: 'profiles:\n  default:\n    provider: robot\nagent_idle_timeout: 60s\n',
    }),
  );
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    [`${prefix}_HOME`]: home,
    XDG_RUNTIME_DIR: runtime,
    ROBOT_SECRET: idp.clients.machine.client_secret,
  };
  return { home, runtime, env };
}

/** An instance that may start an agent (stopped in `after`). */
function instance(options: Parameters<typeof createKeyfob>[0]): Keyfob {
  const kf = createKeyfob(options);
  started.push(kf);
  return kf;
}

/** Requests the agent has answered, not counting the status call that asks. */
async function requests(kf: Keyfob): Promise<number> {
  const report = await agentStatus(kf);
  assert.ok(report.running, `no agent answers: ${report.running ? '' : report.reason}`);
  return report.status.requests - 1;
}

/** Debug lines as `KEYFOB_DEBUG=1` prints them, collected. */
function debugLines(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger({ debug: true, write: (line) => lines.push(line) }) };
}

describe('the keyfob agent from the library', { concurrency: true }, () => {
  it('startAgent, agentStatus and stopAgent work on the instance of a home and config', async () => {
    const { home, runtime, env } = setting();
    const kf = instance({ environment: env });
    const none = await agentStatus(kf);
    assert.equal(none.running, false);
    assert.match(!none.running ? none.reason : '', /none runs/);

    const first = await startAgent(kf);
    assert.equal(first.started, true);
    assert.equal(first.log, join(home, 'agent.log'));
    assert.ok(first.socket.startsWith(join(runtime, 'keyfob', 'agent-v1-')), first.socket);
    const again = await startAgent(kf);
    assert.deepEqual(again, { ...first, started: false }, 'a second start finds the one that runs');

    const status = await agentStatus(kf);
    assert.ok(status.running);
    assert.equal(status.status.pid, first.pid);
    assert.equal(status.status.home, home);
    assert.equal(status.status.config, join(home, 'config.yaml'));
    assert.equal(status.status.idle_timeout, 60);

    assert.equal(await stopAgent(kf), first.pid);
    assert.throws(() => process.kill(first.pid, 0), /ESRCH/, 'the agent process is gone');
    assert.equal((await agentStatus(kf)).running, false);
    assert.equal(await stopAgent(kf), null, 'stopping none is not an error');
    assert.match(readFileSync(first.log, 'utf8'), /stopped: agent stop/);
  });

  it("getToken is served by the agent, and the instance's memo still answers repeated calls", async () => {
    const { env } = setting();
    const starter = instance({ environment: env });
    await startAgent(starter);
    const before = await requests(starter);

    const { lines, log } = debugLines();
    const kf = createKeyfob({ environment: env, log });
    const token = await kf.getToken();
    assert.equal(await requests(starter), before + 2, 'one token request (and one status call)');
    assert.ok(
      lines.some((line) => /agent answered profile=default/.test(line)),
      lines.join(''),
    );
    assert.ok(token.access_token.length > 20);
    assert.equal(token.profile, 'default');

    const again = await Promise.all([kf.getToken(), kf.getToken(), kf.getToken()]);
    for (const result of again) assert.equal(result.access_token, token.access_token);
    assert.equal(await requests(starter), before + 3, 'the memo answered: no token request');
    // The agent's answer is what it holds: another instance gets the same token from it.
    const other = await createKeyfob({ environment: env }).getToken();
    assert.equal(other.access_token, token.access_token);
    assert.equal(await requests(starter), before + 5);
  });

  it('an instance with config, a store or a fetch given in code never asks, and cannot start one', async () => {
    const { home, env } = setting();
    const starter = instance({ environment: env });
    await startAgent(starter);
    const before = await requests(starter);
    const config = {
      providers: {
        robot: {
          type: 'client_credentials',
          issuer: idp.issuer,
          client_id: idp.clients.machine.client_id,
          client_secret: '${ROBOT_SECRET}',
          api_base: idp.api,
        },
      },
      profiles: { default: { provider: 'robot' } },
    };
    const inCode: Array<[string, Parameters<typeof createKeyfob>[0]]> = [
      ['config', { environment: env, config }],
      ['store', { environment: env, store: new MemoryStore() }],
      ['fetch', { environment: env, fetch: globalThis.fetch }],
    ];
    for (const [given, options] of inCode) {
      const { lines, log } = debugLines();
      const kf = createKeyfob({ ...options, log });
      const token = await kf.getToken();
      assert.ok(token.access_token, given);
      assert.ok(!lines.some((line) => /agent/.test(line)), `${given}: ${lines.join('')}`);
      await assert.rejects(startAgent(kf), (error: unknown) => {
        assert.ok(error instanceof InvalidInput, `${given}: ${String(error)}`);
        assert.match(error.message, /this instance works without an agent: configuration, a store/);
        return true;
      });
      await assert.rejects(agentStatus(kf), InvalidInput);
      await assert.rejects(stopAgent(kf), InvalidInput);
    }
    // One status call since `before`: no token request reached the agent.
    assert.equal(await requests(starter), before + 1);
    assert.doesNotMatch(readFileSync(join(home, 'agent.log'), 'utf8'), /token for profile/);
  });

  it('debug lines through the log option say that it works alone, and why', async () => {
    const { env } = setting();
    const secret = idp.clients.machine.client_secret;

    const { lines: noAgent, log } = debugLines();
    const alone = createKeyfob({ environment: env, log });
    const first = await alone.getToken({ forceRefresh: true });
    await alone.getToken({ forceRefresh: true });
    const said = noAgent.filter((line) => /agent/.test(line));
    assert.deepEqual(said, ['keyfob debug: agent: none runs; working alone\n'], 'said once per instance');

    const starter = instance({ environment: env });
    await startAgent(starter);
    const before = await requests(starter);
    // A variable that changes what keyfob would do but never reaches an agent: the fingerprints differ.
    const { lines: other, log: otherLog } = debugLines();
    const token = await createKeyfob({
      environment: { ...env, KEYFOB_PROVIDER: 'robot' },
      log: otherLog,
    }).getToken();
    assert.ok(token.access_token);
    assert.ok(other.includes('keyfob debug: agent: refused (fingerprint); working alone\n'), other.join(''));
    assert.equal(await requests(starter), before + 2, 'asked once (refused), and the status call');

    for (const line of [...noAgent, ...other]) {
      assert.ok(!line.includes(secret) && !line.includes(first.access_token), line);
    }
  });

  it("an integrator's app name gets its own agent, never keyfob's", async () => {
    const { home, runtime, env } = setting('ACME');
    const acme = instance({ appName: 'acme', environment: env });
    const keyfob = instance({ environment: { ...env, KEYFOB_HOME: home } });

    const started = await startAgent(acme);
    assert.ok(started.socket.startsWith(join(runtime, 'acme', 'agent-v1-')), started.socket);
    assert.match(readFileSync(`/proc/${started.pid}/cmdline`, 'utf8'), /^acme-agent/);
    // keyfob's instance of the same home has another socket: acme's agent does not answer it.
    assert.equal((await agentStatus(keyfob)).running, false);

    const before = await requests(acme);
    const token = await createKeyfob({ appName: 'acme', environment: env }).getToken();
    assert.ok(token.access_token);
    assert.equal(await requests(acme), before + 2, "acme's getToken asked acme's agent");
    await keyfob.getToken();
    assert.equal(await requests(acme), before + 3, "keyfob's getToken did not");
    assert.equal((await agentStatus(keyfob)).running, false);
  });

  it('the token fast path loads node:crypto never, and node:net only to ask an agent', async () => {
    // Loading node:crypto cost a cold `keyfob token` more than the rest of its path; the file
    // store answering without an agent must not pay for node:net either.
    const { home, env } = setting();
    const kf = instance({ environment: env });
    await kf.getToken();
    // A script file, not `node -e`: Node loads node:crypto itself for `-e`.
    const probe = join(home, 'probe.cjs');
    writeFileSync(
      probe,
      `require(${JSON.stringify(FAST_BUNDLE)}).run(JSON.parse(process.argv[2])).then((answered) => require('node:fs').writeSync(2, JSON.stringify({ answered, modules: process.moduleLoadList })));\n`,
    );
    // Not spawnSync: dev-idp answers from this process while the agent renews.
    const loaded = async (args: string[]) => {
      const { stderr } = await promisify(execFile)(process.execPath, [probe, JSON.stringify(args)], { env });
      return JSON.parse(stderr) as { answered: string | false; modules: string[] };
    };
    const fromFile = await loaded([]);
    assert.equal(fromFile.answered, 'printed');
    assert.ok(!fromFile.modules.includes('NativeModule crypto'), 'node:crypto loaded');
    assert.ok(!fromFile.modules.includes('NativeModule net'), 'node:net loaded with no agent asked');

    await startAgent(kf);
    const before = await requests(kf);
    // No session in the file store: only the agent can answer (it renews with the machine secret).
    rmSync(join(home, 'sessions', 'default.json'));
    const fromAgent = await loaded([]);
    assert.equal(fromAgent.answered, 'printed', "the fast path printed the agent's token");
    assert.equal(await requests(kf), before + 2, 'the fast path asked the agent');
    assert.ok(fromAgent.modules.includes('NativeModule net'));
    assert.ok(!fromAgent.modules.includes('NativeModule crypto'), 'node:crypto loaded');
  });

  it('the socket name and fingerprint hash is SHA-256, as node:crypto computes it', () => {
    // The token fast path hashes in plain JavaScript (loading node:crypto costs more than the
    // whole path); the agent and the library must get the same digests whatever computes them.
    const inputs = [
      '',
      'abc',
      '{"a":"é☃𝄞"}',
      'x'.repeat(55),
      'x'.repeat(56),
      'x'.repeat(64),
      'y'.repeat(1000),
    ];
    for (let n = 0; n < 200; n++) {
      inputs.push(
        Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7919 + n) % 0x2fd0))).join(''),
      );
    }
    for (const text of inputs) assert.equal(sha256Hex(text), createHash('sha256').update(text).digest('hex'));
  });

  it("a caller whose event loop was busy past the hello bound still takes the agent's answer", async () => {
    // An agent in another process answers at once; this process blocks its event loop (a
    // library caller's synchronous work) past the bound and until the hello is surely written.
    // The hello and the answer wait in the socket: the bound must not be taken for a silent
    // agent (Node runs expired timers before it reads the sockets that became readable meanwhile).
    const dir = mkdtempSync(join(tmpdir(), 'keyfob-busy-'));
    roots.push(dir);
    const socket = join(dir, 'agent.sock');
    const written = join(dir, 'hello-written');
    const answer = { ok: true, status: { pid: 1 } };
    const hello = `${JSON.stringify({ agent: 'keyfob', v: 1, pid: 1 })}\n`;
    const agent = execFile(process.execPath, [
      '-e',
      `const [socket, written] = process.argv.slice(1);
       require('node:net').createServer((s) => {
         s.write(${JSON.stringify(hello)}, () => require('node:fs').writeFileSync(written, ''));
         s.on('data', () => s.end(${JSON.stringify(`${JSON.stringify(answer)}\n`)}));
       }).listen(socket, () => console.log('listening'));`,
      socket,
      written,
    ]);
    try {
      await new Promise<void>((resolve, reject) => {
        agent.stdout?.once('data', () => resolve());
        agent.once('exit', (code) => reject(new Error(`the listener exited (${code})`)));
      });
      const call = callAgent({ dir, socket }, { op: 'status' }, { helloMs: 50, answerMs: 10_000 });
      const start = Date.now();
      while ((Date.now() - start < 300 || !existsSync(written)) && Date.now() - start < 60_000) {
        // Busy: no timer, no socket read runs here.
      }
      assert.ok(existsSync(written), 'the listener wrote its hello');
      const result = await call;
      assert.equal(result.status, 'answered', JSON.stringify(result));
      assert.deepEqual(result.status === 'answered' ? result.answer : null, answer);
    } finally {
      agent.kill();
    }
  });

  it('a request that cannot be made (the fingerprint cannot be told, or throws) sends nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyfob-nothing-'));
    roots.push(dir);
    const socket = join(dir, 'agent.sock');
    const listener = await fakeAgent(socket, `${JSON.stringify({ agent: 'keyfob', v: 1, pid: 1 })}\n`);
    try {
      assert.deepEqual(await callAgent({ dir, socket }, () => null), {
        status: 'failed',
        reason: 'nothing to ask',
      });
      const throwing = () => {
        throw new Error('no fingerprint');
      };
      assert.deepEqual(await callAgent({ dir, socket }, throwing), {
        status: 'failed',
        reason: 'nothing to ask',
      });
      // The listener accepts in this process's next turns: wait for both connections to arrive
      // (and a while for anything they might carry).
      for (let i = 0; i < 100 && listener.connections() < 2; i++) await delay(50);
      await delay(200);
      assert.equal(listener.connections(), 2, 'it did connect');
      assert.equal(listener.received(), '', 'and sent nothing');
    } finally {
      await listener.close();
    }
  });
});
