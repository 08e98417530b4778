/**
 * Service principals: created with a tenant's control-plane token, their secret shown once,
 * their tokens by client credentials at the answer's `token_endpoint`, usable at the tenant's
 * regional API, and refused once deleted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { call, cpForm, cpJson, exchangedToken, personTokens } from './control-plane-helpers.js';
import { ALICE, BOB, jwtPayload } from './helpers.js';

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe('service principals', () => {
  let idp: DevIdp;
  let spUrl: string;
  let aliceEu: string;
  let aliceUs: string;
  before(async () => {
    idp = await startDevIdp();
    spUrl = `${idp.controlPlane}/v1/service-principals`;
    const { idToken } = await personTokens(idp, ALICE);
    aliceEu = await exchangedToken(idp, idToken, 'acme-eu');
    aliceUs = await exchangedToken(idp, idToken, 'acme-us');
  });
  after(() => idp.close());

  const create = (token: string | undefined, body: unknown) =>
    call(spUrl, token, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('create → token at token_endpoint → regional hello → delete → invalid_client', async () => {
    const created = await create(aliceEu, { name: 'deploy bot', description: 'CI deploys' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { client_id: clientId, client_secret: secret, ...rest } = created.body;
    assert.match(String(clientId), /^sp-/);
    assert.ok(String(secret).length >= 32);
    assert.deepEqual(rest, {
      name: 'deploy bot',
      description: 'CI deploys',
      tenant_id: 'acme-eu',
      token_endpoint: `${idp.controlPlane}/oauth/token`,
    });

    const listed = await call(spUrl, aliceEu);
    assert.equal(listed.status, 200);
    const principals = listed.body.service_principals as Array<Record<string, unknown>>;
    const mine = principals.find((p) => p.client_id === clientId);
    assert.ok(mine);
    assert.deepEqual(Object.keys(mine).sort(), [
      'client_id',
      'created_at',
      'description',
      'name',
      'tenant_id',
    ]);
    assert.ok(!JSON.stringify(listed.body).includes(String(secret)), 'the secret is shown only once');

    idp.stats.reset();
    const tokenEndpoint = String(created.body.token_endpoint);
    const issued = await fetch(tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(String(clientId), String(secret)),
      },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    assert.equal(issued.status, 200);
    const tokens = (await issued.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(tokens).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(tokens.expires_in, 300);
    const claims = jwtPayload(String(tokens.access_token));
    assert.equal(claims.iss, `${idp.issuer}/cp`);
    assert.equal(claims.sub, clientId);
    assert.equal(claims.kind, 'service_principal');
    assert.equal(claims.tenant_id, 'acme-eu');
    assert.equal(claims.email, undefined);
    assert.equal(idp.stats.controlPlane.servicePrincipalTokens, 1);

    const hello = await call(`${idp.regions['eu-west-1']}/v1/hello`, String(tokens.access_token));
    assert.equal(hello.status, 200);
    assert.equal(hello.body.kind, 'service_principal');
    assert.equal(hello.body.email, null);
    const tenants = await call(`${idp.controlPlane}/v1/tenants`, String(tokens.access_token));
    assert.deepEqual(
      (tenants.body.tenants as Array<{ tenant_id: string }>).map((t) => t.tenant_id),
      ['acme-eu'],
    );
    assert.equal(
      (await call(`${idp.regions['us-east-1']}/v1/hello`, String(tokens.access_token))).status,
      401,
    );

    // client_secret_post works too.
    const posted = await cpForm(idp, '/oauth/token', {
      grant_type: 'client_credentials',
      client_id: String(clientId),
      client_secret: String(secret),
    });
    assert.equal(posted.status, 200);

    const wrong = await cpForm(
      idp,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        authorization: basic(String(clientId), `${secret}x`),
      },
    );
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');

    const deleted = await call(`${spUrl}/${clientId}`, aliceEu, { method: 'DELETE' });
    assert.equal(deleted.status, 204);
    const after = await cpForm(
      idp,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        authorization: basic(String(clientId), String(secret)),
      },
    );
    assert.equal(after.status, 401);
    assert.equal(after.body.error, 'invalid_client');
    assert.equal((await call(`${spUrl}/${clientId}`, aliceEu, { method: 'DELETE' })).status, 404);
  });

  test("only the tenant's own principals are listed and deletable", async () => {
    const created = await create(aliceEu, { name: 'eu only', description: '' });
    const clientId = String(created.body.client_id);
    const usList = await call(spUrl, aliceUs);
    assert.ok(!JSON.stringify(usList.body).includes(clientId));
    assert.equal((await call(`${spUrl}/${clientId}`, aliceUs, { method: 'DELETE' })).status, 404);
    assert.equal((await call(`${spUrl}/sp-unknown`, aliceEu, { method: 'DELETE' })).status, 404);
    assert.equal((await call(`${spUrl}/${clientId}`, aliceEu, { method: 'DELETE' })).status, 204);
  });

  test('creating needs tenant:write: 403 insufficient_scope naming it', async () => {
    const { idToken } = await personTokens(idp, BOB);
    const readOnly = await exchangedToken(idp, idToken, 'acme-eu', { scope: 'tenant:read' });
    const reply = await create(readOnly, { name: 'x', description: 'y' });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error, 'insufficient_scope');
    assert.equal(reply.body.scope, 'tenant:write');
    assert.match(
      reply.headers.get('www-authenticate') ?? '',
      /error="insufficient_scope".*scope="tenant:write"/,
    );
    assert.equal((await call(spUrl, readOnly)).status, 200, 'listing needs tenant:read only');
  });

  test('an assume_user token may create; a service principal token may not', async () => {
    const assumed = await cpJson(
      idp,
      '/v1/auth/assume_user',
      { tenant_id: 'acme-eu', user_id: 'user-bob' },
      { 'x-admin-api-key': idp.adminApiKey },
    );
    const created = await create(String(assumed.body.token), { name: 'by support', description: '' });
    assert.equal(created.status, 201);
    const spToken = await cpForm(idp, '/oauth/token', {
      grant_type: 'client_credentials',
      client_id: String(created.body.client_id),
      client_secret: String(created.body.client_secret),
    });
    const bySp = await create(String(spToken.body.access_token), { name: 'nested', description: '' });
    assert.equal(bySp.status, 403);
  });

  test("without a control-plane token: 401 (dev-idp's own ID token included)", async () => {
    const { idToken } = await personTokens(idp, ALICE);
    for (const token of [undefined, idToken, 'a.b.c']) {
      const reply = await create(token, { name: 'x', description: 'y' });
      assert.equal(reply.status, 401);
      assert.match(reply.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
  });

  test('hostile bodies: malformed JSON, wrong types, too long, huge → 4xx; it keeps serving', async () => {
    for (const body of [
      '{"name":',
      '[1]',
      '{"name":""}',
      '{"name":5}',
      JSON.stringify({ name: 'x'.repeat(201) }),
    ]) {
      const reply = await create(aliceEu, body);
      assert.equal(reply.status, 400, body);
    }
    const huge = await create(aliceEu, { name: 'x', description: 'd'.repeat(1024 * 1024) });
    assert.equal(huge.status, 413);
    const form = await call(spUrl, aliceEu, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=x',
    });
    assert.equal(form.status, 400);
    assert.equal((await create(aliceEu, { name: 'still here', description: '' })).status, 201);
  });

  test('token endpoint errors: other grant, duplicate params, two auth methods, no client', async () => {
    const created = await create(aliceEu, { name: 'errors', description: '' });
    const id = String(created.body.client_id);
    const secret = String(created.body.client_secret);
    const other = await cpForm(
      idp,
      '/oauth/token',
      { grant_type: 'password' },
      { authorization: basic(id, secret) },
    );
    assert.equal(other.body.error, 'unsupported_grant_type');
    const dup = await cpForm(
      idp,
      '/oauth/token',
      'grant_type=client_credentials&grant_type=client_credentials',
      {
        authorization: basic(id, secret),
      },
    );
    assert.equal(dup.body.error, 'invalid_request');
    const both = await cpForm(
      idp,
      '/oauth/token',
      { grant_type: 'client_credentials', client_id: id, client_secret: secret },
      { authorization: basic(id, secret) },
    );
    assert.equal(both.body.error, 'invalid_request');
    const none = await cpForm(idp, '/oauth/token', { grant_type: 'client_credentials' });
    assert.equal(none.status, 401);
    assert.equal(none.body.error, 'invalid_client');
    const admin = await cpForm(
      idp,
      '/oauth/token',
      { grant_type: 'client_credentials', scope: 'tenant:admin' },
      {
        authorization: basic(id, secret),
      },
    );
    assert.equal(admin.body.error, 'invalid_scope');
    const machine = await cpForm(
      idp,
      '/oauth/token',
      { grant_type: 'client_credentials' },
      {
        authorization: basic(idp.clients.machine.client_id, idp.clients.machine.client_secret),
      },
    );
    assert.equal(machine.status, 401, "dev-idp's own clients are not service principals");
  });
});
