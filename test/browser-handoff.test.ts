/**
 * The browser login is bound to the browser that started it (DESIGN.md, Security rules): no
 * secret of the flow in any argv, a 0600 `file://` page that forwards to a one-time start link,
 * a per-flow cookie the callback needs besides the state. Real `keyfob` processes, a real
 * dev-idp and a real headless Chromium; forged requests come from this test process.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, keyfobConfig, startDevIdp } from '@keyfob/dev-idp';
import type { Page, Request } from 'playwright-core';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from './support/browser.js';
import { alice, filesUnder, makeHome, type RunningCli, startCli, type TestHome } from './support/cli.js';

let idp: DevIdp;
let browser: TestBrowser;
const scratch = mkdtempSync(join(tmpdir(), 'keyfob-handoff-test-'));

before(async () => {
  idp = await startDevIdp();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await idp?.close();
});

const START_LINK = /http:\/\/127\.0\.0\.1:\d+\/start\/[\w-]+/;

/** Records what Chromium requests at dev-idp's authorization endpoint (state, nonce, challenge). */
function watchAuthorization(): { url(): URL; stop(): void } {
  let seen: URL | undefined;
  const onRequest = (request: Request) => {
    const url = new URL(request.url());
    if (url.origin === idp.issuer && url.pathname === '/auth') seen = url;
  };
  browser.context.on('request', onRequest);
  return {
    url() {
      assert.ok(seen, 'Chromium reached the authorization endpoint');
      return seen;
    },
    stop: () => browser.context.off('request', onRequest),
  };
}

/** Opens `url` in Chromium (fresh cookies) and waits for dev-idp's login page. */
async function openToLoginPage(url: string): Promise<Page> {
  const page = await browser.open(url);
  await page.waitForSelector('#email', { timeout: 15_000 });
  return page;
}

function stillRunning(run: RunningCli): boolean {
  return run.child.exitCode === null && run.child.signalCode === null;
}

/** A home whose provider `dev` has these extra config lines. */
function homeWithDev(extraLines: string[]): TestHome {
  const home = makeHome(idp);
  const dev = [
    '  dev:',
    '    type: oidc',
    `    issuer: ${idp.issuer}`,
    `    client_id: ${idp.clients.cli.client_id}`,
    '    scopes: [openid, profile, email, offline_access]',
    `    api_base: ${idp.api}`,
    ...extraLines,
  ].join('\n');
  writeFileSync(
    join(home.home, 'config.yaml'),
    keyfobConfig(idp, { person: false, defaultProvider: 'dev', extra: dev }),
  );
  return home;
}

