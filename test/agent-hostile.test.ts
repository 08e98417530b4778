/**
 * The keyfob agent against an attacker and a careless environment (DESIGN.md, The keyfob agent
 * and Security rules): listeners of the test's own on the agent's socket path that speak another
 * protocol version or nothing at all, runtime directories another user could reach (0777, a
 * symlink, another owner), the agent's scrubbed environment and clean log, a client whose
 * config or environment differs from the agent's, and credentials from the environment that
 * must never reach it. Every hostile listener records what it receives: it must be nothing.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import {
  agentLog,
  machineHome as agentMachineHome,
  agentPidsFor,
  agentSocketName,
  agentStatusJson,
  assertNoSecret,
  type FakeAgent,
  fakeAgent,
  killAgentsOf,
  procArgv,
  procEnviron,
  startAgentCli,
  stopAgentCli,
} from './support/agent.js';
import { runCli, type TestHome } from './support/cli.js';
import { makeTestCa, type TestCa } from './support/tls.js';

let idp: DevIdp;
let ca: TestCa;
const homes: TestHome[] = [];
const fakes: FakeAgent[] = [];

const PASSPHRASE = 'correct horse battery staple 4711';

/** scrypt runs in every encrypted-store command: on a loaded machine one takes far beyond 60 s. */
const SLOW = 240_000;

/** A home whose active profile `default` is dev-idp's machine client, plus `topYaml` at the top. */
function machineHome(topYaml = ''): TestHome {
  const home = agentMachineHome(idp, topYaml);
  homes.push(home);
  return home;
}

/** A private (0700) directory to be `XDG_RUNTIME_DIR`, as systemd makes it. */
function runtimeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-run-'));
  chmodSync(dir, 0o700);
  return dir;
}

/** A listener of the test's own on `socket`, closed in `after`. */
async function fake(socket: string, hello: string | null): Promise<FakeAgent> {
  const listener = await fakeAgent(socket, hello);
  fakes.push(listener);
  return listener;
}

/** What a perfect impersonator says: the right agent name and protocol version. */
const IMPOSTOR_HELLO = `${JSON.stringify({ agent: 'keyfob', v: 1, pid: 1 })}\n`;

const served = (home: string) => agentLog(home).match(/: served /g)?.length ?? 0;

before(async () => {
  idp = await startDevIdp();
  ca = makeTestCa();
});

after(async () => {
  for (const listener of fakes) await listener.close();
  for (const home of homes) killAgentsOf(home.home);
  ca?.remove();
  await idp?.close();
});

