import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '../src/index.js';

describe('discovery and the ready line', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  test('binds 127.0.0.1 on a free port; issuer and api have no trailing slash', () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(idp.api, `${idp.issuer}/api`);
    assert.equal(idp.controlPlane, `${idp.issuer}/cp`);
  });

  test('the metadata a client needs', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(response.status, 200);
    const meta = (await response.json()) as Record<string, unknown>;
    assert.equal(meta.issuer, idp.issuer);
    for (const [field, path] of [
      ['authorization_endpoint', '/auth'],
      ['token_endpoint', '/token'],
      ['device_authorization_endpoint', '/device/auth'],
      ['userinfo_endpoint', '/me'],
      ['jwks_uri', '/jwks'],
      ['revocation_endpoint', '/token/revocation'],
      ['introspection_endpoint', '/token/introspection'],
    ] as const) {
      assert.equal(meta[field], `${idp.issuer}${path}`, field);
    }
    assert.equal(meta.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.deepEqual(meta.id_token_signing_alg_values_supported, ['RS256']);
    for (const grant of [
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:device_code',
    ]) {
      assert.ok((meta.grant_types_supported as string[]).includes(grant), grant);
    }
    for (const scope of ['openid', 'profile', 'email', 'offline_access']) {
      assert.ok((meta.scopes_supported as string[]).includes(scope), scope);
    }
    assert.equal(meta.end_session_endpoint, undefined, 'logout is revocation here');
  });

  test('the JWKS has one RS256 signing key', async () => {
    const { keys } = (await (await fetch(`${idp.issuer}/jwks`)).json()) as {
      keys: Array<Record<string, unknown>>;
    };
    assert.equal(keys.length, 1);
    assert.equal(keys[0]?.kty, 'RSA');
    assert.equal(keys[0]?.alg, 'RS256');
    assert.equal(keys[0]?.use, 'sig');
  });

  test('the ready line names issuer, api, clients and users', () => {
    assert.deepEqual(idp.readyLine(), {
      issuer: idp.issuer,
      api: idp.api,
      control_plane: `${idp.issuer}/cp`,
      tenants: idp.tenants,
      admin_api_key: 'dev-admin-key-not-secret',
      clients: {
        cli: { client_id: 'keyfob-cli' },
        machine: { client_id: 'keyfob-machine', client_secret: 'dev-machine-secret' },
        machinePost: { client_id: 'keyfob-machine-post', client_secret: 'dev-machine-post-secret' },
        machineJwt: { client_id: 'keyfob-machine-jwt', private_jwk: idp.clients.machineJwt.private_jwk },
        fixed_port: { client_id: 'keyfob-cli-fixed-port', redirect_uri: 'http://127.0.0.1:8765/callback' },
      },
      users: ['alice@example.com', 'bob@example.com'],
    });
    assert.deepEqual(
      idp.users.map((user) => [user.email, user.sub]),
      [
        ['alice@example.com', 'user-alice'],
        ['bob@example.com', 'user-bob'],
      ],
    );
  });

  test('an expired or unknown interaction shows an error page, not a crash', async () => {
    const response = await fetch(`${idp.issuer}/interaction/does-not-exist`);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /id="error"[^>]*>This sign-in request has expired/);
  });

  test('bad options are refused with a message naming the option', async () => {
    await assert.rejects(startDevIdp({ accessTokenTtl: 0 }), /accessTokenTtl/);
    await assert.rejects(startDevIdp({ port: 70000 }), /port/);
    await assert.rejects(startDevIdp({ port: Number(new URL(idp.issuer).port) }), /already in use/);
  });
});
