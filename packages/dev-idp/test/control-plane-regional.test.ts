/**
 * The regional APIs: each region on its own listener under `/<region>`, accepting only
 * control-plane tokens of that region's tenants, as Bearer or as the cookie `ks_uat`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { makeTestCa } from '../../../test/support/tls.js';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { b64, call, cpJson, exchangedToken, personApiToken, personTokens } from './control-plane-helpers.js';
import { ALICE, jwtPayload } from './helpers.js';

describe('the regional APIs', () => {
  let idp: DevIdp;
  let eu: string;
  let us: string;
  let aliceIdToken: string;
  let euToken: string;
  before(async () => {
    idp = await startDevIdp();
    eu = idp.regions['eu-west-1'] ?? '';
    us = idp.regions['us-east-1'] ?? '';
    aliceIdToken = (await personTokens(idp, ALICE)).idToken;
    euToken = await exchangedToken(idp, aliceIdToken, 'acme-eu');
  });
  after(() => idp.close());

  test('hello with an exchanged token of a tenant of this region', async () => {
    const reply = await call(`${eu}/v1/hello`, euToken);
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, {
      sub: 'user-alice',
      email: 'alice@example.com',
      tenant_id: 'acme-eu',
      region: 'eu-west-1',
      scope: 'tenant:read tenant:write',
      kind: 'exchanged',
    });
  });

  test('the cookie ks_uat is accepted as the token', async () => {
    const reply = await call(`${eu}/v1/hello`, undefined, {
      headers: { cookie: `theme=dark; ks_uat=${euToken}` },
    });
    assert.equal(reply.status, 200);
    assert.equal(reply.body.tenant_id, 'acme-eu');
  });

  test('an assume_user token of a tenant of this region is accepted', async () => {
    const assumed = await cpJson(
      idp,
      '/v1/auth/assume_user',
      { tenant_id: 'acme-us', user_id: 'user-alice' },
      { 'x-admin-api-key': idp.adminApiKey },
    );
    const reply = await call(`${us}/v1/hello`, String(assumed.body.token));
    assert.equal(reply.status, 200);
    assert.equal(reply.body.kind, 'assumed');
  });

  test('items a page at a time: every item once, in order, `next` null on the last page; bad pages 400', async () => {
    const ids: string[] = [];
    let page: number | null = 1;
    let pages = 0;
    while (page !== null) {
      const reply = await call(`${eu}/v1/items?page=${page}&per_page=7`, euToken);
      assert.equal(reply.status, 200);
      assert.equal(reply.body.page, page);
      ids.push(...(reply.body.items as Array<{ id: string }>).map((item) => item.id));
      page = reply.body.next as number | null;
      pages++;
    }
    assert.equal(pages, 5, '30 items, 7 a page');
    assert.deepEqual(
      ids,
      Array.from({ length: 30 }, (_, i) => `acme-eu-item-${i + 1}`),
    );
    const first = await call(`${eu}/v1/items`, euToken);
    assert.equal((first.body.items as unknown[]).length, 5, '5 a page by default');
    assert.equal(first.body.next, 2);
    for (const bad of ['page=0', 'page=x', 'per_page=101', 'page=-1']) {
      const reply = await call(`${eu}/v1/items?${bad}`, euToken);
      assert.equal(reply.status, 400, bad);
      assert.equal(reply.body.error, 'invalid_request');
    }
    const anonymous = await call(`${eu}/v1/items`);
    assert.equal(anonymous.status, 401, 'only with a token of the tenant');
  });

  test("the other region's listener refuses the token: 401 invalid_token", async () => {
    const reply = await call(`${us}/v1/hello`, euToken);
    assert.equal(reply.status, 401);
    assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);
    assert.match(String(reply.body.error_description), /us-east-1/);
    // Nor does the EU path on the US listener serve anything.
    const cross = await call(`${new URL(us).origin}/eu-west-1/v1/hello`, euToken);
    assert.equal(cross.status, 404);
  });

  test("dev-idp's own tokens (ID token, API access token) are refused", async () => {
    for (const token of [aliceIdToken, await personApiToken(idp)]) {
      const reply = await call(`${eu}/v1/hello`, token);
      assert.equal(reply.status, 401);
      assert.match(reply.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  test('no token: 401 with a bare Bearer challenge; forged tokens: 401 invalid_token', async () => {
    const none = await call(`${eu}/v1/hello`);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="eu-west-1"');
    const [h, , s] = euToken.split('.');
    const claims = jwtPayload(euToken);
    for (const forged of [
      `${h}.${b64({ ...claims, scope: 'tenant:admin' })}.${s}`,
      `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...claims, scope: 'tenant:admin' })}.`,
      `${h}.${b64({ ...claims, tenant_id: 'acme-us', region: 'us-east-1' })}.${s}`,
    ]) {
      const reply = await call(`${eu}/v1/admin`, forged);
      assert.equal(reply.status, 401);
      assert.match(reply.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  test('admin needs tenant:admin: 403 naming the scope, then 200 with it', async () => {
    const denied = await call(`${eu}/v1/admin`, euToken);
    assert.equal(denied.status, 403);
    assert.equal(
      denied.headers.get('www-authenticate'),
      'Bearer realm="eu-west-1", error="insufficient_scope", error_description="this endpoint needs scope tenant:admin", scope="tenant:admin"',
    );
    assert.match(JSON.stringify(denied.body), /tenant:admin/);
    const adminToken = await exchangedToken(idp, aliceIdToken, 'acme-eu', {
      scope: 'tenant:read tenant:admin',
    });
    const allowed = await call(`${eu}/v1/admin`, adminToken);
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.admin, true);
  });

  test('echo-auth says what arrived, never the values', async () => {
    const reply = await call(`${eu}/v1/echo-auth`, euToken, { headers: { cookie: 'a=b' } });
    assert.deepEqual(reply.body, { authorization_present: true, cookie_present: true });
    const bare = await call(`${eu}/v1/echo-auth`);
    assert.deepEqual(bare.body, { authorization_present: false, cookie_present: false });
  });

  test('redirect answers the asked status and Location; refuses what is not http(s)', async () => {
    const target = 'http://0.0.0.0:9/elsewhere';
    const reply = await call(`${eu}/v1/redirect?to=${encodeURIComponent(target)}&status=307`);
    assert.equal(reply.status, 307);
    assert.equal(reply.headers.get('location'), target);
    assert.equal((await call(`${eu}/v1/redirect?to=javascript:alert(1)`)).status, 400);
  });

  test('a path outside /<region>/ is 404', async () => {
    const origin = new URL(eu).origin;
    for (const path of ['/', '/eu-west-1', '/eu-west-10/v1/hello', '/api/hello', '/cp/v1/tenants']) {
      assert.equal((await call(`${origin}${path}`, euToken)).status, 404, path);
    }
  });

  test('an expired control-plane token is refused', async (t) => {
    // Long enough to be used once on a loaded machine; then wait past its own `exp`.
    const short = await startDevIdp({ controlPlaneTokenTtl: 4 });
    t.after(() => short.close());
    const { idToken } = await personTokens(short);
    const token = await exchangedToken(short, idToken, 'acme-eu');
    assert.equal((await call(`${short.regions['eu-west-1']}/v1/hello`, token)).status, 200);
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      exp: number;
    };
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 + 1100 - Date.now())));
    const reply = await call(`${short.regions['eu-west-1']}/v1/hello`, token);
    assert.equal(reply.status, 401);
    assert.match(reply.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  test("another dev-idp's control-plane token is refused (its own key)", async (t) => {
    const other = await startDevIdp();
    t.after(() => other.close());
    const { idToken } = await personTokens(other);
    const token = await exchangedToken(other, idToken, 'acme-eu');
    assert.equal((await call(`${eu}/v1/hello`, token)).status, 401);
  });

  test('stopRegion makes a regional server not answer; startRegion brings it back on the same port', async () => {
    await idp.stopRegion('eu-west-1');
    // A kept-alive connection from before may first fail as a closed socket; a new one is refused.
    await assert.rejects(fetch(`${eu}/v1/echo-auth`));
    await assert.rejects(fetch(`${eu}/v1/echo-auth`), (error: Error & { cause?: { code?: string } }) => {
      assert.equal(error.cause?.code, 'ECONNREFUSED');
      return true;
    });
    // The other region and the control plane still answer.
    assert.equal((await call(`${us}/v1/echo-auth`)).status, 200);
    assert.equal((await call(`${idp.controlPlane}/v1/users/me`, euToken)).status, 200);
    await idp.startRegion('eu-west-1');
    assert.equal((await call(`${eu}/v1/hello`, euToken)).status, 200);
    await assert.rejects(idp.stopRegion('mars-1'), /no region mars-1/);
  });
});

test('regionPorts puts a region on the port asked for', async (t) => {
  const probe = await startDevIdp();
  const port = Number(new URL(probe.regions['us-east-1'] ?? '').port);
  await probe.close();
  const idp = await startDevIdp({ regionPorts: { 'us-east-1': port } });
  t.after(() => idp.close());
  assert.equal(idp.regions['us-east-1'], `http://127.0.0.1:${port}/us-east-1`);
  assert.equal(idp.tenants[1]?.server_url, `http://127.0.0.1:${port}/us-east-1`);
});

test('with tls, each region serves HTTPS too, and its server_url says https', async (t) => {
  const ca = makeTestCa();
  t.after(() => ca.remove());
  const idp = await startDevIdp({ tls: { key: ca.key, cert: ca.cert } });
  t.after(() => idp.close());
  const eu = idp.regions['eu-west-1'] ?? '';
  assert.match(eu, /^https:\/\/127\.0\.0\.1:\d+\/eu-west-1$/);
  assert.equal(idp.tenants[0]?.server_url, eu);
  const status = await new Promise<number>((resolve, reject) => {
    httpsGet(`${eu}/v1/echo-auth`, { ca: readFileSync(ca.caFile) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  assert.equal(status, 200);
});
