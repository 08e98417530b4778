/**
 * Which store a profile lands in, end to end through the CLI: the keychain when one answers (a
 * real gnome-keyring on a private D-Bus), the recorded store for ever after, an explicit choice
 * that cannot be reached is an error, and an encrypted file that never holds a token in clear.
 */
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder, loginWithDevice, makeHome, runCli } from './support/cli.js';
import { startBus, type TestBus } from './support/keyring.js';

let idp: DevIdp;
let bus: TestBus;

before(async () => {
  idp = await startDevIdp();
  bus = await startBus();
});

after(async () => {
  await bus?.close();
  await idp?.close();
});

describe('the store a profile lives in', () => {
  it('the keychain when one answers; still the keychain later without a display or bus', async () => {
    const home = makeHome(idp);
    const withBus = { ...home, env: { ...home.env, ...bus.env } };
    const login = await loginWithDevice(idp, withBus);
    assert.equal(login.code, 0, login.stderr);
    assert.doesNotMatch(login.stderr, /No keychain answered/);
    const status = JSON.parse((await runCli(['status', '--json'], { env: withBus.env })).stdout);
    assert.equal(status.profiles[0].store, 'keychain');
    assert.match(status.profiles[0].store_reason, /^keychain/);
    const token = await runCli(['token'], { env: withBus.env });
    assert.equal(token.code, 0, token.stderr);
    assert.ok(
      !Object.values(filesUnder(home.home, 'latin1')).join('\n').includes(token.stdout.trim()),
      'no token in clear on disk',
    );
    assert.deepEqual(
      readdirSync(join(home.home)).includes('sessions') ? readdirSync(join(home.home, 'sessions')) : [],
      [],
    );

    // A later process with no bus (an SSH session without a desktop): the recorded store is kept,
    // and its absence is an error, not a silent second copy in a file.
    const noBus = await runCli(['token'], { env: home.env });
    assert.equal(noBus.code, 1, noBus.stderr);
    assert.match(noBus.stderr, /keychain|Secret Service/i);
    assert.deepEqual(
      readdirSync(home.home).includes('sessions') ? readdirSync(join(home.home, 'sessions')) : [],
      [],
    );
  });

  it('KEYFOB_STORAGE=keychain with no keychain is an error, not a fallback', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const result = await runCli(['login', 'robot', '--profile', 'ci'], {
      env: { ...home.env, KEYFOB_STORAGE: 'keychain' },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /KEYFOB_STORAGE chooses the keychain store, but no keychain answered/);
  });

  it('encrypted-file with an identity file: works, and no token is in clear anywhere in the home', async () => {
    const home = makeHome(idp);
    const { generateIdentity } = await import('age-encryption');
    const identity = join(home.home, 'me.key');
    writeFileSync(identity, `${await generateIdentity()}\n`, { mode: 0o600 });
    const env = { ...home.env, KEYFOB_STORAGE: 'encrypted-file', KEYFOB_IDENTITY_FILE: identity };
    const login = await loginWithDevice(idp, { ...home, env });
    assert.equal(login.code, 0, login.stderr);
    const token = await runCli(['token'], { env });
    assert.equal(token.code, 0, token.stderr);
    const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
    assert.equal(status.profiles[0].store, 'encrypted-file');
    const disk = Object.values(filesUnder(home.home, 'latin1')).join('\n');
    assert.ok(!disk.includes(token.stdout.trim()), 'the access token is not in clear');
    assert.ok(!disk.includes('refresh_token'), 'no session JSON in clear');
  });
});
