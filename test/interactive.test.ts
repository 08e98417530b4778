/**
 * createKeyfob({ interactive }) (DESIGN.md, The resolver, level 5): an SDK process at a real
 * terminal (util-linux `script`) whose getToken finds no session starts the browser login in
 * real Chromium through `$BROWSER`; the session stays in memory unless `persist: true`. Without
 * a person the call fails as before, naming the command.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from './support/browser.js';
import { alice, makeHome, runCli } from './support/cli.js';

const SDK = fileURLToPath(new URL('./fixtures/interactive-sdk.ts', import.meta.url));
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

/** Runs the SDK script in a pseudo-terminal; the test's Chromium signs in when it is asked to. */
async function sdkAtTerminal(env: Record<string, string>): Promise<{ output: string; code: number | null }> {
  const command = [process.execPath, '--import', 'tsx', SDK].map((a) => `'${a}'`).join(' ');
  const child = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], {
    env: { ...env, TERM: 'xterm' },
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  // On a process that never asks for a browser, fail with its output instead of waiting.
  const url = await Promise.race([
    browser.nextUrl(),
    done.then(() => Promise.reject(new Error(`the SDK ended without opening a browser:\n${output}`))),
  ]);
  const page = await browser.open(url);
  await signIn(page, alice(idp));
  const shown = await loopbackResult(page);
  await page.close();
  assert.ok(shown.ok, shown.text);
  const code = await done;
  clearTimeout(timer);
  return { output, code };
}

function sessions(home: string): string[] {
  const dir = join(home, 'sessions');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('createKeyfob({ interactive })', () => {
  it('at a terminal, getToken with no session logs in through the browser; nothing is written', async () => {
    const home = makeHome(idp);
    const result = await sdkAtTerminal({ ...home.env, ...browser.env, DEV_IDP_API: idp.api });
    assert.match(result.output, /sdk token ok true api 200/, result.output);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /Opened your browser to log in/);
    assert.deepEqual(sessions(home.home), [], 'the session stayed in memory');
    assert.ok(!existsSync(join(home.home, 'state.json')), 'no state recorded either');
  });

  it('with persist: true the session is stored, and the CLI then uses it', async () => {
    const home = makeHome(idp);
    const result = await sdkAtTerminal({
      ...home.env,
      ...browser.env,
      DEV_IDP_API: idp.api,
      INTERACTIVE_PERSIST: '1',
    });
    assert.match(result.output, /sdk token ok true api 200/, result.output);
    assert.deepEqual(sessions(home.home), ['default.json']);
    const token = await runCli(['token'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
  });

  it('without a person (no terminal) it fails naming the command, and opens nothing', async () => {
    const home = makeHome(idp);
    const child = spawn(process.execPath, ['--import', 'tsx', SDK], {
      env: { ...home.env, ...browser.env, DEV_IDP_API: idp.api },
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stdin.end();
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 2, output);
    assert.match(output, /sdk error AUTHENTICATION_REQUIRED: not logged in .*run `keyfob login`/);
    assert.deepEqual(sessions(home.home), []);
  });
});
