/**
 * A firebase login under an exchange provider (DESIGN.md, Control planes): the real Firebase
 * Auth emulator signs the person in, dev-idp's control plane (configured for the emulator's
 * demo project, confirming each ID token with `accounts:lookup`) exchanges its ID token for a
 * tenant's token, and the regional server answers; switching tenant needs no new Firebase login.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { cliEnv, runCli } from './support/cli.js';
import {
  FIREBASE_API_KEY,
  FIREBASE_PROJECT,
  type FirebaseEmulator,
  startFirebaseEmulator,
} from './support/firebase.js';

const ALICE = { email: 'alice@example.com', password: 'alice-firebase-cp-1' };

let emulator: FirebaseEmulator;
let idp: DevIdp;

before(async () => {
  emulator = await startFirebaseEmulator();
  await emulator.signUp(ALICE.email, ALICE.password);
  idp = await startDevIdp({ firebase: { projectId: FIREBASE_PROJECT, emulatorHost: emulator.host } });
});
after(async () => {
  await idp?.close();
  await emulator?.stop();
});

describe('firebase login under an exchange provider', () => {
  test('login → tenants → exchange → regional API; switch --tenant without a new login', async () => {
    const home = mkdtempSync(join(tmpdir(), 'keyfob-cp-fb-'));
    writeFileSync(
      join(home, 'config.yaml'),
      [
        'default_provider: cloud',
        'token_storage: file',
        'providers:',
        '  fb:',
        '    type: firebase',
        `    api_key: ${FIREBASE_API_KEY}`,
        `    project_id: ${FIREBASE_PROJECT}`,
        `    emulator_host: ${emulator.host}`,
        '  cloud:',
        '    type: exchange',
        '    login: fb',
        `    control_plane: ${idp.controlPlane}`,
        '',
      ].join('\n'),
    );
    const env = cliEnv(home);
    const login = await runCli(['login', '--email', ALICE.email, '--password-stdin', '--tenant', 'acme-us'], {
      env,
      input: `${ALICE.password}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Logged in to cloud .*tenant acme-us/);

    const tenants = JSON.parse((await runCli(['tenants', '--json'], { env })).stdout);
    assert.equal(tenants.current, 'acme-us');
    assert.deepEqual(
      tenants.tenants.map((t: { id: string }) => t.id),
      ['acme-eu', 'acme-us'],
    );
    const hello = await runCli(['fetch', '/v1/hello'], { env });
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-us');

    const exchanges = idp.stats.controlPlane.exchanges;
    const switched = await runCli(['switch', '--tenant', 'acme-eu'], { env });
    assert.equal(switched.code, 0, switched.stderr);
    assert.equal(idp.stats.controlPlane.exchanges, exchanges + 1);
    const eu = await runCli(['fetch', '/v1/hello'], { env });
    assert.equal(JSON.parse(eu.stdout).tenant_id, 'acme-eu');
    const token = JSON.parse((await runCli(['token', '--json'], { env })).stdout);
    assert.equal(token.tenant.id, 'acme-eu');
    // The control plane mints with its own issuer, never Firebase's.
    const claims = JSON.parse(Buffer.from(token.access_token.split('.')[1], 'base64url').toString());
    assert.notEqual(claims.iss, `https://securetoken.google.com/${FIREBASE_PROJECT}`);
  });
});
