/**
 * Real logins end to end: the built `keyfob` command, a real dev-idp (oidc-provider) and a real
 * headless Chromium that types the password and clicks consent.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from './support/browser.js';
import { alice, cliEnv, loginWithDevice, makeHome, runCli, startCli, type TestHome } from './support/cli.js';
import { inTerminal } from './support/pty.js';
import { assertMatchesSchema } from './support/schemas.js';

let idp: DevIdp;
let browser: TestBrowser;

before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 120 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await idp?.close();
});

/** `keyfob login --browser` with Chromium playing the person. */
async function browserLogin(home: TestHome, args: string[] = []) {
  const run = startCli(['login', '--browser', ...args], { env: { ...home.env, ...browser.env } });
  const page = await browser.open(await browser.nextUrl());
  await signIn(page, alice(idp));
  const shown = await loopbackResult(page);
  await page.close();
  const result = await run.done;
  return { result, shown };
}

function storedSession(home: TestHome, profile = 'default') {
  const file = JSON.parse(readFileSync(join(home.home, 'sessions', `${profile}.json`), 'utf8')) as {
    session: { refresh_token: string | null; subject: string | null };
  };
  return file.session;
}

/** A refresh grant straight at dev-idp, to see whether a refresh token is still alive. */
async function refreshTokenWorks(refreshToken: string): Promise<boolean> {
  const response = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: idp.clients.cli.client_id,
    }),
  });
  return response.ok;
}

describe('browser login (authorization code + PKCE through the loopback)', () => {
  it('logs in, prints the URL, serves whoami and the protected API from one login', async () => {
    const home = makeHome(idp);
    const { result, shown } = await browserLogin(home);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(shown.ok, true, shown.text);
    assert.match(
      result.stderr,
      /http:\/\/127\.0\.0\.1:\d+\/start\/[\w-]+/,
      'the start link is always printed',
    );
    assert.match(result.stderr, /Logged in to dev as user-alice/);
    assert.match(
      result.stderr,
      /No keychain answered \([^)]{1,40}\); tokens are in .*sessions .*; choose with token_storage/,
      'the fallback to the file store is announced',
    );

    const whoami = await runCli(['whoami', '--json'], { env: home.env });
    assert.equal(whoami.code, 0, whoami.stderr);
    const claims = JSON.parse(whoami.stdout) as Record<string, unknown>;
    assert.equal(claims.sub, alice(idp).sub);
    assert.equal(claims.email, alice(idp).email);

    const token = await runCli(['token', '--json'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    const parsed = JSON.parse(token.stdout) as { access_token: string; profile: string };
    assertMatchesSchema('token', parsed);
    assert.equal(parsed.profile, 'default');
    const api = await fetch(`${idp.api}/hello`, {
      headers: { authorization: `Bearer ${parsed.access_token}` },
    });
    assert.equal(api.status, 200);
    assert.equal(((await api.json()) as { sub: string }).sub, alice(idp).sub);

    const status = await runCli(['status', '--json'], { env: home.env });
    assert.equal(status.code, 0, status.stderr);
    const report = JSON.parse(status.stdout) as {
      active_profile: string;
      profiles: Array<Record<string, unknown>>;
    };
    assertMatchesSchema('status', report);
    assert.equal(report.active_profile, 'default');
    assert.equal(report.profiles[0]?.subject, alice(idp).sub);
    assert.equal(report.profiles[0]?.refreshable, true);
    assert.equal(report.profiles[0]?.store, 'file');
  });

  it('refuses a denied consent with exit 1 and a clear message', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
    const page = await browser.open(await browser.nextUrl());
    await signIn(page, alice(idp), 'deny');
    const shown = await loopbackResult(page);
    await page.close();
    const result = await run.done;
    assert.equal(result.code, 1);
    assert.equal(shown.ok, false);
    assert.match(result.stderr, /denied/);
    assert.equal((await runCli(['token'], { env: home.env })).code, 2, 'nothing was stored');
  });

  it('shows the error page for a wrong password and stays on the login page', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
    const page = await browser.open(await browser.nextUrl());
    await page.fill('#email', alice(idp).email);
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('#login')]);
    const error = await page.waitForSelector('#error');
    assert.match((await error.textContent()) ?? '', /wrong email or password/i);
    // The person corrects the password and the login still completes.
    await signIn(page, alice(idp));
    assert.equal((await loopbackResult(page)).ok, true);
    await page.close();
    assert.equal((await run.done).code, 0);
  });
});

describe('the loopback callback', () => {
  // Forged and replayed callbacks: see browser-handoff.test.ts.
  it('listens on 127.0.0.1 only', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--no-browser'], { env: home.env });
    const stderr = await run.waitForStderr(/http:\/\/127\.0\.0\.1:\d+\/start\/\S+/);
    const start = new URL(/(http:\/\/127\.0\.0\.1:\d+\/start\/\S+)/.exec(stderr)?.[1] ?? '');
    const { networkInterfaces } = await import('node:os');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    assert.ok(external, 'this machine has a non-loopback IPv4 address to try');
    await assert.rejects(fetch(`http://${external.address}:${start.port}/callback`));
    await assert.rejects(fetch(`http://[::1]:${start.port}/callback`));
    run.child.kill('SIGTERM');
    await run.done;
  });
});

