/**
 * The control plane at `<issuer>/cp`: tenant discovery, RFC 8693 exchange, users/me and
 * assume_user, with real tokens from dev-idp itself, and the control plane's own key and issuer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { type DevIdp, startDevIdp } from '../src/index.js';
import {
  ACCESS_TOKEN_TYPE,
  call,
  cpJson,
  EXCHANGE_GRANT,
  exchange,
  exchangedToken,
  ID_TOKEN_TYPE,
  machineToken,
  personApiToken,
  personTokens,
  type Reply,
} from './control-plane-helpers.js';
import { ALICE, BOB, jwtHeader, jwtPayload } from './helpers.js';

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
      ] as const) {
        const reply = await call(`${idp.controlPlane}/v1/tenants`, undefined, { headers });
        assert.equal(reply.status, 401, name);
        assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/, name);
      }
    });
  });

  describe('POST /v1/token (RFC 8693)', () => {
    test('an ID token for a tenant of hers: a control-plane token with its own issuer and key', async () => {
      const reply = await exchange(idp, alice.idToken, 'acme-us');
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const { access_token: token, ...rest } = reply.body;
      assert.deepEqual(rest, {
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'tenant:read tenant:write',
        tenant: { ...idp.tenants[1] },
      });
      const header = jwtHeader(String(token));
      assert.equal(header.alg, 'ES256');
      assert.equal(header.typ, 'at+jwt');
      const jwks = (await (await fetch(`${idp.controlPlane}/.well-known/jwks.json`)).json()) as {
        keys: Array<Record<string, unknown>>;
      };
      const { payload } = await jwtVerify(String(token), createLocalJWKSet(jwks as never), {
        issuer: `${idp.issuer}/cp`,
      });
      assert.equal(payload.sub, 'user-alice');
      assert.equal(payload.email, 'alice@example.com');
      assert.equal(payload.tenant_id, 'acme-us');
      assert.equal(payload.region, 'us-east-1');
      assert.equal(payload.scope, 'tenant:read tenant:write');
      assert.equal(payload.kind, 'exchanged');
      assert.equal(Number(payload.exp) - Number(payload.iat), 300);
      assert.equal(typeof payload.jti, 'string');
      // Never dev-idp's own key: its JWKS does not verify the token.
      const idpJwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as never;
      await assert.rejects(jwtVerify(String(token), createLocalJWKSet(idpJwks)));
    });

    test('a JWT access token (subject_token_type access_token) and a client_id that is ignored', async () => {
      const reply = await exchange(idp, await personApiToken(idp), 'acme-eu', {
        subject_token_type: ACCESS_TOKEN_TYPE,
        client_id: 'whoever',
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      assert.equal(jwtPayload(String(reply.body.access_token)).sub, 'user-alice');
    });

    test('the machine client’s access token: sub is its client id, no email', async () => {
      const reply = await exchange(idp, await machineToken(idp), 'acme-us', {
        subject_token_type: ACCESS_TOKEN_TYPE,
      });
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const claims = jwtPayload(String(reply.body.access_token));
      assert.equal(claims.sub, 'keyfob-machine');
      assert.equal(claims.email, undefined);
    });

    test('requested_token_type absent means access_token; scope tenant:admin only when alice asks', async () => {
      const plain = await exchange(idp, alice.idToken, 'acme-eu', { requested_token_type: '' });
      assert.equal(plain.status, 400, 'an empty requested_token_type is not absent');
      const form = {
        grant_type: EXCHANGE_GRANT,
        subject_token: alice.idToken,
        subject_token_type: ID_TOKEN_TYPE,
        audience: 'acme-eu',
        scope: 'tenant:read tenant:admin',
      };
      const asked = await call(`${idp.controlPlane}/v1/token`, undefined, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      });
      assert.equal(asked.status, 200, JSON.stringify(asked.body));
      assert.equal(asked.body.scope, 'tenant:read tenant:admin');
      assert.equal(jwtPayload(String(asked.body.access_token)).scope, 'tenant:read tenant:admin');
      const bobAsks = await exchange(idp, bob.idToken, 'acme-eu', { scope: 'tenant:admin' });
      assert.equal(bobAsks.status, 400);
      assert.equal(bobAsks.body.error, 'invalid_scope');
      const unknown = await exchange(idp, alice.idToken, 'acme-eu', { scope: 'tenant:read root' });
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error, 'invalid_scope');
    });

    test('a tenant she is not in, or no such tenant: invalid_target naming it', async () => {
      for (const [token, audience] of [
        [bob.idToken, 'acme-us'],
        [alice.idToken, 'acme-mars'],
      ] as const) {
        const reply = await exchange(idp, token, audience);
        assert.equal(reply.status, 400);
        assert.equal(reply.body.error, 'invalid_target');
        assert.match(String(reply.body.error_description), new RegExp(audience));
      }
    });

    test('a bad, tampered, foreign or none-alg subject token: invalid_grant', async () => {
      const [h, p, s] = alice.idToken.split('.');
      const claims = jwtPayload(alice.idToken);
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const cases: Array<[string, string]> = [
        ['garbage', 'not-a-token'],
        ['tampered', `${h}.${b64({ ...claims, sub: 'user-bob', email: 'bob@example.com' })}.${s}`],
        ['alg none with dev-idp issuer', `${b64({ alg: 'none' })}.${p}.`],
        ['foreign issuer', `${h}.${b64({ ...claims, iss: 'https://evil.example' })}.${s}`],
        ['an opaque access token', alice.accessToken],
      ];
      for (const [name, token] of cases) {
        const reply = await exchange(idp, token, 'acme-eu');
        assert.equal(reply.status, 400, name);
        assert.equal(reply.body.error, 'invalid_grant', `${name}: ${JSON.stringify(reply.body)}`);
      }
    });

    test('a control-plane token as subject token: invalid_grant', async () => {
      const token = await exchangedToken(idp, alice.idToken, 'acme-eu');
      const reply = await exchange(idp, token, 'acme-us', { subject_token_type: ACCESS_TOKEN_TYPE });
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'invalid_grant');
    });

    test('type and token disagree, parameters missing or twice: invalid_request', async () => {
      const api = await personApiToken(idp);
      const cases: Array<[string, Reply]> = [
        [
          'ID token as access_token',
          await exchange(idp, alice.idToken, 'acme-eu', { subject_token_type: ACCESS_TOKEN_TYPE }),
        ],
        ['access token as id_token', await exchange(idp, api, 'acme-eu')],
        ['unknown type', await exchange(idp, alice.idToken, 'acme-eu', { subject_token_type: 'urn:x' })],
        [
          'jwt requested',
          await exchange(idp, alice.idToken, 'acme-eu', {
            requested_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          }),
        ],
        ['no audience', await exchange(idp, alice.idToken, '')],
        ['no subject token', await exchange(idp, '', 'acme-eu')],
      ];
      const twice = new URLSearchParams({
        grant_type: EXCHANGE_GRANT,
        subject_token: alice.idToken,
        subject_token_type: ID_TOKEN_TYPE,
        audience: 'acme-eu',
      });
      twice.append('audience', 'acme-us');
      cases.push([
        'audience twice',
        await call(`${idp.controlPlane}/v1/token`, undefined, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: twice.toString(),
        }),
      ]);
      for (const [name, reply] of cases) {
        assert.equal(reply.status, 400, name);
        assert.equal(reply.body.error, 'invalid_request', `${name}: ${JSON.stringify(reply.body)}`);
        assert.equal(typeof reply.body.error_description, 'string', name);
      }
    });

    test('another grant type: unsupported_grant_type', async () => {
      const reply = await exchange(idp, alice.idToken, 'acme-eu', { grant_type: 'password' });
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'unsupported_grant_type');
    });

    test('an expired ID token: invalid_grant', async (t) => {
      const short = await startDevIdp({ idTokenTtl: 1 });
      t.after(() => short.close());
      const { idToken } = await personTokens(short);
      await new Promise((r) => setTimeout(r, 2100));
      const reply = await exchange(short, idToken, 'acme-eu');
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'invalid_grant');
      assert.match(String(reply.body.error_description), /expired/);
    });

    test('an ID token of another dev-idp (another key, another issuer): invalid_grant', async (t) => {
      const other = await startDevIdp();
      t.after(() => other.close());
      const { idToken } = await personTokens(other);
      const reply = await exchange(idp, idToken, 'acme-eu');
      assert.equal(reply.body.error, 'invalid_grant');
    });

    test('after a key rotation that drops the old key, tokens signed before are refused', async (t) => {
      const rotating = await startDevIdp();
      t.after(() => rotating.close());
      const before = await personTokens(rotating);
      await rotating.rotateKeys({ keepOld: false });
      assert.equal((await exchange(rotating, before.idToken, 'acme-eu')).body.error, 'invalid_grant');
      const after = await personTokens(rotating);
      assert.equal((await exchange(rotating, after.idToken, 'acme-eu')).status, 200);
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
