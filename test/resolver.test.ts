/**
 * The resolution chain from the command line and the library: tokens and machine credentials
 * from the environment, conflicts, `explain`, `switch`, and a token file rewritten mid-run.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';

let idp: DevIdp;
let home: TestHome;
let machineToken: string;

/** An unsigned JWT with the given claims: enough for keyfob to read `exp` (it never trusts it). */
function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
  assert.equal((await loginWithDevice(idp, home)).code, 0);
  const machine = await runCli(['token', '--profile', 'ci'], { env: home.env });
  machineToken = machine.stdout.trim();
});

after(async () => {
  await idp?.close();
});

describe('credentials from the environment', () => {
  it('KEYFOB_TOKEN wins over the active profile; status and explain say so', async () => {
    const env = { ...home.env, KEYFOB_TOKEN: machineToken };
    const token = await runCli(['token', '--json'], { env });
    assert.equal(token.code, 0, token.stderr);
    const parsed = JSON.parse(token.stdout);
    assert.equal(parsed.access_token, machineToken);
    assert.equal(parsed.profile, 'KEYFOB_TOKEN');
    const api = await runCli(['fetch', `${idp.api}/hello`], { env });
    assert.equal(api.code, 0, api.stderr);
    const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout);
    assert.equal(status.overridden_by, 'KEYFOB_TOKEN');
    const explain = await runCli(['explain', '--json'], { env });
    const report = JSON.parse(explain.stdout);
    assert.equal(report.resolved.source, 'KEYFOB_TOKEN');
    assert.ok(
      report.steps.some(
        (s: { source: string; outcome: string }) => s.source === 'active profile' && s.outcome === 'hidden',
      ),
    );
    assert.ok(!explain.stdout.includes(machineToken), 'explain never prints the token');
    const text = await runCli(['explain'], { env });
    assert.match(text.stdout, /Using KEYFOB_TOKEN \(environment level\)/);
  });

  it('--profile (explicit) wins over KEYFOB_TOKEN', async () => {
    const env = { ...home.env, KEYFOB_TOKEN: machineToken };
    const token = await runCli(['token', '--json', '--profile', 'default'], { env });
    assert.equal(token.code, 0, token.stderr);
    assert.equal(JSON.parse(token.stdout).profile, 'default');
  });

  it('an expired static JWT is not renewable: exit 2 at once', async () => {
    const expired = jwt({ sub: 'x', exp: Math.floor(Date.now() / 1000) - 60 });
    const result = await runCli(['token'], { env: { ...home.env, KEYFOB_TOKEN: expired } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /the token from KEYFOB_TOKEN expired at .* and cannot be renewed/);
    assert.ok(!result.stderr.includes(expired));
  });

  it('a 401 on a static token is exit 2 with no refresh attempt', async () => {
    const bogus = jwt({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 600 });
    const refreshes = idp.stats.refreshRequests;
    const result = await runCli(['fetch', `${idp.api}/hello`], { env: { ...home.env, KEYFOB_TOKEN: bogus } });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(idp.stats.refreshRequests, refreshes);
  });

  it('KEYFOB_CLIENT_ID + KEYFOB_CLIENT_SECRET authenticate on the default provider, with no prompt', async () => {
    const env = {
      ...home.env,
      KEYFOB_CLIENT_ID: idp.clients.machine.client_id,
      KEYFOB_CLIENT_SECRET: idp.clients.machine.client_secret,
    };
    const result = await runCli(['fetch', `${idp.api}/hello`, '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).client_id, idp.clients.machine.client_id);
  });

  it('two kinds of credential in the environment are a conflict naming both', async () => {
    const env = {
      ...home.env,
      KEYFOB_TOKEN: machineToken,
      KEYFOB_CLIENT_ID: 'c',
      KEYFOB_CLIENT_SECRET: 's3cr3t-canary',
    };
    const result = await runCli(['token'], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /both KEYFOB_TOKEN and KEYFOB_CLIENT_ID/);
    assert.ok(!result.stderr.includes('s3cr3t-canary') && !result.stderr.includes(machineToken));
  });

  it('a token file rewritten mid-run is picked up (library)', async () => {
    const file = join(home.home, 'projected-token');
    const first = jwt({ sub: 'one', exp: Math.floor(Date.now() / 1000) + 600 });
    const second = jwt({ sub: 'two', exp: Math.floor(Date.now() / 1000) + 900 });
    writeFileSync(file, `${first}\n`);
    const kf = createKeyfob({ environment: { ...home.env, KEYFOB_TOKEN_FILE: file } });
    assert.equal((await kf.getToken()).access_token, first);
    assert.equal((await kf.getToken()).access_token, first);
    await new Promise((resolve) => setTimeout(resolve, 20));
    writeFileSync(file, `${second}\n`);
    assert.equal((await kf.getToken()).access_token, second);
  });
});

describe('switch', () => {
  it('changes the active profile; an unknown one is refused, listing the known ones', async () => {
    const local = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    assert.equal((await loginWithDevice(idp, local)).code, 0);
    const switched = await runCli(['switch', 'ci'], { env: local.env });
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stderr, /Active profile: ci/);
    const status = JSON.parse((await runCli(['status', '--json'], { env: local.env })).stdout);
    assert.equal(status.active_profile, 'ci');
    const token = await runCli(['token', '--json'], { env: local.env });
    assert.equal(JSON.parse(token.stdout).profile, 'ci');
    const unknown = await runCli(['switch', 'nope'], { env: local.env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /there is no profile nope; known profiles: ci, default/);
    const hostile = await runCli(['switch', '../etc'], { env: local.env });
    assert.equal(hostile.code, 1);
  });
});

describe('logout --all', () => {
  it('revokes and removes every profile, and the state forgets them', async () => {
    const local = makeHome(idp);
    assert.equal((await loginWithDevice(idp, local)).code, 0);
    assert.equal((await loginWithDevice(idp, local, ['--profile', 'work'])).code, 0);
    const out = await runCli(['logout', '--all'], { env: local.env });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /Logged out of profile default \(refresh token revoked\)/);
    assert.match(out.stderr, /Logged out of profile work \(refresh token revoked\)/);
    const status = JSON.parse((await runCli(['status', '--json'], { env: local.env })).stdout);
    assert.deepEqual(status.profiles, []);
    // logout forgot the profile (config.yaml does not name it): it no longer exists, which is
    // ProfileNotFound (exit 1) naming the login that creates it, not AuthenticationRequired.
    const gone = await runCli(['token', '--profile', 'work'], { env: local.env });
    assert.equal(gone.code, 1, gone.stderr);
    assert.match(gone.stderr, /there is no profile work .*run `keyfob login --profile work`/);
    const again = await runCli(['logout', '--all'], { env: local.env });
    assert.equal(again.code, 0);
    assert.match(again.stderr, /No stored session/);
  });
});