describe('device login (RFC 8628)', () => {
  it('prints the URL and code on stderr and completes when approved in a browser', async () => {
    const home = makeHome(idp);
    const run = startCli(['login', '--device'], { env: home.env });
    const stderr = await run.waitForStderr(/code: \S+/);
    const url = /open (\S+)/.exec(stderr)?.[1];
    assert.ok(url, 'the verification URL is printed');
    const page = await browser.open(url);
    await page.waitForSelector('#confirm, #user_code');
    if (await page.$('#user_code')) await page.fill('#user_code', /code: (\S+)/.exec(stderr)?.[1] ?? '');
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.click('#confirm')]);
    await signIn(page, alice(idp));
    await page.waitForSelector('text=You can close this window');
    await page.close();
    const result = await run.done;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, '', 'stdout stays clean for data');
    assert.equal(storedSession(home).subject, alice(idp).sub);
  });

  it('is chosen by itself on a remote session and says so', async () => {
    const home = makeHome(idp);
    // A person at a terminal over SSH: without one, an unchosen flow is refused (below).
    const run = await inTerminal(
      ['login'],
      { ...home.env, SSH_CONNECTION: '10.0.0.1 1 10.0.0.2 22' },
      {
        until: /code: \S+/,
      },
    );
    assert.match(run.output, /using the device flow because this is an SSH session/);
  });
});

describe('machine login (client credentials)', () => {
  it('fetches and caches a token for a machine profile with no prompt', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const before = idp.stats.tokenRequests.client_credentials ?? 0;
    const first = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(second.stdout, first.stdout, 'the cached token is reused');
    assert.equal((idp.stats.tokenRequests.client_credentials ?? 0) - before, 1);
    const api = await fetch(`${idp.api}/hello`, {
      headers: { authorization: `Bearer ${first.stdout.trim()}` },
    });
    assert.equal(api.status, 200);
  });

  it('names the missing secret instead of prompting, and other providers still work', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const env = cliEnv(home.home);
    const result = await runCli(['token', '--profile', 'ci'], { env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /set ROBOT_SECRET in the environment/);
    const status = await runCli(['status'], { env });
    // Exit 2: the active profile is not logged in; not 1: a missing secret for one provider
    // does not break the config.
    assert.equal(status.code, 2, status.stderr);
    assert.match(status.stderr, /^keyfob: not logged in; run `keyfob login`\n$/);
  });
});

describe('refresh, expiry and logout', () => {
  it('rotates the refresh token on refresh; the spent one is refused', async () => {
    const home = makeHome(idp);
    assert.equal((await browserLogin(home)).result.code, 0);
    const spent = storedSession(home).refresh_token;
    assert.ok(spent);
    const refreshed = await runCli(['refresh'], { env: home.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const current = storedSession(home).refresh_token;
    assert.ok(current && current !== spent, 'a new refresh token was stored');
    assert.equal(await refreshTokenWorks(spent), false, 'the spent refresh token is refused');
  });

  it('logout revokes: the refresh token is dead and token exits 2 naming login', async () => {
    const home = makeHome(idp);
    assert.equal((await browserLogin(home)).result.code, 0);
    const refreshToken = storedSession(home).refresh_token;
    assert.ok(refreshToken);
    const out = await runCli(['logout'], { env: home.env });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /refresh token revoked/);
    assert.match(out.stderr, /stay valid until they expire/);
    assert.equal(await refreshTokenWorks(refreshToken), false);
    const token = await runCli(['token'], { env: home.env });
    assert.equal(token.code, 2);
    assert.match(token.stderr, /`keyfob login`/);
  });
});

describe('token after expiry', () => {
  it('refreshes a token that has expired', async () => {
    const shortIdp = await startDevIdp({ accessTokenTtl: 3 });
    try {
      const home = makeHome(shortIdp);
      assert.equal((await loginWithDevice(shortIdp, home)).code, 0);
      const first = await runCli(['token'], { env: home.env });
      assert.equal(first.code, 0, first.stderr);
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const refreshesBefore = shortIdp.stats.refreshRequests;
      const second = await runCli(['token'], { env: home.env });
      assert.equal(second.code, 0, second.stderr);
      assert.notEqual(second.stdout, first.stdout);
      assert.equal(shortIdp.stats.refreshRequests - refreshesBefore, 1);
      const api = await fetch(`${shortIdp.api}/hello`, {
        headers: { authorization: `Bearer ${second.stdout.trim()}` },
      });
      assert.equal(api.status, 200);
    } finally {
      await shortIdp.close();
    }
  });
});
