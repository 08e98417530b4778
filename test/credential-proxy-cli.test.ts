/**
 * `keyfob proxy` as a whole process: `--json` prints the URL and key and the proxy runs until a
 * signal; `-- TOOL` runs the tool with only the URL and key (no token, no secret, nothing on a
 * command line), forwards signals, stops with the tool and exits with its code; `--scope` holds
 * a client-credentials token with only that scope.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, startCli, type TestHome } from './support/cli.js';
import { assertMatchesSchema } from './support/schemas.js';

let idp: DevIdp;
let home: TestHome;
let tool: string;

/** A tool that calls the proxy from its environment and reports what it was given. */
const TOOL = `
import { readFileSync } from 'node:fs';
const url = process.env.KEYFOB_PROXY_URL;
const key = process.env.KEYFOB_PROXY_KEY;
const res = await fetch(url + '/registry/echo?chunk=5', { headers: { 'x-keyfob-proxy-key': key } });
const body = await res.text();
const cmdline = (pid) => readFileSync('/proc/' + pid + '/cmdline', 'latin1');
const report = { env: process.env, argv: process.argv, status: res.status, body,
  own: cmdline('self'), parent: cmdline(process.ppid), url };
process.stdout.write(JSON.stringify(report) + '\\n');
if (process.argv[2] === 'wait') {
  process.on('SIGTERM', () => { process.stderr.write('tool got SIGTERM\\n'); process.exit(42); });
  process.stderr.write('tool ready\\n');
  setInterval(() => {}, 1000);
} else {
  process.exitCode = Number(process.argv[2] ?? 0);
}
`;

before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
  tool = join(mkdtempSync(join(tmpdir(), 'keyfob-proxy-tool-')), 'tool.mjs');
  writeFileSync(tool, TOOL);
});
after(async () => {
  await idp?.close();
});

function portClosed(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('keyfob proxy (CLI)', () => {
  it('--json prints {url, key, pid}; requests go through; SIGTERM stops it (exit 0, port closed)', async () => {
    const run = startCli(['proxy', '--profile', 'ci', '--json'], { env: home.env });
    let out = '';
    const line = new Promise<string>((resolve) => {
      run.child.stdout?.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out);
      });
    });
    await run.waitForStderr(/Ctrl-C stops it/);
    const printed = JSON.parse(await line) as { url: string; key: string; pid: number };
    assertMatchesSchema('proxy', printed);
    assert.match(printed.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(printed.key, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(printed.pid, run.child.pid);
    const search = await fetch(`${printed.url}/registry/search?q=pad`, {
      headers: { 'proxy-authorization': `Bearer ${printed.key}` },
    });
    assert.equal(search.status, 200);
    assert.ok(!(await readFileCmdline(run.child.pid)).includes(printed.key), 'the key is not in argv');
    run.child.kill('SIGTERM');
    const done = await run.done;
    assert.equal(done.code, 0, done.stderr);
    assert.ok(await portClosed(printed.url), 'the proxy stopped');
  });

  it('-- TOOL gets the URL and key in its environment, no token or secret anywhere, and its exit code', async () => {
    const canary = 'canary-token-from-the-environment-1234';
    const result = await runCli(['proxy', '--profile', 'ci', '--', process.execPath, tool, '7'], {
      env: { ...home.env, KEYFOB_TOKEN_FILE: '/nonexistent/token', KEYFOB_ADMIN_API_KEY: canary },
    });
    assert.equal(result.code, 7, result.stderr);
    const report = JSON.parse(result.stdout) as {
      env: Record<string, string>;
      argv: string[];
      status: number;
      body: string;
      own: string;
      parent: string;
      url: string;
    };
    assert.equal(report.status, 200, report.body);
    const key = report.env.KEYFOB_PROXY_KEY ?? '';
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    assert.match(report.env.KEYFOB_PROXY_URL ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(report.env.KEYFOB_TOKEN_FILE, undefined);
    assert.equal(report.env.KEYFOB_ADMIN_API_KEY, undefined);
    assert.equal(report.env.ROBOT_SECRET, undefined, "the config's client secret variable is dropped");
    assert.ok(report.own.includes(tool) && !report.own.includes(key), 'the key is not in the tool’s argv');
    assert.ok(report.parent.includes('proxy') && !report.parent.includes(key), 'nor in keyfob’s');
    // The token the proxy used (the profile's cached machine token) appears nowhere.
    const token = (await runCli(['token', '--profile', 'ci'], { env: home.env })).stdout.trim();
    assert.ok(token.length > 20);
    assert.ok(JSON.parse(report.body).headers.authorization === '[REDACTED]');
    for (const secret of [token, idp.clients.machine.client_secret, canary]) {
      assert.ok(!result.stdout.includes(secret), 'nothing of keyfob’s credentials reaches the tool');
      assert.ok(!result.stderr.includes(secret));
    }
    assert.ok(await portClosed(report.url), 'the proxy stopped when the tool exited');
  });

  it('forwards SIGTERM to the tool and exits with its code', async () => {
    const run = startCli(['proxy', '--profile', 'ci', '--', process.execPath, tool, 'wait'], {
      env: home.env,
    });
    await run.waitForStderr(/tool ready/);
    run.child.kill('SIGTERM');
    const done = await run.done;
    assert.match(done.stderr, /tool got SIGTERM/);
    assert.equal(done.code, 42);
  });

  it('--scope registry:read: reading works, writing is refused for want of scope', async () => {
    const script = join(tmpdir(), `keyfob-proxy-scope-${process.pid}.mjs`);
    writeFileSync(
      script,
      `const h = { 'x-keyfob-proxy-key': process.env.KEYFOB_PROXY_KEY };
const u = process.env.KEYFOB_PROXY_URL;
const list = await fetch(u + '/registry/packages', { headers: h });
const put = await fetch(u + '/registry/packages/scoped', { method: 'PUT', headers: h, body: 'x' });
console.log(JSON.stringify({ list: list.status, put: put.status, challenge: put.headers.get('www-authenticate') }));`,
    );
    const result = await runCli(
      ['proxy', '--profile', 'ci', '--scope', 'registry:read', '--', process.execPath, script],
      { env: home.env },
    );
    assert.equal(result.code, 0, result.stderr);
    const seen = JSON.parse(result.stdout);
    assert.equal(seen.list, 200);
    assert.equal(seen.put, 403);
    assert.match(seen.challenge ?? '', /insufficient_scope/);
  });

  it('without a login it fails before listening, naming the command to run (exit 2)', async () => {
    const fresh = makeHome(idp);
    const result = await runCli(['proxy', '--profile', 'nobody', '--', process.execPath, tool], {
      env: fresh.env,
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /login/);
    assert.equal(result.stdout, '', 'the tool never ran');
  });
});

async function readFileCmdline(pid: number | undefined): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(`/proc/${pid}/cmdline`, 'latin1');
}
