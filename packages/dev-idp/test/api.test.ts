import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { browserLogin, getWithToken, jwtHeader, jwtPayload, refresh, tokenRequest } from './helpers.js';

function machineToken(idp: DevIdp, extra: Record<string, string> = {}) {
  const { client_id: id, client_secret: secret } = idp.clients.machine;
  return tokenRequest(idp, { grant_type: 'client_credentials', ...extra }, { id, secret });
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('the protected API', () => {
  let idp: DevIdp;
  let apiToken: string;
  let userinfoToken: string;
  before(async () => {
    idp = await startDevIdp();
    const tokens = await browserLogin({ after }, idp, {
      scope: 'openid profile email offline_access api:read',
    });
    userinfoToken = String(tokens.access_token);
    const forApi = await refresh(idp, String(tokens.refresh_token), { resource: idp.api });
    apiToken = String(forApi.body.access_token);
  });
  after(() => idp.close());

  test('no token: 401 with a bare Bearer challenge', async () => {
    const reply = await getWithToken(`${idp.api}/hello`);
    assert.equal(reply.status, 401);
    assert.equal(reply.headers.get('www-authenticate'), 'Bearer realm="dev-idp"');
  });

  test('a userinfo (opaque) token: 401 invalid_token', async () => {
    const reply = await getWithToken(`${idp.api}/hello`, userinfoToken);
    assert.equal(reply.status, 401);
    assert.match(
      reply.headers.get('www-authenticate') ?? '',
      /^Bearer realm="dev-idp", error="invalid_token"/,
    );
  });

  test('a token for the API: 200 with who called', async () => {
    const reply = await getWithToken(`${idp.api}/hello`, apiToken);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.sub, 'user-alice');
    assert.equal(reply.body.aud, idp.api);
  });

  test('/api/admin without api:admin: 403 insufficient_scope naming the scope', async () => {
    const reply = await getWithToken(`${idp.api}/admin`, apiToken);
    assert.equal(reply.status, 403);
    const challenge = reply.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /error="insufficient_scope"/);
    assert.match(challenge, /scope="api:admin"/);
  });

  test('hostile tokens get 401 and the server stays up', async () => {
    const [header, payload, signature] = apiToken.split('.');
    const claims = jwtPayload(apiToken);
    const tampered = `${header}.${b64({ ...claims, scope: 'api:admin' })}.${signature}`;
    const algNone = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...claims, scope: 'api:admin' })}.`;
    const hs256 = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: jwtHeader(apiToken).kid })}.${payload}.${signature}`;
    const cases: Array<[string, string]> = [
      ['tampered payload', `Bearer ${tampered}`],
      ['alg none', `Bearer ${algNone}`],
      ['alg confusion', `Bearer ${hs256}`],
      ['garbage', 'Bearer !!!not a token!!!'],
      ['three empty parts', 'Bearer ..'],
      ['basic auth', 'Basic dXNlcjpwYXNz'],
      ['scheme only', 'Bearer'],
      ['long', `Bearer ${'a'.repeat(8000)}`],
    ];
    for (const [name, authorization] of cases) {
      const reply = await getWithToken(`${idp.api}/admin`, undefined, { authorization });
      assert.equal(reply.status, 401, name);
      assert.match(reply.headers.get('www-authenticate') ?? '', /error="invalid_token"/, name);
      assert.equal(JSON.stringify(reply.body).includes('not a token'), false, `${name}: no echo`);
    }
    assert.equal((await getWithToken(`${idp.api}/hello`, apiToken)).status, 200);
  });

  test('an expired token: 401', async (t) => {
    const shortLived = await startDevIdp({ accessTokenTtl: 1 });
    t.after(() => shortLived.close());
    const reply = await machineToken(shortLived, { resource: shortLived.api });
    // exp = iat + 1 in whole seconds, and iat is rounded down: 1.1 s always passes exp.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const hello = await getWithToken(`${shortLived.api}/hello`, String(reply.body.access_token));
    assert.equal(hello.status, 401);
    assert.match(hello.headers.get('www-authenticate') ?? '', /expired/);
  });

  test('a token for another dev-idp (same audience path, other issuer): 401', async (t) => {
    const other = await startDevIdp();
    t.after(() => other.close());
    const foreign = String((await machineToken(other, { resource: other.api })).body.access_token);
    assert.equal((await getWithToken(`${idp.api}/hello`, foreign)).status, 401);
  });

  test('/api/redirect redirects to any http(s) URL; /api/echo-auth never echoes the header', async () => {
    const target = 'http://127.0.0.1:9/elsewhere?x=1';
    const redirect = await fetch(`${idp.api}/redirect?to=${encodeURIComponent(target)}`, {
      redirect: 'manual',
    });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get('location'), target);
    const temporary = await fetch(`${idp.api}/redirect?status=307&to=${encodeURIComponent(target)}`, {
      redirect: 'manual',
    });
    assert.equal(temporary.status, 307);
    const bad = await fetch(`${idp.api}/redirect?to=javascript:alert(1)`, { redirect: 'manual' });
    assert.equal(bad.status, 400);

    const withAuth = await getWithToken(`${idp.api}/echo-auth`, 'secret-value');
    assert.deepEqual(withAuth.body, { authorization_present: true });
    const without = await getWithToken(`${idp.api}/echo-auth`);
    assert.deepEqual(without.body, { authorization_present: false });
  });

  test('unknown API paths are 404 JSON', async () => {
    const reply = await getWithToken(`${idp.api}/nope`, apiToken);
    assert.equal(reply.status, 404);
    assert.equal(reply.body.error, 'not_found');
  });

  test('odd request targets do not crash the server', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port: new URL(idp.issuer).port,
        path: '//evil.example/api/hello',
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.ok(status >= 400 && status < 500, `status ${status}`);
    assert.equal((await getWithToken(`${idp.api}/hello`, apiToken)).status, 200);
  });
});

