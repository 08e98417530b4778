/**
 * The control plane at `<issuer>/cp`: tenant discovery, RFC 8693 exchange, users/me and
 * assume_user, with real tokens from dev-idp itself, and the control plane's own key and issuer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '../src/index.js';
import {
  ACCESS_TOKEN_TYPE,
  call,
  cpJson,
  exchange,
  exchangedToken,
  machineToken,
  personApiToken,
  personTokens,
} from './control-plane-helpers.js';
import { ALICE, BOB, jwtPayload } from './helpers.js';

const ADMIN_KEY = 'dev-admin-key-not-secret';

describe('the control plane', () => {
  let idp: DevIdp;
  let alice: { idToken: string; accessToken: string };
  let bob: { idToken: string };
  before(async () => {
    idp = await startDevIdp();
    alice = await personTokens(idp, ALICE);
    bob = await personTokens(idp, BOB);
  });
  after(() => idp.close());

  test('its base is <issuer>/cp; the two tenants have their own regional listener with a path prefix', () => {
    assert.equal(idp.controlPlane, `${idp.issuer}/cp`);
    assert.equal(idp.adminApiKey, ADMIN_KEY);
    assert.deepEqual(
      idp.tenants.map((t) => [t.tenant_id, t.tenant_name, t.region]),
      [
        ['acme-eu', 'Acme Europe', 'eu-west-1'],
        ['acme-us', 'Acme US', 'us-east-1'],
      ],
    );
    const eu = new URL(idp.regions['eu-west-1'] ?? '');
    const us = new URL(idp.regions['us-east-1'] ?? '');
    assert.equal(eu.hostname, '127.0.0.1');
    assert.equal(eu.pathname, '/eu-west-1');
    assert.equal(us.pathname, '/us-east-1');
    assert.notEqual(eu.port, us.port, 'each region listens on its own port');
    assert.notEqual(eu.port, new URL(idp.issuer).port);
    assert.equal(idp.tenants[0]?.server_url, idp.regions['eu-west-1']);
  });

  describe('GET /v1/tenants', () => {
    test("alice's ID token: both tenants, none marked default", async () => {
      const reply = await call(`${idp.controlPlane}/v1/tenants`, alice.idToken);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.body, { tenants: idp.tenants.map((t) => ({ ...t })) });
    });

    test("bob's ID token: acme-eu only", async () => {
      const reply = await call(`${idp.controlPlane}/v1/tenants`, bob.idToken);
      assert.deepEqual(
        (reply.body.tenants as Array<{ tenant_id: string }>).map((t) => t.tenant_id),
        ['acme-eu'],
      );
    });

    test("alice's JWT access token for the API names her too", async () => {
      const reply = await call(`${idp.controlPlane}/v1/tenants`, await personApiToken(idp));
      assert.equal(reply.status, 200);
      assert.equal((reply.body.tenants as unknown[]).length, 2);
    });

    test('the machine client: both tenants, acme-us marked default', async () => {
      const reply = await call(`${idp.controlPlane}/v1/tenants`, await machineToken(idp));
      assert.equal(reply.status, 200);
      assert.deepEqual(
        (reply.body.tenants as Array<Record<string, unknown>>).map((t) => [t.tenant_id, t.default]),
        [
          ['acme-eu', undefined],
          ['acme-us', true],
        ],
      );
    });

    test('a control-plane token of its own lists its subject’s tenants', async () => {
      const token = await exchangedToken(idp, alice.idToken, 'acme-eu');
      const reply = await call(`${idp.controlPlane}/v1/tenants`, token);
      assert.equal(reply.status, 200);
      assert.equal((reply.body.tenants as unknown[]).length, 2);
    });

    test('no token, a Basic header, an opaque token, garbage: 401 with a Bearer challenge', async () => {
      const none = await call(`${idp.controlPlane}/v1/tenants`);
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      for (const [name, headers] of [
        ['basic', { authorization: 'Basic dXNlcjpwYXNz' }],
        ['opaque', { authorization: `Bearer ${alice.accessToken}` }],
        ['garbage', { authorization: 'Bearer a.b.c' }],
        [
          'alg none with dev-idp issuer',
          {
            authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${alice.idToken.split('.')[1]}.`,
          },
        ],
      ] as const) {
        const reply = await call(`${idp.controlPlane}/v1/tenants`, undefined, { headers });
        assert.equal(reply.status, 401, name);
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/, name);
      }
    });
  });

  describe('GET /v1/users/me', () => {
    test('an exchanged token: who, where, what kind and until when', async () => {
      const reply = await exchange(idp, alice.idToken, 'acme-eu');
      const token = String(reply.body.access_token);
      const me = await call(`${idp.controlPlane}/v1/users/me`, token);
      assert.equal(me.status, 200);
      assert.deepEqual(me.body, {
        id: 'user-alice',
        email: 'alice@example.com',
        tenant_id: 'acme-eu',
        tenant_name: 'Acme Europe',
        region: 'eu-west-1',
        kind: 'exchanged',
        expires_at: new Date(Number(jwtPayload(token).exp) * 1000).toISOString(),
      });
    });

    test("the machine's token: email null", async () => {
      const token = await exchangedToken(idp, await machineToken(idp), 'acme-us', {
        subject_token_type: ACCESS_TOKEN_TYPE,
      });
      const me = await call(`${idp.controlPlane}/v1/users/me`, token);
      assert.equal(me.body.id, 'keyfob-machine');
      assert.equal(me.body.email, null);
    });

    test("dev-idp's own tokens, none and garbage: 401 with a Bearer challenge", async () => {
      for (const token of [alice.idToken, await personApiToken(idp), undefined, 'x.y.z']) {
        const me = await call(`${idp.controlPlane}/v1/users/me`, token);
        assert.equal(me.status, 401);
        assert.match(me.headers.get('www-authenticate') ?? '', /^Bearer/);
      }
    });
  });

  describe('POST /v1/auth/assume_user', () => {
    /** `key` null sends no header. */
    const assume = (body: unknown, key: string | null = ADMIN_KEY) =>
      cpJson(idp, '/v1/auth/assume_user', body, key === null ? {} : { 'x-admin-api-key': key });

    test('the admin key and a member: a token of that user, kind assumed, acted on by admin', async () => {
      const reply = await assume({ tenant_id: 'acme-eu', user_id: 'user-bob' });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.deepEqual(Object.keys(reply.body), ['token']);
      const claims = jwtPayload(String(reply.body.token));
      assert.equal(claims.iss, `${idp.issuer}/cp`);
      assert.equal(claims.sub, 'user-bob');
      assert.equal(claims.email, 'bob@example.com');
      assert.equal(claims.tenant_id, 'acme-eu');
      assert.equal(claims.kind, 'assumed');
      assert.deepEqual(claims.act, { sub: 'admin' });
      assert.equal(Number(claims.exp) - Number(claims.iat), 300);
      const me = await call(`${idp.controlPlane}/v1/users/me`, String(reply.body.token));
      assert.equal(me.body.kind, 'assumed');
    });

    test('a wrong or missing key: 401 invalid_admin_key', async () => {
      for (const key of ['wrong', null, `${ADMIN_KEY}x`, '', ADMIN_KEY.toUpperCase()]) {
        const reply = await assume({ tenant_id: 'acme-eu', user_id: 'user-bob' }, key);
        assert.equal(reply.status, 401, String(key));
        assert.equal(reply.body.error, 'invalid_admin_key');
      }
    });

    test('an unknown tenant: 404 tenant_not_found; an unknown user or one outside it: 404 user_not_found', async () => {
      const noTenant = await assume({ tenant_id: 'acme-mars', user_id: 'user-bob' });
      assert.equal(noTenant.status, 404);
      assert.equal(noTenant.body.error, 'tenant_not_found');
      for (const body of [
        { tenant_id: 'acme-eu', user_id: 'user-nobody' },
        { tenant_id: 'acme-us', user_id: 'user-bob' },
      ]) {
        const reply = await assume(body);
        assert.equal(reply.status, 404, JSON.stringify(body));
        assert.equal(reply.body.error, 'user_not_found');
      }
    });

    test('malformed JSON, wrong types, not an object: 400, and it keeps serving', async () => {
      for (const body of [
        '{"tenant_id":',
        '[]',
        '"x"',
        JSON.stringify({ tenant_id: 1, user_id: 'user-bob' }),
      ]) {
        const reply = await assume(body);
        assert.equal(reply.status, 400, body);
      }
      assert.equal((await assume({ tenant_id: 'acme-eu', user_id: 'user-alice' })).status, 200);
    });
  });

  test('assumeUserTokenTtl and controlPlaneTokenTtl set the lifetimes; bad values are refused', async (t) => {
    const custom = await startDevIdp({ controlPlaneTokenTtl: 42, assumeUserTokenTtl: 7 });
    t.after(() => custom.close());
    const { idToken } = await personTokens(custom);
    const exchanged = await exchange(custom, idToken, 'acme-eu');
    assert.equal(exchanged.body.expires_in, 42);
    const claims = jwtPayload(String(exchanged.body.access_token));
    assert.equal(Number(claims.exp) - Number(claims.iat), 42);
    const assumed = await cpJson(
      custom,
      '/v1/auth/assume_user',
      { tenant_id: 'acme-eu', user_id: 'user-alice' },
      {
        'x-admin-api-key': ADMIN_KEY,
      },
    );
    const assumedClaims = jwtPayload(String(assumed.body.token));
    assert.equal(Number(assumedClaims.exp) - Number(assumedClaims.iat), 7);
    await assert.rejects(startDevIdp({ controlPlaneTokenTtl: 0 }), /controlPlaneTokenTtl/);
    await assert.rejects(startDevIdp({ assumeUserTokenTtl: 1.5 }), /assumeUserTokenTtl/);
    await assert.rejects(startDevIdp({ regionPorts: { 'mars-1': 0 } }), /no region mars-1/);
  });

  test('stats.controlPlane counts each request, and reset() clears it', async () => {
    idp.stats.reset();
    await call(`${idp.controlPlane}/v1/tenants`, alice.idToken);
    const token = await exchangedToken(idp, alice.idToken, 'acme-eu');
    await exchangedToken(idp, alice.idToken, 'acme-us');
    await exchange(idp, alice.idToken, 'acme-mars');
    await call(`${idp.controlPlane}/v1/users/me`, token);
    await cpJson(idp, '/v1/auth/assume_user', {}, { 'x-admin-api-key': 'wrong' });
    await call(`${idp.regions['eu-west-1']}/v1/hello`, token);
    const cp = idp.stats.controlPlane;
    assert.equal(cp.tenants, 1);
    assert.equal(cp.exchanges, 3);
    assert.deepEqual(cp.exchangesByTenant, { 'acme-eu': 1, 'acme-us': 1, unknown: 1 });
    assert.equal(cp.usersMe, 1);
    assert.equal(cp.assumeUser, 1);
    assert.deepEqual(cp.regionalRequests, { 'eu-west-1': 1 });
    assert.equal(idp.stats.tokenRequests.password ?? 0, 0, 'an exchange is no login');
    idp.stats.reset();
    assert.equal(idp.stats.controlPlane.exchanges, 0);
    assert.deepEqual(idp.stats.controlPlane.exchangesByTenant, {});
  });

  test('hostile input: a huge body, a wrong content type, unknown paths and methods get clean 4xx; it keeps serving', async () => {
    const huge = await call(`${idp.controlPlane}/v1/token`, undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `subject_token=${'a'.repeat(2 * 1024 * 1024)}`,
    });
    assert.equal(huge.status, 413);
    assert.equal(huge.body.error, 'invalid_request');
    const hugeJson = await call(`${idp.controlPlane}/v1/auth/assume_user`, undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-api-key': ADMIN_KEY },
      body: JSON.stringify({ tenant_id: 'acme-eu', user_id: 'x'.repeat(100_000) }),
    });
    assert.equal(hugeJson.status, 413);
    const json = await call(`${idp.controlPlane}/v1/token`, undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(json.status, 400);
    assert.equal(json.body.error, 'invalid_request');
    assert.equal((await call(`${idp.controlPlane}/v1/nothing`)).status, 404);
    assert.equal((await call(`${idp.controlPlane}/v1/token`)).status, 405);
    assert.equal((await call(`${idp.controlPlane}/v1/tenants`, undefined, { method: 'DELETE' })).status, 405);
    // Still serving.
    assert.equal((await exchange(idp, alice.idToken, 'acme-eu')).status, 200);
  });
});