describe('what $BROWSER receives', () => {
  it('only a file:// page (0600 in a 0700 dir) that forwards to the start link; the login completes; the page is removed', async () => {
    const home = makeHome(idp);
    const record = join(scratch, 'argv-file.jsonl');
    const run = startCli(['login', '--browser'], {
      env: { ...home.env, ...browser.env, KEYFOB_TEST_BROWSER_RECORD: record },
    });
    const given = await browser.nextUrl();
    const argv = readFileSync(record, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string[]);
    assert.deepEqual(argv, [[given]], '$BROWSER ran once, with one argument');
    assert.match(given, /^file:\/\//);
    const page = fileURLToPath(given);
    assert.equal(statSync(page).mode & 0o777, 0o600, 'the page is 0600');
    assert.equal(statSync(dirname(page)).mode & 0o777, 0o700, 'its directory is 0700');
    const startLink = START_LINK.exec(readFileSync(page, 'utf8'))?.[0];
    assert.ok(startLink, 'the page forwards to the start link');

    const watch = watchAuthorization();
    const tab = await openToLoginPage(given);
    const authorization = watch.url();
    watch.stop();
    const secrets = {
      state: authorization.searchParams.get('state'),
      nonce: authorization.searchParams.get('nonce'),
      code_challenge: authorization.searchParams.get('code_challenge'),
      'start link': startLink,
      'start link path': new URL(startLink).pathname,
    };
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(secret && secret.length >= 20, `${name} is there to look for`);
      assert.ok(!JSON.stringify(argv).includes(secret), `${name} is not in $BROWSER's argv`);
    }
    await signIn(tab, alice(idp));
    assert.equal((await loopbackResult(tab)).ok, true);
    await tab.close();
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Opened your browser to log in/);
    assert.ok(result.stderr.includes(startLink), 'the start link is shown on stderr');
    assert.equal(result.stdout, '');
    assert.equal(existsSync(dirname(page)), false, 'the page and its directory are gone after the login');
  });

  it('the page is removed when the waiting login is stopped with SIGTERM or SIGINT', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const home = makeHome(idp);
      const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
      const page = fileURLToPath(await browser.nextUrl());
      await run.waitForStderr(START_LINK);
      assert.equal(existsSync(page), true);
      run.child.kill(signal);
      await run.done;
      assert.equal(run.child.signalCode, signal, 'keyfob still ends by the signal');
      assert.equal(existsSync(dirname(page)), false, `the page is gone after ${signal}`);
    }
  });

  it('browser_handoff: url gives $BROWSER the start link itself and says what that exposes', async () => {
    const home = homeWithDev(['    browser_handoff: url']);
    const record = join(scratch, 'argv-url.jsonl');
    const run = startCli(['login', '--browser'], {
      env: { ...home.env, ...browser.env, KEYFOB_TEST_BROWSER_RECORD: record },
    });
    const given = await browser.nextUrl();
    assert.match(given, new RegExp(`^${START_LINK.source}$`));
    assert.deepEqual(JSON.parse(readFileSync(record, 'utf8').trim()), [given]);
    const tab = await openToLoginPage(given);
    await signIn(tab, alice(idp));
    assert.equal((await loopbackResult(tab)).ok, true);
    await tab.close();
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /browser_handoff: url — the login link is passed to the browser command as an argument, where other local users can read it/,
    );
  });

  it('a $BROWSER that exits 1 is reported as not opened, and the printed link still logs in', async () => {
    const home = makeHome(idp);
    const failing = join(scratch, 'failing-browser.sh');
    writeFileSync(failing, '#!/bin/sh\nexit 1\n');
    chmodSync(failing, 0o755);
    const run = startCli(['login', '--browser'], { env: { ...home.env, BROWSER: failing } });
    const stderr = await run.waitForStderr(START_LINK);
    assert.match(stderr, /Could not open the browser\. Open this link in a browser to log in/);
    assert.doesNotMatch(stderr, /Opened your browser/);
    const tab = await openToLoginPage(START_LINK.exec(stderr)?.[0] ?? '');
    await signIn(tab, alice(idp));
    assert.equal((await loopbackResult(tab)).ok, true);
    await tab.close();
    assert.equal((await run.done).code, 0);
  });

  it('--no-browser prints the start link on stderr only, once even with KEYFOB_DEBUG=1, and nothing on stdout', async () => {
    const home = makeHome(idp);
    const record = join(scratch, 'argv-none.jsonl');
    const run = startCli(['login', '--no-browser'], {
      env: { ...home.env, ...browser.env, KEYFOB_DEBUG: '1', KEYFOB_TEST_BROWSER_RECORD: record },
    });
    const stderr = await run.waitForStderr(START_LINK);
    assert.match(stderr, /Open this link in a browser to log in/);
    const tab = await openToLoginPage(START_LINK.exec(stderr)?.[0] ?? '');
    await signIn(tab, alice(idp));
    assert.equal((await loopbackResult(tab)).ok, true);
    await tab.close();
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '', 'nothing on stdout');
    const link = START_LINK.exec(result.stderr)?.[0] ?? '';
    assert.equal(result.stderr.split(link).length - 1, 1, 'the link is shown once and in no debug line');
    assert.equal(existsSync(record), false, 'no browser was started');
  });
});