describe('the keyfob agent against hostile sockets and directories', { concurrency: true }, () => {
  it('a listener of another protocol version, or one that never speaks, receives nothing', async () => {
    // The encrypted-file store with a passphrase in the environment: a client that talked to
    // whatever listens would hand it over (the `unlock` request carries it).
    const h = machineHome('token_storage: encrypted-file\n');
    const runtime = runtimeDir();
    const env = { ...h.env, XDG_RUNTIME_DIR: runtime, KEYFOB_PASSPHRASE: PASSPHRASE };
    mkdirSync(join(runtime, 'keyfob'), { mode: 0o700 });
    const socket = join(runtime, 'keyfob', agentSocketName(h.home, join(h.home, 'config.yaml')));
    const timed = async (extra: Record<string, string> = {}) => {
      const start = process.hrtime.bigint();
      const result = await runCli(['token'], { env: { ...env, ...extra }, timeoutMs: SLOW });
      return { ...result, ms: Number(process.hrtime.bigint() - start) / 1e6 };
    };
    const first = await timed();
    assert.equal(first.code, 0, first.stderr);
    // With no agent: the time every command of this store takes (scrypt included).
    const alone = await timed();
    assert.equal(alone.code, 0, alone.stderr);

    const v99 = await fake(socket, `${JSON.stringify({ agent: 'keyfob', v: 99, pid: 1 })}\n`);
    const wrong = await timed({ KEYFOB_DEBUG: '1' });
    assert.equal(wrong.code, 0, wrong.stderr);
    assert.equal(wrong.stdout, alone.stdout, 'the token from the store, as without an agent');
    assert.match(
      wrong.stderr,
      /agent: the socket answers with another protocol version \(99\); working alone/,
    );
    assert.ok(v99.connections() > 0, 'the client did reach the listener');
    assert.equal(v99.received(), '', 'and sent it nothing (no request, no passphrase)');
    await v99.close();

    const silent = await fake(socket, null);
    const mute = await timed({ KEYFOB_DEBUG: '1' });
    assert.equal(mute.code, 0, mute.stderr);
    assert.equal(mute.stdout, alone.stdout);
    assert.match(mute.stderr, /agent: failed: no hello in time; working alone/);
    assert.ok(silent.connections() > 0, 'the client did reach the listener');
    assert.equal(silent.received(), '', 'and sent it nothing');
    // Bounded: a client without the hello bound would wait for the listener for ever (60 s here).
    assert.ok(mute.ms < alone.ms * 6, `with a mute listener ${mute.ms} ms, alone ${alone.ms} ms`);
    assert.doesNotMatch(readFileSync(join(h.home, 'identity.age'), 'latin1'), /correct horse/);
  });

  for (const [what, plant, refusal] of [
    [
      'mode 0777',
      (dir: string) => {
        mkdirSync(dir);
        chmodSync(dir, 0o777);
      },
      (dir: string) =>
        new RegExp(`${dir} is mode 777: other users could reach the agent.*chmod 700 ${dir}`, 's'),
    ],
    [
      'a symlink',
      (dir: string) => {
        const elsewhere = mkdtempSync(join(tmpdir(), 'keyfob-planted-'));
        chmodSync(elsewhere, 0o700);
        symlinkSync(elsewhere, dir);
      },
      (dir: string) => new RegExp(`${dir} is a symbolic link`),
    ],
    [
      'owned by another user',
      (dir: string) => {
        mkdirSync(dir, { mode: 0o700 });
        // The test runs as root (the sandbox): `nobody` stands for the other user.
        chownSync(dir, 65534, 65534);
      },
      (dir: string) => new RegExp(`${dir} belongs to another user \\(uid 65534\\)`),
    ],
    [
      'in a world-writable parent without the sticky bit',
      (dir: string) => {
        mkdirSync(dir, { mode: 0o700 });
        // Another user could rename ours away and put a directory of theirs in its place.
        chmodSync(dirname(dir), 0o777);
      },
      (dir: string) => new RegExp(`${dirname(dir)} lets other users replace ${dir}`),
    ],
  ] as const) {
    it(`a runtime directory ${what}: agent start and status refuse it; token works alone, sending nothing`, async () => {
      const h = machineHome();
      const runtime = runtimeDir();
      const env = { ...h.env, XDG_RUNTIME_DIR: runtime };
      const dir = join(runtime, 'keyfob');
      plant(dir);
      // A perfect impersonator listens in the planted directory (through the symlink for one).
      const listener = await fake(
        join(dir, agentSocketName(h.home, join(h.home, 'config.yaml'))),
        IMPOSTOR_HELLO,
      );
      const before = statSync(dir);

      const start = await runCli(['agent', 'start'], { env });
      assert.equal(start.code, 1, start.stderr);
      assert.match(start.stderr, refusal(dir));
      const status = await runCli(['agent', 'status'], { env });
      assert.equal(status.code, 1, status.stderr);
      assert.match(status.stderr, refusal(dir));
      const token = await runCli(['token'], { env: { ...env, KEYFOB_DEBUG: '1' } });
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout, /^eyJ/);
      assert.match(token.stderr, /agent: its directory is refused: .*; working alone/);

      assert.equal(listener.connections(), 0, 'nothing connected to the impersonator');
      assert.equal(listener.received(), '');
      assert.deepEqual(agentPidsFor(h.home), [], 'no agent was started');
      assert.equal(agentLog(h.home), '', 'no agent ever ran');
      const now = statSync(dir);
      assert.deepEqual([now.mode, now.uid, now.ino], [before.mode, before.uid, before.ino], 'left as it was');
    });
  }

  it('the agent starts with a scrubbed environment, no secret in argv, a 0600 log without secrets', async () => {
    const h = machineHome('token_storage: encrypted-file\n');
    const runtime = runtimeDir();
    const env = {
      ...h.env,
      XDG_RUNTIME_DIR: runtime,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtime}/bus`,
      NO_PROXY: '127.0.0.1',
      KEYFOB_PASSPHRASE: PASSPHRASE,
      SOME_SECRET: 'unrelated-secret-9f3a',
      AWS_SECRET_ACCESS_KEY: 'aws-secret-77c1',
      EDITOR: 'vi',
    };
    const agent = await startAgentCli(env);
    const environ = procEnviron(agent.pid);
    // The config's ${ROBOT_SECRET}, the proxy variable, and what reaches the keychain: nothing else
    // (not PATH, HOME or KEYFOB_HOME either).
    assert.deepEqual(Object.keys(environ).sort(), [
      'DBUS_SESSION_BUS_ADDRESS',
      'NO_PROXY',
      'ROBOT_SECRET',
      'XDG_RUNTIME_DIR',
    ]);
    assert.equal(environ.ROBOT_SECRET, idp.clients.machine.client_secret);
    const secrets = {
      'client secret': idp.clients.machine.client_secret,
      passphrase: PASSPHRASE,
      'unrelated secret': env.SOME_SECRET,
      'AWS secret': env.AWS_SECRET_ACCESS_KEY,
    };
    assertNoSecret(procArgv(agent.pid), secrets, "the agent's argv");

    // The first token creates the store's identity alone; the next hands the passphrase to the
    // agent (unlock); from then on the token comes from the agent.
    const token = await runCli(['token'], { env, timeoutMs: SLOW });
    assert.equal(token.code, 0, token.stderr);
    const unlock = await runCli(['token'], { env, timeoutMs: SLOW });
    assert.equal(unlock.code, 0, unlock.stderr);
    const again = await runCli(['token', '--config', join(h.home, 'config.yaml')], {
      env: { ...env, KEYFOB_DEBUG: '1' },
      timeoutMs: SLOW,
    });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /agent answered/, agentLog(h.home));
    const log = agentLog(h.home);
    assert.match(log, /unlocked \S+identity\.age until/);
    assert.equal(statSync(join(h.home, 'agent.log')).mode & 0o777, 0o600);
    assertNoSecret(log, { ...secrets, 'access token': token.stdout.trim() }, 'agent.log');
    await stopAgentCli(env, agent.pid);
    assertNoSecret(agentLog(h.home), secrets, 'agent.log after stop');
  });

  it('a client whose CA bundle, proxy, storage or ${VAR} differs works alone; a changed config is seen', async () => {
    const h = machineHome('token_storage: memory\n');
    const agent = await startAgentCli(h.env);
    const own = await runCli(['token'], { env: h.env });
    assert.equal(own.code, 0, own.stderr);
    assert.equal(served(h.home), 1);

    // An agent whose fingerprint left out the transport variables, the client-only ones or the
    // ${VAR} values would serve these clients its token; one that computed its own fingerprint once
    // would refuse the edited config below (or serve the old one, without `extra`).
    for (const [name, value, works] of [
      ['KEYFOB_CA_BUNDLE', ca.caFile, true],
      ['HTTPS_PROXY', 'http://127.0.0.1:9', true],
      ['KEYFOB_STORAGE', 'memory', true],
      // A client with another secret must not get the token the agent's secret obtained.
      ['ROBOT_SECRET', 'not-the-agents-secret', false],
    ] as const) {
      const result = await runCli(['token'], { env: { ...h.env, [name]: value, KEYFOB_DEBUG: '1' } });
      assert.match(result.stderr, /agent: refused \(fingerprint\); working alone/, name);
      if (works) {
        assert.equal(result.code, 0, `${name}: ${result.stderr}`);
        assert.notEqual(result.stdout, own.stdout, `${name}: a token of its own, not the agent's`);
      } else {
        assert.equal(result.code, 1, `${name}: ${result.stderr}`);
        assert.match(result.stderr, /HTTP 401 invalid_client/);
        assert.ok(!result.stdout.includes(own.stdout.trim()), `${name}: not the agent's token`);
      }
      assert.equal(served(h.home), 1, `${name}: the agent served nothing`);
    }

    // The config changes under the running agent: a new profile is served by it.
    const file = join(h.home, 'config.yaml');
    writeFileSync(file, `${readFileSync(file, 'utf8')}  extra:\n    provider: robot\n`);
    const extra = await runCli(['token', '--profile', 'extra', '--json'], {
      env: { ...h.env, KEYFOB_DEBUG: '1' },
    });
    assert.equal(extra.code, 0, extra.stderr);
    assert.match(extra.stderr, /agent answered profile=extra/);
    assert.match(agentLog(h.home), /token for profile extra: served/);
    await stopAgentCli(h.env, agent.pid);
  });

  it('credentials from the environment (levels 1–2) never reach the agent', async () => {
    const h = machineHome('token_storage: memory\n');
    const agent = await startAgentCli(h.env);
    const tokenFile = join(h.home, 'outside-token');
    writeFileSync(tokenFile, 'token-from-a-file-5d2e\n', { mode: 0o600 });
    const cases: [Record<string, string>, string][] = [
      [{ KEYFOB_TOKEN: 'token-from-the-env-8b1c' }, 'token-from-the-env-8b1c'],
      [{ KEYFOB_TOKEN_FILE: tokenFile }, 'token-from-a-file-5d2e'],
      [
        {
          KEYFOB_CLIENT_ID: idp.clients.machine.client_id,
          KEYFOB_CLIENT_SECRET: idp.clients.machine.client_secret,
        },
        '',
      ],
    ];
    let requests = agent.requests;
    for (const [extra, printed] of cases) {
      const result = await runCli(['token'], { env: { ...h.env, ...extra, KEYFOB_DEBUG: '1' } });
      assert.equal(result.code, 0, `${Object.keys(extra)}: ${result.stderr}`);
      if (printed) assert.equal(result.stdout, `${printed}\n`);
      else assert.match(result.stdout, /^eyJ/);
      assert.doesNotMatch(result.stderr, /agent/, 'not even asked');
      const status = await agentStatusJson(h.env);
      // Only the status call itself reached it.
      assert.equal(status?.requests, requests + 1, `${Object.keys(extra)}: the agent was asked`);
      requests = status?.requests ?? 0;
    }
    assert.equal(served(h.home), 0);
    assertNoSecret(
      agentLog(h.home),
      {
        KEYFOB_TOKEN: 'token-from-the-env-8b1c',
        'token file': 'token-from-a-file-5d2e',
        'client secret': idp.clients.machine.client_secret,
      },
      'agent.log',
    );
    await stopAgentCli(h.env, agent.pid);
  });
});
