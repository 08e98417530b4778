import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { completeBrowserLogin, type DevIdp, startDevIdp } from '../src/index.js';
import {
  ALICE,
  authorizationUrl,
  browserLogin,
  jwtPayload,
  LOGIN_SCOPE,
  loopback,
  pkce,
  tokenRequest,
} from './helpers.js';

describe('authorization code + PKCE through the login and consent pages', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  test('the robot logs in, the loopback on a random port gets code, state and iss', async (t) => {
    const { redirectUri, query } = await loopback(t);
    const { challenge } = pkce();
    const { url, state } = authorizationUrl(idp, redirectUri, challenge);
    await completeBrowserLogin({ authorizationUrl: url, email: ALICE.email, password: ALICE.password });
    const params = await query;
    assert.ok(params.get('code'));
    assert.equal(params.get('state'), state);
    assert.equal(params.get('iss'), idp.issuer);
  });

  test('offline_access yields a refresh token without prompt=consent; ID token names the user', async (t) => {
    const tokens = await browserLogin(t, idp);
    assert.equal(typeof tokens.refresh_token, 'string');
    assert.equal(tokens.token_type, 'Bearer');
    assert.deepEqual(String(tokens.scope).split(' ').sort(), LOGIN_SCOPE.split(' ').sort());
    const claims = jwtPayload(String(tokens.id_token));
    assert.equal(claims.sub, ALICE.sub);
    assert.equal(claims.email, ALICE.email);
    assert.equal(claims.iss, idp.issuer);
    assert.equal(claims.aud, idp.clients.cli.client_id);
  });

  test('without offline_access there is no refresh token', async (t) => {
    const tokens = await browserLogin(t, idp, { scope: 'openid profile' });
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(typeof tokens.access_token, 'string');
  });

  test('a wrong password shows a 200 page with #error and no redirect', async () => {
    const { challenge } = pkce();
    const { url } = authorizationUrl(idp, 'http://127.0.0.1:1/callback', challenge);
    await assert.rejects(
      completeBrowserLogin({ authorizationUrl: url, email: ALICE.email, password: 'not-her-password' }),
      /Wrong email or password/,
    );
    // The same, by hand: the page itself.
    const start = await fetch(url, { redirect: 'manual' });
    const interaction = new URL(start.headers.get('location') ?? '', idp.issuer);
    const cookies = start.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const post = await fetch(`${interaction.href}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: ALICE.email, password: 'wrong' }),
    });
    assert.equal(post.status, 200);
    const html = await post.text();
    assert.match(html, /<p id="error"[^>]*>Wrong email or password\.<\/p>/);
    assert.match(html, /id="email"[^>]*value="alice@example\.com"/);
  });

  test('Deny ends with error=access_denied at the redirect_uri', async (t) => {
    const { redirectUri, query } = await loopback(t);
    const { challenge } = pkce();
    const { url, state } = authorizationUrl(idp, redirectUri, challenge);
    await completeBrowserLogin({
      authorizationUrl: url,
      email: ALICE.email,
      password: ALICE.password,
      consent: 'deny',
    });
    const params = await query;
    assert.equal(params.get('error'), 'access_denied');
    assert.equal(params.get('state'), state);
    assert.equal(params.get('code'), null);
  });

  test('PKCE is required: a request without code_challenge is refused', async () => {
    const redirectUri = 'http://127.0.0.1:4567/callback';
    const url = new URL(authorizationUrl(idp, redirectUri, 'x').url);
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 303);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, redirectUri);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE/);
  });

  test('a code exchange with the wrong verifier fails with invalid_grant', async (t) => {
    const { redirectUri, query } = await loopback(t);
    const { challenge } = pkce();
    const { url } = authorizationUrl(idp, redirectUri, challenge);
    await completeBrowserLogin({ authorizationUrl: url, email: ALICE.email, password: ALICE.password });
    const reply = await tokenRequest(idp, {
      grant_type: 'authorization_code',
      client_id: idp.clients.cli.client_id,
      code: (await query).get('code') ?? '',
      redirect_uri: redirectUri,
      code_verifier: pkce().verifier,
    });
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error, 'invalid_grant');
  });

  test('a redirect_uri outside the loopback registration is refused', async () => {
    const { challenge } = pkce();
    const { url } = authorizationUrl(idp, 'http://localhost:8080/callback', challenge);
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.match(await response.text(), /id="error"[^>]*>[^<]*redirect_uri/);
  });

  test('openid-client (what keyfob uses) completes the flow and validates iss, nonce and the ID token', async (t) => {
    const config = await client.discovery(
      new URL(idp.issuer),
      idp.clients.cli.client_id,
      undefined,
      client.None(),
      {
        execute: [client.allowInsecureRequests],
      },
    );
    const { redirectUri, query } = await loopback(t);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: LOGIN_SCOPE,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    await completeBrowserLogin({ authorizationUrl: url.href, email: ALICE.email, password: ALICE.password });
    const callback = new URL(redirectUri);
    callback.search = (await query).toString();
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    assert.equal(tokens.claims()?.sub, ALICE.sub);
    assert.ok(tokens.refresh_token);
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, ALICE.sub);
    assert.equal(userinfo.email, ALICE.email);
  });
});
