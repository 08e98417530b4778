/**
 * examples/oidc-session, the vendor SDK re-created on @keyfob/core, run as its users run it: its
 * own command as a process, in a fresh home, against dev-idp in-process; logins through a real
 * headless Chromium (browser flow) and dev-idp's robot (device flow).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { approveDeviceLogin, type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from '../support/browser.js';
import { alice } from '../support/cli.js';
import { exampleDir, runExample, startExample } from '../support/example.js';
import { readSession, writeSession } from '../support/file-session.js';

const DIR = exampleDir('oidc-session');
const BIN = 'bin/oidc-session.js';

let idp: DevIdp;
let browser: TestBrowser;

before(async () => {
  [idp, browser] = await Promise.all([startDevIdp(), launchBrowser()]);
});
after(async () => {
  await Promise.all([idp?.close(), browser?.close()]);
});

/** A fresh home for the SDK's users and the variables its providers.yaml refers to. */
function freshUser(server: DevIdp, extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'oidc-session-home-'));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    OIDC_SESSION_HOME: home,
    OIDC_SESSION_ISSUER: server.issuer,
    OIDC_SESSION_API: server.api,
    ...extra,
  };
}

const run = (args: string[], env: Record<string, string>) => runExample(DIR, BIN, args, { env });

/** `oidc-session login --device [--profile P]`, approved by dev-idp's robot as alice. */
async function deviceLogin(server: DevIdp, env: Record<string, string>, args: string[] = []) {
  const login = startExample(DIR, BIN, ['login', '--device', ...args], { env });
  const stderr = await login.waitForStderr(/confirm the code: \S+/);
  const url = /open (\S+)\n/.exec(stderr)?.[1] ?? '';
  const user = alice(server);
  await approveDeviceLogin({
    verificationUri: url,
    verificationUriComplete: url,
    userCode: /confirm the code: (\S+)/.exec(stderr)?.[1] ?? '',
    email: user.email,
    password: user.password,
  });
  return login.done;
}

