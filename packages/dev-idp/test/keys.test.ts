import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startDevIdp } from '../src/index.js';
import { getWithToken, jwtHeader, tokenRequest } from './helpers.js';

test('rotateKeys: new tokens carry the new kid, old ones still verify through the JWKS', async (t) => {
  const idp = await startDevIdp();
  t.after(() => idp.close());
  const { client_id: id, client_secret: secret } = idp.clients.machine;
  const mint = async () =>
    String(
      (await tokenRequest(idp, { grant_type: 'client_credentials', resource: idp.api }, { id, secret })).body
        .access_token,
    );
  const jwks = async () =>
    ((await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Array<Record<string, unknown>> }).keys;

  const before = await mint();
  const oldKid = jwtHeader(before).kid;
  const [onlyKey] = await jwks();
  assert.equal(onlyKey?.kid, oldKid);
  assert.equal(onlyKey?.d, undefined, 'the JWKS holds public keys only');

  await idp.rotateKeys();
  const afterRotation = await mint();
  const newKid = jwtHeader(afterRotation).kid;
  assert.notEqual(newKid, oldKid);
  assert.deepEqual(
    (await jwks()).map((key) => key.kid),
    [newKid, oldKid],
  );
  // A verifier that fetches the JWKS fresh (as keyfob does after an unknown kid) accepts both.
  const remote = createRemoteJWKSet(new URL(`${idp.issuer}/jwks`));
  for (const token of [before, afterRotation]) {
    const { payload } = await jwtVerify(token, remote, { issuer: idp.issuer, audience: idp.api });
    assert.equal(payload.sub, id);
    assert.equal((await getWithToken(`${idp.api}/hello`, token)).status, 200);
  }

  await idp.rotateKeys({ keepOld: false });
  const latest = await mint();
  const keys = await jwks();
  assert.deepEqual(
    keys.map((key) => key.kid),
    [jwtHeader(latest).kid],
  );
  assert.equal(
    (await getWithToken(`${idp.api}/hello`, before)).status,
    401,
    'a dropped key no longer verifies',
  );
  assert.equal((await getWithToken(`${idp.api}/hello`, latest)).status, 200);
});
