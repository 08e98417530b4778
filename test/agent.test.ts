/**
 * The keyfob agent as a user meets it on the command line (DESIGN.md, The keyfob agent): the
 * built `keyfob agent start|stop|status` against dev-idp, `agent: auto` and `off`, the idle
 * exit, a stale socket of a killed agent, the fallback past the 107-byte socket path, a logout
 * or switch by a process without the agent never hidden by its memory, validation of the new
 * config keys, and the help that teaches it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import {
  agentLog,
  machineHome as agentMachineHome,
  agentPidsFor,
  agentStatusJson,
  assertNoSecret,
  killAgentsOf,
  startAgentCli,
  statOrNull,
  stopAgentCli,
  waitGone,
  waitUntil,
} from './support/agent.js';
import { filesUnder, loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { bashComplete, fixture, run } from './support/help-home.js';

let idp: DevIdp;
const homes: TestHome[] = [];

/** A home whose active profile `default` is dev-idp's machine client, plus `topYaml` at the top. */
function machineHome(topYaml = ''): TestHome {
  const home = agentMachineHome(idp, topYaml);
  homes.push(home);
  return home;
}

const served = (home: string) => agentLog(home).match(/: served /g)?.length ?? 0;

before(async () => {
  idp = await startDevIdp();
});

after(async () => {
  // Every agent a test started was stopped by it; this only catches a test that failed midway.
  for (const home of homes) killAgentsOf(home.home);
  await idp?.close();
});

