/**
 * Firebase Auth emulator ID tokens at the control plane, against the real emulator
 * (firebase-tools, started once for this file): accepted only for the configured `demo-*`
 * project, each confirmed by the emulator's `accounts:lookup`, users mapped to tenants by email.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';
import {
  FIREBASE_PROJECT,
  type FirebaseEmulator,
  listen,
  startFirebaseEmulator,
} from '../../../test/support/firebase.js';
import { type DevIdp, startDevIdp } from '../src/index.js';
import { b64, call, exchange } from './control-plane-helpers.js';
import { jwtPayload } from './helpers.js';

const ALICE = { email: 'alice@example.com', password: 'alice-fb-pw-1' };
const BOB = { email: 'bob@example.com', password: 'bob-fb-pw-1' };
const CAROL = { email: 'carol@example.com', password: 'carol-fb-pw-1' };

let emulator: FirebaseEmulator;
let idp: DevIdp;
let aliceId: string;
before(async () => {
  emulator = await startFirebaseEmulator();
  idp = await startDevIdp({ firebase: { projectId: FIREBASE_PROJECT, emulatorHost: emulator.host } });
  aliceId = await emulator.signUp(ALICE.email, ALICE.password);
});
after(async () => {
  await idp?.close();
  await emulator?.stop();
});

const tenantIds = (body: Record<string, unknown>) =>
  ((body.tenants ?? []) as Array<{ tenant_id: string }>).map((t) => t.tenant_id);

describe('Firebase emulator ID tokens at the control plane', () => {
  test('a Firebase user is mapped by email: tenants, exchange, regional hello', async () => {
    const token = await emulator.signIn(ALICE.email, ALICE.password);
    assert.equal(jwtPayload(token).iss, `https://securetoken.google.com/${FIREBASE_PROJECT}`);
    const tenants = await call(`${idp.controlPlane}/v1/tenants`, token);
    assert.equal(tenants.status, 200, JSON.stringify(tenants.body));
    assert.deepEqual(tenantIds(tenants.body), ['acme-eu', 'acme-us']);
    const exchanged = await exchange(idp, token, 'acme-us');
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
    const claims = jwtPayload(String(exchanged.body.access_token));
    assert.equal(claims.sub, aliceId);
    assert.equal(claims.email, ALICE.email);
    assert.equal(claims.iss, `${idp.issuer}/cp`);
    const hello = await call(`${idp.regions['us-east-1']}/v1/hello`, String(exchanged.body.access_token));
    assert.equal(hello.status, 200);
    assert.equal(hello.body.sub, aliceId);
  });

  test('a Firebase ID token sent as access_token is a type mismatch: invalid_request', async () => {
    const token = await emulator.signIn(ALICE.email, ALICE.password);
    const reply = await exchange(idp, token, 'acme-eu', {
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    assert.equal(reply.body.error, 'invalid_request');
  });

  test('a user in no tenant: empty list, and invalid_target', async () => {
    await emulator.signUp(CAROL.email, CAROL.password);
    const token = await emulator.signIn(CAROL.email, CAROL.password);
    assert.deepEqual((await call(`${idp.controlPlane}/v1/tenants`, token)).body, { tenants: [] });
    const reply = await exchange(idp, token, 'acme-eu');
    assert.equal(reply.body.error, 'invalid_target');
  });

  test('a user deleted in the emulator is refused with the token it had', async () => {
    const bobId = await emulator.signUp(BOB.email, BOB.password);
    const token = await emulator.signIn(BOB.email, BOB.password);
    assert.equal((await exchange(idp, token, 'acme-eu')).status, 200);
    await emulator.deleteUser(bobId);
    const reply = await exchange(idp, token, 'acme-eu');
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error, 'invalid_grant');
    assert.equal((await call(`${idp.controlPlane}/v1/tenants`, token)).status, 401);
  });

  test('a disabled user is refused', async () => {
    const daveId = await emulator.signUp('dave@example.com', 'dave-fb-pw-1');
    const token = await emulator.signIn('dave@example.com', 'dave-fb-pw-1');
    await emulator.disable(daveId);
    const reply = await exchange(idp, token, 'acme-eu');
    assert.equal(reply.body.error, 'invalid_grant');
    assert.match(String(reply.body.error_description), /disabled/);
  });

  test('a forged unsigned token naming alice (unknown to the emulator) is refused: each token is looked up', async () => {
    const real = jwtPayload(await emulator.signIn(ALICE.email, ALICE.password));
    const forged = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...real, user_id: 'nobody', sub: 'nobody' })}.`;
    const reply = await exchange(idp, forged, 'acme-eu');
    assert.equal(reply.status, 400);
    assert.equal(reply.body.error, 'invalid_grant');
  });

  test('a dev-idp without a Firebase project, or with another one, refuses the token', async (t) => {
    const token = await emulator.signIn(ALICE.email, ALICE.password);
    const plain = await startDevIdp();
    t.after(() => plain.close());
    const refused = await exchange(plain, token, 'acme-eu');
    assert.equal(refused.body.error, 'invalid_grant');
    assert.match(String(refused.body.error_description), /--firebase-project/);
    assert.equal((await call(`${plain.controlPlane}/v1/tenants`, token)).status, 401);

    let lookups = 0;
    const recorder = createServer((req, res) => {
      lookups += 1;
      req.resume();
      res.writeHead(500).end();
    });
    const host = await listen(recorder);
    t.after(() => new Promise<void>((resolve) => recorder.close(() => resolve())));
    const other = await startDevIdp({ firebase: { projectId: 'demo-other', emulatorHost: host } });
    t.after(() => other.close());
    const wrongProject = await exchange(other, token, 'acme-eu');
    assert.equal(wrongProject.body.error, 'invalid_grant');
    assert.match(String(wrongProject.body.error_description), /demo-other/);
    assert.equal(lookups, 0, 'a token of another project is refused before any lookup');
  });

  test('only demo-* projects on a loopback emulator are accepted as options', async () => {
    await assert.rejects(
      startDevIdp({ firebase: { projectId: 'my-prod-project', emulatorHost: emulator.host } }),
      /demo project/,
    );
    await assert.rejects(
      startDevIdp({ firebase: { projectId: FIREBASE_PROJECT, emulatorHost: '0.0.0.0:9099' } }),
      /loopback/,
    );
  });

  test('an emulator that answers garbage or not at all: invalid_grant, and dev-idp keeps serving', async (t) => {
    const token = await emulator.signIn(ALICE.email, ALICE.password);
    const hostile = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('x'.repeat(200_000));
    });
    const host = await listen(hostile);
    t.after(() => new Promise<void>((resolve) => hostile.close(() => resolve())));
    const fooled = await startDevIdp({ firebase: { projectId: FIREBASE_PROJECT, emulatorHost: host } });
    t.after(() => fooled.close());
    const reply = await exchange(fooled, token, 'acme-eu');
    assert.equal(reply.body.error, 'invalid_grant');
    assert.ok(!String(reply.body.error_description).includes('xxxx'));
    assert.equal((await call(`${fooled.controlPlane}/v1/users/me`)).status, 401, 'still serving');
  });
});
