/**
 * dev-idp's resource-owner password grant (RFC 6749 §4.3), offered to the CLI client only: what
 * keyfob's `password` provider logs in with.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { ALICE, getWithToken, jwtPayload, LOGIN_SCOPE, refresh, tokenRequest } from './helpers.js';

describe('grant_type=password', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  function passwordGrant(email: string, password: string, scope = LOGIN_SCOPE, clientId?: string) {
    return tokenRequest(idp, {
      grant_type: 'password',
      client_id: clientId ?? idp.clients.cli.client_id,
      username: email,
      password,
      scope,
    });
  }

  test('is listed in discovery', async () => {
    const metadata = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      grant_types_supported: string[];
    };
    assert.ok(metadata.grant_types_supported.includes('password'), metadata.grant_types_supported.join(' '));
  });

  test('a seeded user gets an access, refresh and ID token; the refresh token buys an API token', async () => {
    const reply = await passwordGrant(ALICE.email, ALICE.password, `${LOGIN_SCOPE} api:read`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.token_type, 'Bearer');
    assert.equal(typeof reply.body.refresh_token, 'string');
    const id = jwtPayload(String(reply.body.id_token));
    assert.equal(id.sub, ALICE.sub);
    assert.equal(id.email, ALICE.email);
    assert.equal(id.aud, idp.clients.cli.client_id);
    assert.equal(id.iss, idp.issuer);
    const me = await getWithToken(`${idp.issuer}/me`, String(reply.body.access_token));
    assert.equal(me.status, 200);
    assert.equal(me.body.email, ALICE.email);

    const forApi = await refresh(idp, String(reply.body.refresh_token), { resource: idp.api });
    assert.equal(forApi.status, 200, JSON.stringify(forApi.body));
    assert.equal(forApi.body.scope, 'api:read');
    const hello = await getWithToken(`${idp.api}/hello`, String(forApi.body.access_token));
    assert.equal(hello.status, 200);
    assert.equal(hello.body.sub, ALICE.sub);
  });

  test('a wrong password and an unknown email both answer invalid_grant "wrong email or password"', async () => {
    for (const [email, password] of [
      [ALICE.email, 'not-her-password'],
      ['nobody@example.com', ALICE.password],
    ] as const) {
      const reply = await passwordGrant(email, password);
      assert.equal(reply.status, 400);
      assert.equal(reply.body.error, 'invalid_grant');
      assert.equal(reply.body.error_description, 'wrong email or password');
    }
  });

  test('only the CLI client may use it', async () => {
    const reply = await tokenRequest(
      idp,
      { grant_type: 'password', username: ALICE.email, password: ALICE.password, scope: 'openid' },
      { id: idp.clients.machine.client_id, secret: String(idp.clients.machine.client_secret) },
    );
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
    // oidc-provider's words for a grant type the client is not registered for.
    assert.equal(reply.body.error, 'invalid_request');
    assert.match(String(reply.body.error_description), /grant type is not allowed for this client/);
  });
});
