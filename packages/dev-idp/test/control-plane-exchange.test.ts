/**
 * RFC 8693 token exchange at `<issuer>/cp/v1/token`: real subject tokens from dev-idp itself,
 * each OAuth error the protocol names, and tokens minted with the control plane's own key.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { type DevIdp, startDevIdp } from '../src/index.js';
import {
  ACCESS_TOKEN_TYPE,
  call,
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

describe('the control plane exchange', () => {
  let idp: DevIdp;
  let alice: { idToken: string; accessToken: string };
  let bob: { idToken: string };
  before(async () => {
    idp = await startDevIdp();
    alice = await personTokens(idp, ALICE);
    bob = await personTokens(idp, BOB);
  });
  after(() => idp.close());

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
});
