/**
 * A login nobody chose, with nobody there (CI, a pipe, KEYFOB_NO_PROMPT, --no-input): exit 2 at
 * once naming the ways in, instead of waiting ten minutes for nobody. What needs no person (a
 * chosen flow, $BROWSER, a machine provider, a piped token) still logs in.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from './support/browser.js';
import { alice, filesUnder, loginWithDevice, makeHome, runCli, startCli } from './support/cli.js';
import { inTerminal } from './support/pty.js';

let idp: DevIdp;
let browser: TestBrowser;

before(async () => {
  idp = await startDevIdp();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await idp?.close();
});

describe('a login nobody chose, with nobody there', () => {
  const flags = /--device.*--browser.*--with-token.*--with-secret/;
  for (const [name, extra, args] of [
    ['CI is set', { CI: '1' }, []],
    ['stdin is not a terminal', {}, []],
    [`${'KEYFOB'}_NO_PROMPT is set`, { KEYFOB_NO_PROMPT: '1' }, []],
    ['--no-input is given', {}, ['--no-input']],
    ['on a remote session', { CI: 'true', SSH_CONNECTION: '10.0.0.1 1 10.0.0.2 22' }, []],
  ] as const) {
    it(`${name}: exits 2 at once naming the four ways in, asking the provider nothing`, async () => {
      const home = makeHome(idp);
      // The parsed-config cache may be written; no session and no state may be.
      const stored = () =>
        Object.keys(filesUnder(home.home)).filter((path) => !path.startsWith(join(home.home, 'cache')));
      const files = stored();
      const requests = { ...idp.stats.tokenRequests };
      const started = Date.now();
      const result = await runCli(['login', ...args], { env: { ...home.env, ...extra }, timeoutMs: 30_000 });
      assert.equal(result.code, 2, result.stderr);
      assert.ok(Date.now() - started < 20_000, 'no waiting for a person');
      assert.match(result.stderr, flags);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.doesNotMatch(result.stderr, /code: |\/auth\?/, 'no flow was started');
      assert.deepEqual(idp.stats.tokenRequests, requests);
      assert.deepEqual(stored(), files);
    });
  }

  it('at a terminal with CI set, too; a person at a terminal still gets the flow', async () => {
    const home = makeHome(idp);
    const ci = await inTerminal(['login'], {
      ...home.env,
      CI: '1',
      SSH_CONNECTION: '10.0.0.1 1 10.0.0.2 22',
    });
    assert.equal(ci.code, 2, ci.output);
    assert.match(ci.output, flags);
  });

  it('a chosen flow, a machine provider, a piped token or $BROWSER still log in without a person', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const env = { ...home.env, CI: '1' };
    const device = await loginWithDevice(idp, { ...home, env });
    assert.equal(device.code, 0, device.stderr);
    const machine = await runCli(['login', 'robot', '--profile', 'ci'], { env });
    assert.equal(machine.code, 0, machine.stderr);
    const token = (await runCli(['token', '--profile', 'ci'], { env })).stdout.trim();
    const piped = await runCli(['login', '--with-token', '--profile', 'piped'], { env, input: `${token}\n` });
    assert.equal(piped.code, 0, piped.stderr);
    // $BROWSER chooses the browser flow (DESIGN.md, login), as a flag does.
    const run = startCli(['login'], { env: { ...makeHome(idp).env, ...browser.env, CI: '1' } });
    const page = await browser.open(await browser.nextUrl());
    await signIn(page, alice(idp));
    await loopbackResult(page);
    await page.close();
    const viaBrowser = await run.done;
    assert.equal(viaBrowser.code, 0, viaBrowser.stderr);
  });
});
