import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '../src/index.js';
import {
  ALICE,
  BOB,
  browserLogin,
  deviceLogin,
  getWithToken,
  introspect,
  jwtHeader,
  jwtPayload,
  refresh,
} from './helpers.js';

/** Calls userinfo with a token. */
function userinfo(idp: DevIdp, token: string) {
  return getWithToken(`${idp.issuer}/me`, token);
}

function isJwt(token: unknown): boolean {
  return typeof token === 'string' && token.split('.').length === 3;
}

describe('resources: one login serves userinfo and the API', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  test('code exchange without resource → opaque token for userinfo; refresh with resource → JWT for the API', async (t) => {
    const tokens = await browserLogin(t, idp, { scope: 'openid profile email offline_access api:read' });
    assert.equal(isJwt(tokens.access_token), false, 'the login token is opaque');
    const me = await userinfo(idp, String(tokens.access_token));
    assert.equal(me.status, 200);
    assert.equal(me.body.sub, ALICE.sub);
    assert.equal(me.body.email, ALICE.email);
    assert.equal((await getWithToken(`${idp.api}/hello`, String(tokens.access_token))).status, 401);

    const forApi = await refresh(idp, String(tokens.refresh_token), { resource: idp.api });
    assert.equal(forApi.status, 200, JSON.stringify(forApi.body));
    assert.ok(isJwt(forApi.body.access_token));
    assert.equal(forApi.body.scope, 'api:read');
    const claims = jwtPayload(String(forApi.body.access_token));
    assert.equal(claims.aud, idp.api);
    assert.equal(claims.iss, idp.issuer);
    assert.equal(claims.sub, ALICE.sub);
    assert.equal(claims.client_id, idp.clients.cli.client_id);
    assert.equal(claims.scope, 'api:read');
    assert.equal(jwtHeader(String(forApi.body.access_token)).typ, 'at+jwt');
    const hello = await getWithToken(`${idp.api}/hello`, String(forApi.body.access_token));
    assert.equal(hello.status, 200);
    assert.deepEqual(hello.body, {
      sub: ALICE.sub,
      client_id: 'keyfob-cli',
      scope: 'api:read',
      aud: idp.api,
    });
    const refused = await userinfo(idp, String(forApi.body.access_token));
    assert.equal(refused.status, 401, 'userinfo refuses a token with an audience');

    const again = await refresh(idp, String(forApi.body.refresh_token));
    assert.equal(again.status, 200);
    assert.equal(isJwt(again.body.access_token), false);
    assert.equal((await userinfo(idp, String(again.body.access_token))).status, 200);
  });

  test('a login without API scopes still gets an API token (no scope) by refresh with resource', async (t) => {
    const tokens = await browserLogin(t, idp);
    const forApi = await refresh(idp, String(tokens.refresh_token), { resource: idp.api });
    assert.equal(forApi.status, 200, JSON.stringify(forApi.body));
    const claims = jwtPayload(String(forApi.body.access_token));
    assert.equal(claims.aud, idp.api);
    assert.equal(claims.scope, undefined);
    assert.equal((await getWithToken(`${idp.api}/hello`, String(forApi.body.access_token))).status, 200);
    const admin = await getWithToken(`${idp.api}/admin`, String(forApi.body.access_token));
    assert.equal(admin.status, 403);
  });

  test('refresh may narrow the scope; asking for a scope the login did not get is invalid_scope', async (t) => {
    const tokens = await browserLogin(t, idp, { scope: 'openid offline_access api:read api:admin' });
    const narrow = await refresh(idp, String(tokens.refresh_token), { resource: idp.api, scope: 'api:read' });
    assert.equal(narrow.status, 200, JSON.stringify(narrow.body));
    assert.equal(jwtPayload(String(narrow.body.access_token)).scope, 'api:read');
    const wider = await refresh(idp, String(narrow.body.refresh_token), {
      resource: idp.api,
      scope: 'api:write',
    });
    assert.equal(wider.status, 400);
    assert.equal(wider.body.error, 'invalid_scope');
  });

  test('an unknown resource is invalid_target', async (t) => {
    const tokens = await browserLogin(t, idp);
    const reply = await refresh(idp, String(tokens.refresh_token), {
      resource: 'https://elsewhere.example/api',
    });
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error, 'invalid_target');
  });

  test('the device flow behaves the same', async () => {
    const tokens = await deviceLogin(idp, 'openid profile email offline_access api:read');
    assert.equal(isJwt(tokens.access_token), false);
    assert.equal((await userinfo(idp, String(tokens.access_token))).status, 200);
    const forApi = await refresh(idp, String(tokens.refresh_token), { resource: idp.api });
    assert.equal(forApi.status, 200, JSON.stringify(forApi.body));
    assert.equal(jwtPayload(String(forApi.body.access_token)).aud, idp.api);
    assert.equal((await getWithToken(`${idp.api}/hello`, String(forApi.body.access_token))).status, 200);
  });

  test('introspection describes a refresh token; revocation kills it', async (t) => {
    const tokens = await browserLogin(t, idp);
    const refreshToken = String(tokens.refresh_token);
    const initial = await introspect(idp, refreshToken);
    assert.equal(initial.active, true);
    assert.equal(initial.sub, ALICE.sub);
    assert.equal(initial.client_id, idp.clients.cli.client_id);
    const revocations = idp.stats.revocations;
    const revoked = await fetch(`${idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: idp.clients.cli.client_id, token: refreshToken }),
    });
    assert.equal(revoked.status, 200);
    assert.equal(idp.stats.revocations, revocations + 1);
    assert.equal((await introspect(idp, refreshToken)).active, false);
    const reply = await refresh(idp, refreshToken);
    assert.equal(reply.body.error, 'invalid_grant');
  });
});

describe('refresh token rotation and reuse detection (grace window off)', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  test('each refresh rotates; reusing a spent token is invalid_grant and revokes the whole grant', async (t) => {
    const tokens = await browserLogin(t, idp);
    const first = String(tokens.refresh_token);
    const rotated = await refresh(idp, first);
    assert.equal(rotated.status, 200);
    const second = String(rotated.body.refresh_token);
    assert.notEqual(second, first);
    const third = await refresh(idp, second);
    assert.equal(third.status, 200, 'the new refresh token works');

    const reuse = await refresh(idp, first);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant');
    const newest = await refresh(idp, String(third.body.refresh_token));
    assert.equal(newest.status, 400, 'the newest refresh token died with the grant');
    assert.equal(newest.body.error, 'invalid_grant');
    assert.equal((await userinfo(idp, String(third.body.access_token))).status, 401, 'its access tokens too');
  });
});

describe('refresh token reuse grace window (on)', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ refreshReuseGraceSeconds: 30 });
  });
  after(() => idp.close());

  test('a spent token presented again within the window is accepted and the grant lives on', async (t) => {
    const tokens = await browserLogin(t, idp);
    const first = String(tokens.refresh_token);
    const a = await refresh(idp, first);
    assert.equal(a.status, 200);
    const b = await refresh(idp, first);
    assert.equal(b.status, 200, JSON.stringify(b.body));
    assert.notEqual(b.body.refresh_token, a.body.refresh_token);
    assert.equal(
      (await refresh(idp, String(a.body.refresh_token))).status,
      200,
      'the first successor still works',
    );
    assert.equal((await refresh(idp, String(b.body.refresh_token))).status, 200, 'and so does the second');
  });

  test('introspection still reports the spent token as inactive', async (t) => {
    const tokens = await browserLogin(t, idp);
    const first = String(tokens.refresh_token);
    assert.equal((await refresh(idp, first)).status, 200);
    assert.equal((await introspect(idp, first)).active, false);
  });
});

describe('refresh token reuse after the grace window', () => {
  test('is refused and revokes the grant', async (t) => {
    const idp = await startDevIdp({ refreshReuseGraceSeconds: 1 });
    t.after(() => idp.close());
    const tokens = await browserLogin(t, idp);
    const first = String(tokens.refresh_token);
    const a = await refresh(idp, first);
    assert.equal(a.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const late = await refresh(idp, first);
    assert.equal(late.body.error, 'invalid_grant');
    assert.equal((await refresh(idp, String(a.body.refresh_token))).body.error, 'invalid_grant');
  });
});

describe('token lifetimes follow the options', () => {
  test('access, refresh and ID token lifetimes', async (t) => {
    const idp = await startDevIdp({ accessTokenTtl: 10, idTokenTtl: 20, refreshTokenTtl: 30 });
    t.after(() => idp.close());
    const tokens = await browserLogin(t, idp);
    assert.equal(tokens.expires_in, 10);
    const id = jwtPayload(String(tokens.id_token));
    assert.equal(Number(id.exp) - Number(id.iat), 20);
    const forApi = await refresh(idp, String(tokens.refresh_token), { resource: idp.api });
    assert.equal(forApi.body.expires_in, 10);
    const claims = jwtPayload(String(forApi.body.access_token));
    assert.equal(Number(claims.exp) - Number(claims.iat), 10);
    const introspected = await introspect(idp, String(forApi.body.refresh_token));
    assert.equal(Number(introspected.exp) - Number(introspected.iat), 30);
  });
});

describe('revokeGrantsOf', () => {
  test('kills one user’s refresh tokens and leaves the other’s alone', async (t) => {
    const idp = await startDevIdp();
    t.after(() => idp.close());
    const alice = await browserLogin(t, idp);
    const bob = await browserLogin(t, idp, { user: BOB });
    await idp.revokeGrantsOf(BOB.sub);
    assert.equal((await refresh(idp, String(bob.refresh_token))).body.error, 'invalid_grant');
    assert.equal((await userinfo(idp, String(bob.access_token))).status, 401);
    assert.equal((await refresh(idp, String(alice.refresh_token))).status, 200);
  });
});