describe('keyfob agent', { concurrency: true }, () => {
  it('start, a second start, status, stop, stop again, status with none', async () => {
    const h = machineHome();
    const first = await runCli(['agent', 'start'], { env: h.env });
    assert.equal(first.code, 0, first.stderr);
    const [, pidText, socket] = /Agent started \(pid (\d+)\) on (\S+\.sock)/.exec(first.stderr) ?? [];
    assert.ok(pidText && socket, first.stderr);
    const pid = Number(pidText);
    assert.deepEqual(agentPidsFor(h.home), [pid], 'one keyfob-agent runs in the home');
    assert.equal(statSync(socket).mode & 0o777, 0o600, 'the socket is 0600');

    // A second start finds it and starts nothing (a broken one would spawn a second daemon).
    const second = await runCli(['agent', 'start'], { env: h.env });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, new RegExp(`An agent already runs \\(pid ${pid}\\)`));
    assert.deepEqual(agentPidsFor(h.home), [pid], 'still one keyfob-agent');

    const token = await runCli(['token'], { env: h.env });
    assert.equal(token.code, 0, token.stderr);
    const status = await runCli(['agent', 'status'], { env: h.env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`pid ${pid}, protocol 1`));
    assert.match(status.stdout, /^socket +\S+\.sock$/m);
    assert.match(status.stdout, /^unlocked +nothing$/m);
    assert.match(status.stdout, /^requests +\d+$/m);
    const json = await runCli(['agent', 'status', '--json'], { env: h.env });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { running: boolean; status: { pid: number; socket: string } };
    assert.equal(report.running, true);
    assert.equal(report.status.pid, pid);
    assert.equal(report.status.socket, socket);
    const secrets = {
      'access token': token.stdout.trim(),
      'client secret': idp.clients.machine.client_secret,
    };
    assertNoSecret(status.stdout + json.stdout, secrets, 'agent status');

    const stop = await runCli(['agent', 'stop'], { env: h.env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stderr, new RegExp(`Agent stopped \\(pid ${pid}\\)`));
    await waitGone(pid);
    assert.equal(statOrNull(socket), null, 'the socket file is removed');
    assert.match(agentLog(h.home), /stopped: agent stop/);
    // Every agent process writes a first line to the log: one process ran, and none is left
    // (a second `start` that spawned anyway would leave an orphan here, or a second line).
    assert.equal(agentLog(h.home).match(/^\S+ (started|could not start)/gm)?.length, 1, agentLog(h.home));
    assert.deepEqual(agentPidsFor(h.home), []);
    const again = await runCli(['agent', 'stop'], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /No agent was running/);
    const none = await runCli(['agent', 'status'], { env: h.env });
    assert.equal(none.code, 1, 'status exits 1 when no agent answers');
    assert.match(none.stderr, /No agent answers \(none runs\)/);
  });

  it('agent: auto: the first token works alone and starts one; the next ones are served by it', async () => {
    // The memory store: without an agent every process gets a new token from the provider, so
    // two equal tokens from two processes can only come from the agent's memory.
    const h = machineHome('token_storage: memory\nagent: auto\n');
    const first = await runCli(['token'], { env: { ...h.env, KEYFOB_DEBUG: '1' } });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /agent: none runs; started one for the next call/);
    assert.match(first.stderr, /agent: none runs; working alone/);
    await waitUntil(async () => (await agentStatusJson(h.env)) !== null, 'the auto-started agent');
    const before = (await agentStatusJson(h.env))?.requests ?? 0;
    const second = await runCli(['token'], { env: h.env });
    const third = await runCli(['token'], { env: h.env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(third.code, 0, third.stderr);
    assert.notEqual(second.stdout, first.stdout, 'the agent got a token of its own');
    assert.equal(third.stdout, second.stdout, 'both served from the agent’s memory');
    const status = await agentStatusJson(h.env);
    assert.ok(status);
    // Two tokens and this status call.
    assert.equal(status.requests, before + 3);
    assert.equal(served(h.home), 2);
    assert.deepEqual(agentPidsFor(h.home), [status.pid], 'auto started one agent, not one per process');
    await stopAgentCli(h.env, status.pid);
  });

  it('agent: off: never asked, even when one runs', async () => {
    // A client that checked only that an agent answers (not the config's `agent: off`) fails here.
    const h = machineHome('token_storage: memory\nagent: off\n');
    const agent = await startAgentCli(h.env);
    const one = await runCli(['token'], { env: { ...h.env, KEYFOB_DEBUG: '1' } });
    const two = await runCli(['token'], { env: h.env });
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.notEqual(one.stdout, two.stdout, 'each process got its own token: no agent served them');
    assert.doesNotMatch(one.stderr, /agent/, 'not even asked');
    const status = await agentStatusJson(h.env);
    assert.equal(status?.requests, agent.requests + 1, 'only the status call reached it');
    assert.equal(served(h.home), 0);
    await stopAgentCli(h.env, agent.pid);
  });

  it('exits after agent_idle_timeout without a request, removing its socket and saying why', async () => {
    // Fails on an agent that never arms its idle timer, or leaves its socket file behind.
    const h = machineHome('agent_idle_timeout: 2\n');
    // Not `agent status` after it: on a loaded machine that may come after the 2 s.
    const started = await runCli(['agent', 'start'], { env: h.env });
    assert.equal(started.code, 0, started.stderr);
    const [, pid, socket] = /Agent started \(pid (\d+)\) on (\S+\.sock)/.exec(started.stderr) ?? [];
    assert.ok(pid && socket, started.stderr);
    await waitGone(Number(pid), 20_000);
    assert.equal(statOrNull(socket), null, 'the socket file is removed');
    assert.match(agentLog(h.home), /stopped: idle for 2 s/);
    assert.equal(await agentStatusJson(h.env), null);
  });

  it('a stale socket of a SIGKILLed agent: token works alone at once; agent start replaces it', async () => {
    const h = machineHome();
    const agent = await startAgentCli(h.env);
    process.kill(agent.pid, 'SIGKILL');
    await waitGone(agent.pid);
    assert.ok(statOrNull(agent.socket), 'a killed agent leaves its socket file behind');

    // Fails on a client that takes any socket file for an agent; `agent start` below fails on an
    // agent that does not unlink a stale socket (EADDRINUSE).
    const token = await runCli(['token'], { env: { ...h.env, KEYFOB_DEBUG: '1' } });
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^eyJ/);
    // "none runs" (connection refused), not a timeout or an error: nothing waited for a hello.
    assert.match(token.stderr, /agent: none runs; working alone/);

    const started = await runCli(['agent', 'start'], { env: h.env });
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stderr, /Agent started \(pid \d+\)/);
    const status = await agentStatusJson(h.env);
    assert.ok(status, 'the new agent answers');
    assert.notEqual(status.pid, agent.pid);
    // The same path answers again: the stale socket file was replaced by a listening one.
    assert.equal(status.socket, agent.socket);
    await stopAgentCli(h.env, status.pid);
  });

  it('past the 107-byte socket path limit, the socket goes to /tmp/keyfob-agent-<uid>/ and all works', async () => {
    const h = machineHome();
    // Without the fallback, `agent start` fails: no socket path short enough.
    const runtime = join(mkdtempSync(join(tmpdir(), 'keyfob-xdg-')), 'r'.repeat(90));
    mkdirSync(runtime, { mode: 0o700 });
    const env = { ...h.env, XDG_RUNTIME_DIR: runtime };
    const agent = await startAgentCli(env);
    const uid = process.getuid?.() ?? 0;
    assert.ok(agent.socket.startsWith(`/tmp/keyfob-agent-${uid}/agent-v1-`), agent.socket);
    assert.ok(Buffer.byteLength(join(runtime, 'keyfob', 'agent-v1-0123456789abcdef.sock')) > 107);
    assert.equal(statSync(`/tmp/keyfob-agent-${uid}`).mode & 0o777, 0o700);
    // The full path (`--config` names the same file) asks the agent first and says it answered.
    const token = await runCli(['token', '--config', join(h.home, 'config.yaml')], {
      env: { ...env, KEYFOB_DEBUG: '1' },
    });
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stderr, /agent answered profile=default/);
    assert.equal(served(h.home), 1);
    await stopAgentCli(env, agent.pid);
    assert.equal(statOrNull(agent.socket), null);
  });

  it('a logout or switch by a process without the agent is never hidden by its memory', async () => {
    const h = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    homes.push(h);
    const config = join(h.home, 'config.yaml');
    assert.equal((await loginWithDevice(idp, h)).code, 0);
    // Another config file for the same home, with `agent: off`: its commands never use an agent.
    const other = join(h.home, 'other.yaml');
    copyFileSync(config, other);
    writeFileSync(other, `agent: off\n${readFileSync(other, 'utf8')}`);
    const alone = { ...h.env, KEYFOB_CONFIG: other };
    const agent = await startAgentCli(h.env);

    const debug = { ...h.env, KEYFOB_DEBUG: '1' };
    const before = await runCli(['token', '--config', config, '--json'], { env: debug });
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stderr, /agent answered/);
    const held = JSON.parse(before.stdout) as { access_token: string; profile: string };
    const refresh = /"refresh_token":\s*"([^"]+)"/.exec(JSON.stringify(filesUnder(h.home, 'utf8')))?.[1];

    const logout = await runCli(['logout'], { env: alone });
    assert.equal(logout.code, 0, logout.stderr);
    // An agent that kept its memo (or the session) across requests would print the old token.
    const after = await runCli(['token'], { env: h.env });
    assert.equal(after.code, 2, `not logged in any more: ${after.stderr}`);
    assert.ok(!after.stdout.includes(held.access_token), 'not the old token from memory');
    assert.match(agentLog(h.home), /token for profile \S+: AUTHENTICATION_REQUIRED/);

    // An agent that cached the state file would go on serving the old active profile.
    const sw = await runCli(['switch', 'ci'], { env: alone });
    assert.equal(sw.code, 0, sw.stderr);
    const ci = await runCli(['token', '--config', config, '--json'], { env: debug });
    assert.equal(ci.code, 0, ci.stderr);
    assert.match(ci.stderr, /agent answered profile=ci/);
    assert.equal((JSON.parse(ci.stdout) as { profile: string }).profile, 'ci');

    assertNoSecret(
      agentLog(h.home),
      {
        'access token': held.access_token,
        'refresh token': refresh,
        'client secret': idp.clients.machine.client_secret,
      },
      'agent.log',
    );
    await stopAgentCli(h.env, agent.pid);
  });

  it('bad agent settings: exit 1 naming the key and what it accepts; nothing on disk changed', async () => {
    const cases: [string, RegExp][] = [
      ['agent: sometimes', /agent: must be one of auto, manual, off, not "sometimes"/],
      ['agent_idle_timeout: -1', /agent_idle_timeout: must be a duration such as 900, 90s, 15m or 1h/],
      [
        'agent_idle_timeout: "5x"',
        /agent_idle_timeout: must be a duration such as 900, 90s, 15m or 1h, not "5x"/,
      ],
      ['agent_idle_timeout: 0', /agent_idle_timeout: must be from 1 second to 7 days, not 0/],
      ['unlock_timeout: 8d', /unlock_timeout: must be a duration such as 900, 90s, 15m or 1h, not "8d"/],
    ];
    for (const [at, [line, message]] of cases.entries()) {
      const h = machineHome(`${line}\n`);
      const disk = filesUnder(h.home);
      // `token` validates the same way: once is enough (fewer processes on a busy machine).
      for (const args of at === 0 ? [['agent', 'start'], ['token']] : [['agent', 'start']]) {
        const result = await runCli(args, { env: h.env });
        assert.equal(result.code, 1, `${line}: ${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, message, `${line}: ${args.join(' ')}`);
      }
      assert.deepEqual(filesUnder(h.home), disk, `${line}: nothing on disk changed`);
      assert.deepEqual(agentPidsFor(h.home), [], `${line}: no agent started`);
    }
    // A valid duration of hours is accepted (the bound is 7 days, not 8 hours).
    const ok = machineHome('unlock_timeout: 8h\nagent_idle_timeout: "90s"\n');
    const agent = await startAgentCli(ok.env);
    assert.equal(agent.unlock_timeout, 8 * 3600);
    assert.equal(agent.idle_timeout, 90);
    await stopAgentCli(ok.env, agent.pid);
  });

  it('help and completion teach it; an integrator’s mounted set says its own name', async () => {
    const { env } = fixture('http://127.0.0.1:9');
    const overview = await runCli(['help'], { env });
    assert.match(overview.stdout, /^ {2}agent +start, stop or show the agent/m);
    const help = await runCli(['agent', '--help'], { env });
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: keyfob agent start \| stop \| status \[--json\]/);
    assert.match(help.stdout, /agent: auto/);
    assert.match(help.stdout, /\$ keyfob agent status/);
    const script = await runCli(['completion', 'bash'], { env });
    const commands = await bashComplete(script.stdout, 'keyfob ag', env);
    assert.deepEqual(commands.reply, ['agent']);
    const flags = await bashComplete(script.stdout, 'keyfob agent --j', env);
    assert.deepEqual(flags.reply, ['--json']);

    const mounted = await run('acme', ['auth', 'agent', '--help'], env);
    assert.equal(mounted.code, 0, mounted.stderr);
    assert.match(mounted.stdout, /Usage: acme auth agent start/);
    assert.match(mounted.stdout, /\$ acme auth agent stop/);
    assert.doesNotMatch(mounted.stdout, /keyfob(?!-)|KEYFOB/i, 'the word keyfob never shows');
  });
});
