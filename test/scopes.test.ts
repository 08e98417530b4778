/**
 * Scopes: a call that needs a scope the login was not granted fails naming the fix; a refresh
 * cannot add scopes, so `refresh --scopes` is a new authorization, which needs a person.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, InsufficientScope } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, robotApproving, runCli, type TestHome } from './support/cli.js';

let idp: DevIdp;
let home: TestHome;

before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp);
  assert.equal((await loginWithDevice(idp, home)).code, 0);
});
after(async () => {
  await idp?.close();
});

describe('scopes', () => {
  it('a scope the session lacks is InsufficientScope naming the step-up command', async () => {
    const result = await runCli(['token', '--scopes', 'api:admin'], { env: home.env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /was not granted api:admin; run `keyfob refresh --scopes api:admin`/);
    await assert.rejects(
      createKeyfob({ environment: home.env }).getToken({ scopes: ['api:admin'] }),
      (e: unknown) => e instanceof InsufficientScope && e.missingScopes.includes('api:admin'),
    );
  });

  it('refresh --scopes with no person there exits 2 naming the command', async () => {
    const result = await runCli(['refresh', '--scopes', 'api:admin'], { env: home.env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /run `keyfob refresh --scopes api:admin` at a terminal/);
  });

  it('a step-up login into the same profile adds the scope, and the API then allows it', async () => {
    const before = await runCli(['fetch', `${idp.api}/admin`], { env: home.env });
    assert.equal(before.code, 1);
    const kf = createKeyfob({ environment: home.env });
    const status = await kf.status();
    const granted = status.profiles.find((p) => p.name === 'default')?.scopes ?? [];
    const result = await kf.login({
      scopes: [...granted, 'api:admin'],
      flow: 'device',
      interaction: robotApproving(idp),
      persist: true,
    });
    assert.equal(result.profile, 'default');
    const token = await runCli(['token', '--scopes', 'api:admin'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    const after = await runCli(['fetch', `${idp.api}/admin`, '--json'], { env: home.env });
    assert.equal(after.code, 0, after.stderr);
    assert.equal(JSON.parse(after.stdout).admin, true);
  });
});
