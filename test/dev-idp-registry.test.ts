/**
 * dev-idp's package registry (`/api/registry`), the API the agent-tools tests call: a public
 * search, reading and uploading behind their own scopes, and an endpoint that echoes the
 * credentials it gets (the misbehaving server keyfob must redact).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';

let idp: DevIdp;

before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

/** A client-credentials token of the machine client holding `scope`. */
async function tokenWith(scope: string): Promise<string> {
  const { client_id, client_secret } = idp.clients.machine;
  const response = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client_id}:${client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: idp.api }),
  });
  const body = (await response.json()) as { access_token?: string; scope?: string };
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.scope, scope);
  return body.access_token ?? '';
}

describe('dev-idp registry API', () => {
  it('search is public; listing needs registry:read (401 without a token, 403 with another scope)', async () => {
    const search = await fetch(`${idp.api}/registry/search?q=pad`);
    assert.equal(search.status, 200);
    assert.deepEqual(
      ((await search.json()) as { results: Array<{ name: string }> }).results.map((r) => r.name),
      ['left-pad'],
    );

    assert.equal((await fetch(`${idp.api}/registry/packages`)).status, 401);
    const writer = await tokenWith('registry:write');
    const refused = await fetch(`${idp.api}/registry/packages`, {
      headers: { authorization: `Bearer ${writer}` },
    });
    assert.equal(refused.status, 403);
    assert.match(refused.headers.get('www-authenticate') ?? '', /insufficient_scope.*scope="registry:read"/);

    const reader = await tokenWith('registry:read');
    const listed = await fetch(`${idp.api}/registry/packages`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    assert.equal(listed.status, 200);
    assert.ok(
      ((await listed.json()) as { packages: Array<{ name: string }> }).packages.some(
        (p: { name: string }) => p.name === 'keyfob-demo',
      ),
    );
  });

  it('upload needs registry:write, refuses bad names and large bodies, then lists the package', async () => {
    const reader = await tokenWith('registry:read');
    const writer = await tokenWith('registry:write');
    const put = (name: string, token: string, body = 'x'.repeat(10)) =>
      fetch(`${idp.api}/registry/packages/${name}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}` },
        body,
      });
    assert.equal((await put('mine', reader)).status, 403);
    assert.equal((await put('%E0%A4%A', writer)).status, 400);
    assert.equal((await put('UPPER', writer)).status, 400);
    assert.equal((await put('big', writer, 'x'.repeat(65 * 1024))).status, 413);
    const created = await put('mine', writer);
    assert.equal(created.status, 201);
    assert.deepEqual(await created.json(), { name: 'mine', size: 10 });
    const listed = await fetch(`${idp.api}/registry/packages`, {
      headers: { authorization: `Bearer ${reader}` },
    });
    assert.ok(
      ((await listed.json()) as { packages: Array<{ name: string }> }).packages.some(
        (p: { name: string }) => p.name === 'mine',
      ),
    );
  });

  it('echo sends the credentials back in the body, a header and a cookie, chunked on request', async () => {
    const secret = 'Bearer not-a-real-token-but-echoed';
    const response = await fetch(`${idp.api}/registry/echo?chunk=7`, {
      headers: { authorization: secret, 'x-api-key': 'key-123' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-echo-authorization'), secret);
    assert.match(response.headers.get('set-cookie') ?? '', /^registry_session=/);
    assert.equal(response.headers.get('content-length'), null, 'chunked');
    const body = (await response.json()) as { headers: Record<string, string> };
    assert.equal(body.headers.authorization, secret);
    assert.equal(body.headers['x-api-key'], 'key-123');
  });
});