describe('examples/oidc-session', () => {
  it('the example is its own package that depends on @keyfob/core by name, its auth in under 40 lines', () => {
    const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(pkg.dependencies, { '@keyfob/core': '0.1.0' });
    assert.equal(pkg.type, 'module');
    const root = JSON.parse(readFileSync(join(DIR, '../../package.json'), 'utf8'));
    assert.ok(!JSON.stringify(root.workspaces).includes('examples'), 'not a workspace of the repository');
    // The promise of the example: the SDK's authentication fits in about 40 lines of code.
    const code = readFileSync(join(DIR, 'src/auth.js'), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*($|\/\/|\/\*\*)/.test(line));
    assert.ok(code.length <= 40, `src/auth.js has ${code.length} lines of code`);
    assert.match(readFileSync(join(DIR, 'README.md'), 'utf8'), new RegExp(`${code.length} lines`));
  });

  it('browser login in Chromium, then is-authenticated without network, userinfo, and get of the API', async () => {
    const env = freshUser(idp, browser.env);
    const login = startExample(DIR, BIN, ['login'], { env });
    const page = await browser.open(await browser.nextUrl());
    await signIn(page, alice(idp));
    assert.equal((await loopbackResult(page)).ok, true);
    const done = await login.done;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stderr, /Logged in as user-alice \(profile corporate\)/);
    assert.ok(existsSync(join(env.OIDC_SESSION_HOME as string, 'sessions')), 'the session is kept on disk');

    const tokenRequests = JSON.stringify(idp.stats.tokenRequests);
    const yes = await run(['is-authenticated'], env);
    assert.equal(yes.code, 0, yes.stderr);
    assert.equal(yes.stdout, 'true\n');
    assert.equal(JSON.stringify(idp.stats.tokenRequests), tokenRequests, 'a fresh cached token: no request');

    const who = await run(['userinfo'], env);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).email, alice(idp).email);

    const apiBefore = idp.stats.apiRequests;
    const hello = await run(['get', '/hello'], env);
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).sub, 'user-alice');
    assert.equal(idp.stats.apiRequests, apiBefore + 1);

    const out = await run(['logout'], env);
    assert.equal(out.code, 0, out.stderr);
    const after = await run(['is-authenticated'], env);
    assert.equal(after.code, 1);
    assert.equal(after.stdout, 'false\n');
    for (const result of [done, yes, who, hello, out, after]) {
      assert.doesNotMatch(result.stdout + result.stderr, /eyJ[\w-]+\.[\w-]+/, 'no token printed');
    }
  });

  it('an expired token is refreshed by the API client, once, and the call succeeds', async (t) => {
    const shortLived = await startDevIdp({ accessTokenTtl: 3 });
    t.after(() => shortLived.close());
    const env = freshUser(shortLived);
    const login = await deviceLogin(shortLived, env);
    assert.equal(login.code, 0, login.stderr);
    const first = await run(['get', '/hello'], env);
    assert.equal(first.code, 0, first.stderr);
    // Let every token of the session expire (3 s lifetimes), then use the SDK again.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    const refreshes = shortLived.stats.refreshRequests;
    const again = await run(['get', '/hello'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).sub, 'user-alice');
    assert.equal(
      shortLived.stats.refreshRequests,
      refreshes + 1,
      'one refresh, from the stored refresh token',
    );
    const yes = await run(['is-authenticated'], env);
    assert.equal(yes.code, 0, yes.stderr);
  });

  it('a token the API refuses (401) is refreshed once and the request retried once', async () => {
    const env = freshUser(idp);
    const login = await deviceLogin(idp, env);
    assert.equal(login.code, 0, login.stderr);
    const first = await run(['get', '/hello'], env);
    assert.equal(first.code, 0, first.stderr);
    // The stored tokens are still within their lifetime, but the API no longer takes them (as
    // after a key rotation or a revocation): only a 401 tells.
    const home = env.OIDC_SESSION_HOME as string;
    const session = readSession(home);
    for (const token of Object.values(session.access_tokens)) token.token = 'refused.by.the-api';
    writeSession(home, session);
    const [refreshes, apiRequests] = [idp.stats.refreshRequests, idp.stats.apiRequests];
    const again = await run(['get', '/hello'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).sub, 'user-alice');
    assert.equal(idp.stats.refreshRequests, refreshes + 1, 'one refresh');
    assert.equal(idp.stats.apiRequests, apiRequests + 2, 'the refused request and one retry');
  });

  it('the oauth2 provider with hand-given endpoints: device login, userinfo, get', async () => {
    const env = freshUser(idp);
    const login = await deviceLogin(idp, env, ['--profile', 'partner']);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /profile partner/);
    const yes = await run(['is-authenticated', '--profile', 'partner'], env);
    assert.equal(yes.code, 0, yes.stderr);
    const notCorporate = await run(['is-authenticated'], env);
    assert.equal(notCorporate.code, 1, 'the other profile is not logged in');
    const who = await run(['userinfo', '--profile', 'partner'], env);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).email, alice(idp).email);
    const hello = await run(['get', '/hello', '--profile', 'partner'], env);
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).sub, 'user-alice');
  });

  it('not logged in: exit 2 naming the login command, nothing written', async () => {
    const env = freshUser(idp);
    for (const args of [['userinfo'], ['get', '/hello']]) {
      const result = await run(args, env);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^oidc-session: .*run `oidc-session login --profile corporate`/m);
      assert.equal(result.stdout, '');
    }
    const no = await run(['is-authenticated'], env);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /run `oidc-session login --profile corporate`/);
    const home = env.OIDC_SESSION_HOME as string;
    assert.ok(!existsSync(join(home, 'sessions')) || readdirSync(join(home, 'sessions')).length === 0);
  });

  it('a server that answers 401 twice: one refresh, one retry, then a clear error (exit 2)', async () => {
    const env = freshUser(idp);
    const login = await deviceLogin(idp, env);
    assert.equal(login.code, 0, login.stderr);
    const hello = await run(['get', '/hello'], env);
    assert.equal(hello.code, 0, hello.stderr);
    // dev-idp's userinfo endpoint is on the API's origin and refuses the API's tokens (their
    // audience is the API) every time, refreshed or not.
    const refreshes = idp.stats.refreshRequests;
    const result = await run(['get', `${idp.issuer}/me`], env);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /^oidc-session: http:\/\/127\.0\.0\.1:\d+ refused the credential \(HTTP 401\); run `oidc-session login --profile corporate`$/m,
    );
    assert.equal(idp.stats.refreshRequests, refreshes + 1, 'exactly one refresh');
    assert.equal(result.stdout, '');
    assert.doesNotMatch(result.stderr, /eyJ/);
  });
});
