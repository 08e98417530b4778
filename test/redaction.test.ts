/**
 * The canary: every flow with KEYFOB_DEBUG=1, then a search of everything keyfob printed and
 * every process's argv for the tokens and secrets it handled. Only `token` may print a token,
 * on its own stdout.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from './support/browser.js';
import { type CliResult, makeHome, runCli, startCli } from './support/cli.js';

let idp: DevIdp;
let browser: TestBrowser;
const printed: Array<{ what: string; text: string }> = [];
const argvSeen = new Set<string>();
let psTimer: NodeJS.Timeout | undefined;

function record(what: string, result: CliResult, stdoutMayHoldToken = false): CliResult {
  printed.push({ what: `${what} stderr`, text: result.stderr });
  if (!stdoutMayHoldToken) printed.push({ what: `${what} stdout`, text: result.stdout });
  return result;
}

before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 60 });
  browser = await launchBrowser();
  // Sample every process's argv while the flows run.
  psTimer = setInterval(() => {
    try {
      for (const line of execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n'))
        argvSeen.add(line);
    } catch {
      // ps failing once is not the point of this test
    }
  }, 50);
});

after(async () => {
  clearInterval(psTimer);
  await browser?.close();
  await idp?.close();
});

describe('no token or secret leaks, with KEYFOB_DEBUG=1', () => {
  it('holds across browser login, token, whoami, refresh, fetch, status, machine login and logout', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const env = { ...home.env, ...browser.env, KEYFOB_DEBUG: '1' };

    const login = startCli(['login', '--browser'], { env });
    const page = await browser.open(await browser.nextUrl());
    await signIn(page, idp.users[0] as { email: string; password: string });
    await loopbackResult(page);
    await page.close();
    record('login', await login.done);

    const session = () =>
      JSON.parse(readFileSync(join(home.home, 'sessions', 'default.json'), 'utf8')).session as {
        refresh_token: string;
        id_token: string;
        access_tokens: Record<string, { token: string }>;
      };
    const canaries = new Set<string>([idp.clients.machine.client_secret]);
    const collect = () => {
      const s = session();
      canaries.add(s.refresh_token);
      canaries.add(s.id_token);
      for (const t of Object.values(s.access_tokens)) canaries.add(t.token);
    };
    collect();

    const token = record('token', await runCli(['token', '--json'], { env }), true);
    canaries.add(JSON.parse(token.stdout).access_token);
    record('whoami', await runCli(['whoami', '--json'], { env }));
    record('refresh', await runCli(['refresh'], { env }));
    collect();
    record('fetch', await runCli(['fetch', `${idp.api}/hello`], { env }));
    record('fetch 403', await runCli(['fetch', `${idp.api}/admin`], { env }));
    record('status', await runCli(['status', '--json'], { env }));
    const machine = record('machine token', await runCli(['token', '--profile', 'ci'], { env }), true);
    canaries.add(machine.stdout.trim());
    collect();
    record('logout', await runCli(['logout'], { env }));
    record('token after logout', await runCli(['token'], { env }));

    assert.ok(canaries.size >= 6, 'the flows produced tokens to look for');
    const debugLines = printed.filter((p) => p.text.includes('keyfob debug:')).length;
    assert.ok(debugLines > 0, 'debug output was on');
    for (const canary of canaries) {
      assert.ok(canary && canary.length > 10);
      for (const p of printed) assert.ok(!p.text.includes(canary), `a secret appeared in ${p.what}`);
      for (const args of argvSeen) assert.ok(!args.includes(canary), 'a secret appeared in a process argv');
    }
  });
});
