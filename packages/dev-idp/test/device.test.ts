import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { approveDeviceLogin, type DevIdp, startDevIdp } from '../src/index.js';
import {
  ALICE,
  BOB,
  DEVICE_GRANT,
  deviceAuthorization,
  jwtPayload,
  LOGIN_SCOPE,
  tokenRequest,
} from './helpers.js';

function poll(idp: DevIdp, deviceCode: string) {
  return tokenRequest(idp, {
    grant_type: DEVICE_GRANT,
    client_id: idp.clients.cli.client_id,
    device_code: deviceCode,
  });
}

describe('device authorization grant', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp.close());

  test('pending until a person approves through verification_uri_complete; then tokens', async () => {
    const device = await deviceAuthorization(idp);
    assert.equal(device.verification_uri, `${idp.issuer}/device`);
    assert.match(device.user_code ?? '', /^[A-Z]{4}-[A-Z]{4}$/);
    assert.ok(device.verification_uri_complete?.startsWith(`${idp.issuer}/device?user_code=`));
    const pending = await poll(idp, device.device_code ?? '');
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');

    await approveDeviceLogin({
      verificationUri: device.verification_uri ?? '',
      verificationUriComplete: device.verification_uri_complete,
      userCode: device.user_code ?? '',
      email: ALICE.email,
      password: ALICE.password,
    });
    const granted = await poll(idp, device.device_code ?? '');
    assert.equal(granted.status, 200, JSON.stringify(granted.body));
    assert.equal(typeof granted.body.refresh_token, 'string', 'offline_access gives a refresh token');
    assert.equal(jwtPayload(String(granted.body.id_token)).sub, ALICE.sub);
    assert.deepEqual(String(granted.body.scope).split(' ').sort(), LOGIN_SCOPE.split(' ').sort());

    const reused = await poll(idp, device.device_code ?? '');
    assert.equal(reused.body.error, 'invalid_grant', 'a device code is single use');
  });

  test('typing the user code at verification_uri works too (lower case, no dash)', async () => {
    const device = await deviceAuthorization(idp);
    await approveDeviceLogin({
      verificationUri: device.verification_uri ?? '',
      userCode: (device.user_code ?? '').replace('-', '').toLowerCase(),
      email: BOB.email,
      password: BOB.password,
    });
    const granted = await poll(idp, device.device_code ?? '');
    assert.equal(granted.status, 200);
    assert.equal(jwtPayload(String(granted.body.id_token)).sub, BOB.sub);
  });

  test('the pages carry the stable ids the browser tests use', async () => {
    const page = await fetch(`${idp.issuer}/device`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<input id="user_code" name="user_code"/);
    assert.match(html, /<button id="confirm" type="submit"/);
  });

  test('a wrong code re-renders the page with #error', async () => {
    await assert.rejects(
      approveDeviceLogin({
        verificationUri: `${idp.issuer}/device`,
        userCode: 'BCDF-GHJK',
        email: ALICE.email,
        password: ALICE.password,
      }),
      /The code you entered is incorrect/,
    );
  });

  test('a wrong password stops the robot with the page message', async () => {
    const device = await deviceAuthorization(idp);
    await assert.rejects(
      approveDeviceLogin({
        verificationUri: device.verification_uri ?? '',
        verificationUriComplete: device.verification_uri_complete,
        userCode: device.user_code ?? '',
        email: ALICE.email,
        password: 'nope',
      }),
      /Wrong email or password/,
    );
    assert.equal((await poll(idp, device.device_code ?? '')).body.error, 'authorization_pending');
  });

  test('Deny on the consent page makes the device poll end with access_denied', async () => {
    const device = await deviceAuthorization(idp);
    await approveDeviceLogin({
      verificationUri: device.verification_uri ?? '',
      verificationUriComplete: device.verification_uri_complete,
      userCode: device.user_code ?? '',
      email: ALICE.email,
      password: ALICE.password,
      consent: 'deny',
    });
    const denied = await poll(idp, device.device_code ?? '');
    assert.equal(denied.status, 400);
    assert.equal(denied.body.error, 'access_denied');
  });
});

describe('device code lifetime', () => {
  test('follows deviceCodeTtl', async (t) => {
    const idp = await startDevIdp({ deviceCodeTtl: 42 });
    t.after(() => idp.close());
    const device = await deviceAuthorization(idp);
    assert.equal(Number(device.expires_in), 42);
  });
});