describe('client credentials (the machine client)', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  test('with resource=<api> and scopes: a JWT the API accepts, admin included', async () => {
    const reply = await machineToken(idp, { resource: idp.api, scope: 'api:read api:admin' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.refresh_token, undefined);
    const claims = jwtPayload(String(reply.body.access_token));
    assert.equal(claims.sub, idp.clients.machine.client_id);
    assert.equal(claims.aud, idp.api);
    assert.equal(claims.scope, 'api:read api:admin');
    const admin = await getWithToken(`${idp.api}/admin`, String(reply.body.access_token));
    assert.equal(admin.status, 200);
    assert.equal(admin.body.client_id, idp.clients.machine.client_id);
  });

  test('without resource: the API is the default resource', async () => {
    const reply = await machineToken(idp);
    assert.equal(reply.status, 200);
    assert.equal(jwtPayload(String(reply.body.access_token)).aud, idp.api);
    assert.equal((await getWithToken(`${idp.api}/hello`, String(reply.body.access_token))).status, 200);
  });

  test('client_secret_post works as well as basic; a wrong secret is invalid_client', async () => {
    const post = await tokenRequest(idp, {
      grant_type: 'client_credentials',
      client_id: idp.clients.machine.client_id,
      client_secret: idp.clients.machine.client_secret,
      resource: idp.api,
    });
    assert.equal(post.status, 200);
    const wrong = await tokenRequest(
      idp,
      { grant_type: 'client_credentials' },
      { id: idp.clients.machine.client_id, secret: 'wrong' },
    );
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');
  });

  test('the public CLI client cannot use client credentials', async () => {
    const reply = await tokenRequest(idp, {
      grant_type: 'client_credentials',
      client_id: idp.clients.cli.client_id,
    });
    assert.equal(reply.status, 400);
    // oidc-provider answers invalid_request (RFC 6749 would say unauthorized_client).
    assert.equal(reply.body.error, 'invalid_request');
    assert.match(String(reply.body.error_description), /grant type is not allowed/);
  });
});

describe('stats', () => {
  test('count token requests by grant type, refreshes, revocations and API calls; reset zeroes them', async (t) => {
    const idp = await startDevIdp();
    t.after(() => idp.close());
    const tokens = await browserLogin(t, idp);
    await refresh(idp, String(tokens.refresh_token));
    const { client_id: id, client_secret: secret } = idp.clients.machine;
    await tokenRequest(idp, { grant_type: 'client_credentials' }, { id, secret });
    await tokenRequest(idp, { grant_type: 'client_credentials' }, { id, secret: 'wrong' });
    await tokenRequest(idp, { grant_type: 'password', client_id: 'keyfob-cli' });
    await fetch(`${idp.issuer}/token`, { method: 'POST', body: 'not a form' });
    await fetch(`${idp.issuer}/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: 'keyfob-cli', token: 'whatever' }),
    });
    await fetch(`${idp.api}/hello`);
    await fetch(`${idp.api}/echo-auth`);
    assert.deepEqual(idp.stats.tokenRequests, {
      authorization_code: 1,
      refresh_token: 1,
      client_credentials: 2,
      password: 1,
      unknown: 1,
    });
    assert.equal(idp.stats.refreshRequests, 1);
    assert.equal(idp.stats.revocations, 1);
    assert.equal(idp.stats.apiRequests, 2);
    idp.stats.reset();
    assert.deepEqual(idp.stats.tokenRequests, {});
    assert.equal(idp.stats.refreshRequests + idp.stats.revocations + idp.stats.apiRequests, 0);
  });
});
