/**
 * A provider's `credential` (DESIGN.md, Integrators): the token in a header or cookie the
 * vendor's API reads instead of `Authorization: Bearer`; never across origins or out of its path
 * prefix on a redirect, exactly like Authorization; refused config naming the key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, InvalidConfig, type LoginInteraction } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';

let idp: DevIdp;
const cleanup: Array<() => Promise<void> | void> = [];
before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await idp?.close();
});

const nobody: LoginInteraction = {
  showAuthorizationUrl: () => assert.fail('no browser'),
  showDeviceCode: () => assert.fail('no device code'),
  openBrowser: async () => assert.fail('no browser'),
  waiting: () => () => {},
  notice() {},
};
const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

/** A server on 127.0.0.1 that records every request; `route` answers it. */
async function recorder(route: (url: string) => { status: number; location?: string }) {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const answer = route(req.url ?? '');
    res.writeHead(answer.status, answer.location ? { location: answer.location } : {});
    res.end('ok');
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { seen, origin };
}

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-credential-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function pwProvider(extra: Record<string, unknown>) {
  return {
    type: 'password',
    issuer: idp.issuer,
    client_id: idp.clients.cli.client_id,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    ...extra,
  };
}

async function loggedIn(credential: unknown, apiBase: string) {
  const kf = createKeyfob({
    home: home(),
    environment: {},
    config: { providers: { pw: pwProvider({ api_base: apiBase, credential }) } },
  });
  await kf.login({ provider: 'pw', ...ALICE, interaction: nobody });
  cleanup.push(() => kf.close());
  return { kf, token: (await kf.getToken()).access_token };
}

describe('credential: { cookie } and { header }', () => {
  it('a cookie credential is merged with the caller’s own Cookie; no Authorization is sent', async () => {
    const api = await recorder(() => ({ status: 200 }));
    const { kf, token } = await loggedIn({ cookie: 'ks_uat' }, api.origin);
    const response = await kf.fetch(`${api.origin}/v1/things`, { headers: { cookie: 'theme=dark' } });
    assert.equal(response.status, 200);
    assert.equal(api.seen[0]?.headers.cookie, `theme=dark; ks_uat=${token}`);
    assert.equal(api.seen[0]?.headers.authorization, undefined);
  });

  it('a header credential goes in that header only', async () => {
    const api = await recorder(() => ({ status: 200 }));
    const { kf, token } = await loggedIn({ header: 'X-Api-Token' }, api.origin);
    await (await kf.fetch(`${api.origin}/v1/things`)).text();
    assert.equal(api.seen[0]?.headers['x-api-token'], token);
    assert.equal(api.seen[0]?.headers.authorization, undefined);
    assert.ok(!api.seen[0]?.url.includes(token), 'never in the URL');
  });

  for (const credential of [{ cookie: 'ks_uat' }, { header: 'X-Api-Token' }]) {
    it(`a redirect to another origin gets none of ${JSON.stringify(credential)} (hostile server)`, async () => {
      const hostile = await recorder(() => ({ status: 200 }));
      const api = await recorder((url) =>
        url === '/same'
          ? { status: 302, location: '/landing' }
          : url === '/away'
            ? { status: 302, location: `${hostile.origin}/steal` }
            : { status: 200 },
      );
      const { kf, token } = await loggedIn(credential, api.origin);
      // Inside the scope the credential follows the redirect, as Authorization does.
      await (await kf.fetch(`${api.origin}/same`)).text();
      const landing = api.seen.find((s) => s.url === '/landing');
      assert.ok(JSON.stringify(landing?.headers).includes(token), 'kept on a same-origin hop');
      const response = await kf.fetch(`${api.origin}/away`, {
        headers: { cookie: 'mine=1', 'x-api-token': 'caller' },
      });
      assert.equal(response.status, 200);
      assert.equal(hostile.seen.length, 1, 'the redirect was followed');
      const received = JSON.stringify(hostile.seen);
      assert.ok(!received.includes(token), 'no token reached the other origin');
      assert.equal(hostile.seen[0]?.headers.cookie, undefined);
      assert.equal(hostile.seen[0]?.headers['x-api-token'], undefined);
    });
  }

  it("dev-idp's regional API takes the exchanged token as the ks_uat cookie", async () => {
    const kf = createKeyfob({
      home: home(),
      environment: {},
      config: {
        providers: {
          pw: pwProvider({}),
          cloud: {
            type: 'exchange',
            login: 'pw',
            control_plane: idp.controlPlane,
            credential: { cookie: 'ks_uat' },
          },
        },
      },
    });
    cleanup.push(() => kf.close());
    await kf.login({ provider: 'cloud', ...ALICE, tenant: 'acme-eu', interaction: nobody });
    const hello = await kf.fetch('/v1/hello');
    assert.equal(hello.status, 200, await hello.clone().text());
    const body = (await hello.json()) as { tenant_id: string };
    assert.equal(body.tenant_id, 'acme-eu');
  });

  it('refuses a credential setting that is not bearer, a usable header, or a cookie name', async () => {
    const bad: unknown[] = [
      { header: 'Host' },
      { header: 'Cookie' },
      { header: 'Content-Length' },
      { header: 'Bad Header' },
      { cookie: 'a;b' },
      { query: 'token' },
      'basic',
      { header: 'X-A', cookie: 'b' },
    ];
    for (const credential of bad) {
      const kf = createKeyfob({
        home: home(),
        environment: {},
        config: { providers: { pw: pwProvider({ credential }) } },
      });
      await assert.rejects(kf.config(), (error: unknown) => {
        assert.ok(error instanceof InvalidConfig, `${JSON.stringify(credential)}: ${String(error)}`);
        assert.match(error.message, /providers\.pw\.credential/);
        return true;
      });
    }
  });
});