describe('the callback accepts only the browser that opened the start link', () => {
  it('refuses a forged callback (no cookie; wrong state) with 403, reports it, keeps waiting, then completes', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
    const watch = watchAuthorization();
    const tab = await openToLoginPage(await browser.nextUrl());
    const authorization = watch.url();
    watch.stop();
    const state = authorization.searchParams.get('state') ?? '';
    const callback = new URL(authorization.searchParams.get('redirect_uri') ?? '');
    const codesBefore = idp.stats.tokenRequests.authorization_code ?? 0;
    const filesBefore = filesUnder(home.home);

    // Another local process, even one that learnt the state: no cookie.
    const forged = await fetch(
      `${callback.href}?code=forged&state=${state}&iss=${encodeURIComponent(idp.issuer)}`,
    );
    assert.equal(forged.status, 403);
    assert.ok(!(await forged.text()).includes(state), 'the refusal gives nothing back');
    // The right browser, with the cookie, but a state that is not this login's.
    const other = await browser.context.newPage();
    const wrongState = await other.goto(`${callback.href}?code=forged&state=${state}x`);
    assert.equal(wrongState?.status(), 403);
    await other.close();

    const stderr = await run.waitForStderr(/state does not match[\s\S]*/);
    assert.match(stderr, /Refused a request to the login callback: .*no login cookie.*Still waiting/);
    assert.ok(!stderr.includes(state), 'the report holds no secret');
    assert.equal(stillRunning(run), true, 'the login goes on waiting');
    assert.equal(idp.stats.tokenRequests.authorization_code ?? 0, codesBefore, 'no token request was made');
    assert.deepEqual(filesUnder(home.home), filesBefore, 'nothing on disk changed');

    await signIn(tab, alice(idp));
    assert.equal((await loopbackResult(tab)).ok, true);
    await tab.close();
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Logged in to dev as user-alice/);
  });

  it('a callback from the right browser with a wrong iss still fails openid-client, with no token request', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
    const watch = watchAuthorization();
    const tab = await openToLoginPage(await browser.nextUrl());
    const authorization = watch.url();
    watch.stop();
    const state = authorization.searchParams.get('state') ?? '';
    const callback = authorization.searchParams.get('redirect_uri') ?? '';
    const codesBefore = idp.stats.tokenRequests.authorization_code ?? 0;
    const evil = await tab.goto(
      `${callback}?code=abc&state=${state}&iss=${encodeURIComponent('http://127.0.0.1:1/evil')}`,
    );
    assert.equal(evil?.status(), 400);
    await tab.close();
    const result = await run.done;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /the browser login failed/);
    assert.equal(idp.stats.tokenRequests.authorization_code ?? 0, codesBefore, 'no token request was made');
    assert.equal(existsSync(join(home.home, 'sessions')), false, 'nothing was stored');
  });

  it('a start link opened twice aborts the login, saying someone else may be racing it', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
    const given = await browser.nextUrl();
    const startLink = START_LINK.exec(readFileSync(fileURLToPath(given), 'utf8'))?.[0] ?? '';
    // A racer opens the link first and is sent on to the provider with the flow's cookie.
    const racer = await fetch(startLink, { redirect: 'manual' });
    assert.equal(racer.status, 302);
    const tab = await browser.open(given);
    const shown = await loopbackResult(tab);
    assert.equal(shown.ok, false);
    assert.match(shown.text, /already used/);
    await tab.close();
    const result = await run.done;
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /opened twice; someone else may be racing this login/);
    assert.equal(existsSync(join(home.home, 'sessions')), false, 'nothing was stored');
    assert.equal(existsSync(dirname(fileURLToPath(given))), false, 'the page is removed');
    const callback = new URL(startLink);
    callback.pathname = '/callback';
    await assert.rejects(fetch(callback), 'the loopback is closed: the racer cannot finish');
  });

  it('a racer that opens the link twice while a slow $BROWSER still runs gets exit 1 and the reason, not a silent 0', async () => {
    // The opener (detached, unref'd) is still running when the loopback server closes: the login
    // then awaits only the opener's grace timer, which must keep keyfob alive to report.
    const home = makeHome(idp);
    const slow = join(scratch, 'slow-racing-browser.mjs');
    writeFileSync(
      slow,
      [
        "import { readFileSync } from 'node:fs';",
        "import { fileURLToPath } from 'node:url';",
        'const page = readFileSync(fileURLToPath(process.argv.at(-1)), "utf8");',
        `const link = ${START_LINK}.exec(page)[0];`,
        "await fetch(link, { redirect: 'manual' });",
        "await fetch(link, { redirect: 'manual' });",
        'setTimeout(() => process.exit(0), 4000);',
      ].join('\n'),
    );
    const result = await startCli(['login', '--browser'], {
      env: { ...home.env, BROWSER: `${process.execPath} ${slow}` },
    }).done;
    assert.equal(result.code, 1, JSON.stringify(result));
    assert.match(result.stderr, /opened twice; someone else may be racing this login/);
    assert.equal(existsSync(join(home.home, 'sessions')), false, 'nothing was stored');
  });
});
