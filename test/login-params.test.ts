/**
 * What a login sends to the provider besides the flow itself: a fixed loopback port
 * (`redirect_port`) for providers that match redirect URIs exactly, and RFC 8707 resource
 * indicators at authorization (§2.1), against a real dev-idp and a real Chromium.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, keyfobConfig, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from './support/browser.js';
import { alice, loginWithDevice, makeHome, runCli, startCli, type TestHome } from './support/cli.js';

let idp: DevIdp;
let browser: TestBrowser;
let fixedPort: number;

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  fixedPort = await freePort();
  idp = await startDevIdp({ fixedRedirectPort: fixedPort });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await idp?.close();
});

/** A home whose default provider `dev` uses `clientId` and has these extra lines. */
function homeWithDev(clientId: string, extraLines: string[]): TestHome {
  const home = makeHome(idp);
  const dev = [
    '  dev:',
    '    type: oidc',
    `    issuer: ${idp.issuer}`,
    `    client_id: ${clientId}`,
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

/** `keyfob login --browser` with Chromium playing the person; resolves once it ended. */
async function browserLogin(home: TestHome) {
  const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
  const page = await browser.open(await browser.nextUrl());
  await signIn(page, alice(idp));
  const shown = await loopbackResult(page);
  await page.close();
  return { result: await run.done, shown };
}

/** `token --json`, and whether dev-idp's API takes the token. */
async function tokenWorksAtApi(home: TestHome): Promise<{ aud: unknown }> {
  const token = await runCli(['token', '--json'], { env: home.env });
  assert.equal(token.code, 0, token.stderr);
  const { access_token } = JSON.parse(token.stdout) as { access_token: string };
  const api = await fetch(`${idp.api}/hello`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(api.status, 200, 'the API accepts the token');
  const payload = JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString()) as {
    aud: unknown;
  };
  return payload;
}

describe('redirect_port: a provider that matches the redirect URI exactly', () => {
  it('logs in when redirect_port names the registered port', async () => {
    const home = homeWithDev(idp.clients.fixedPort.client_id, [`    redirect_port: ${fixedPort}`]);
    const { result, shown } = await browserLogin(home);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(shown.ok, true, shown.text);
    assert.ok(result.stderr.includes(`http://127.0.0.1:${fixedPort}/start/`), 'the loopback used the port');
    const whoami = await runCli(['whoami', '--json'], { env: home.env });
    assert.equal((JSON.parse(whoami.stdout) as { sub: string }).sub, alice(idp).sub);
  });

  it('without redirect_port the provider refuses the random port, in its own words', async () => {
    const home = homeWithDev(idp.clients.fixedPort.client_id, []);
    const run = startCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
    const page = await browser.open(await browser.nextUrl());
    await page.waitForSelector('text=redirect_uri did not match', { timeout: 15_000 });
    assert.match((await page.textContent('body')) ?? '', /invalid_redirect_uri/);
    await page.close();
    run.child.kill('SIGTERM');
    await run.done;
  });

  it('a busy redirect_port fails the login naming the port', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(fixedPort, '127.0.0.1', resolve));
    try {
      const home = homeWithDev(idp.clients.fixedPort.client_id, [`    redirect_port: ${fixedPort}`]);
      const result = await runCli(['login', '--browser'], { env: { ...home.env, ...browser.env } });
      assert.equal(result.code, 1);
      assert.match(result.stderr, new RegExp(`port ${fixedPort} \\(redirect_port\\): it is already in use`));
    } finally {
      holder.close();
    }
  });
});

describe('resource indicators at authorization (RFC 8707 §2.1)', () => {
  it("the browser login's authorization request carries the provider's resource; its tokens work", async () => {
    const home = makeHome(idp);
    idp.stats.reset();
    const { result } = await browserLogin(home);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(idp.stats.authorizationRequests, [{ endpoint: 'authorization', resource: [idp.api] }]);
    assert.equal((await tokenWorksAtApi(home)).aud, idp.api);
    const whoami = await runCli(['whoami', '--json'], { env: home.env });
    assert.equal(whoami.code, 0, whoami.stderr);
  });

  it('the device authorization request carries it too', async () => {
    const home = makeHome(idp);
    idp.stats.reset();
    const result = await loginWithDevice(idp, home);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(idp.stats.authorizationRequests, [
      { endpoint: 'device_authorization', resource: [idp.api] },
    ]);
    assert.equal((await tokenWorksAtApi(home)).aud, idp.api);
  });

  it('authorization_params.resource is accepted and sent at authorization', async () => {
    const home = homeWithDev(idp.clients.cli.client_id, [
      '    authorization_params:',
      `      resource: ${idp.api}`,
    ]);
    idp.stats.reset();
    const { result } = await browserLogin(home);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(idp.stats.authorizationRequests, [{ endpoint: 'authorization', resource: [idp.api] }]);
    const token = await runCli(['token', '--resource', idp.api, '--json'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
  });
});
