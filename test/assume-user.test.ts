/**
 * `keyfob assume-user` and `kf.assumeUser` against dev-idp's control plane: the admin key from
 * the environment, from stdin, from a hidden prompt, then from the store when the token expires
 * (no prompt, the variable unset); wrong key, unknown user or tenant; a control plane changed in
 * the configuration; the assumed token at the tenant's regional API; whoami through users/me.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdminKeyRefused, createKeyfob, TenantNotFound, UserNotFound } from '@keyfob/core';
import type { DevIdp } from '@keyfob/dev-idp';
import { startIdp } from '../packages/dev-idp/test/helpers.js';
import { filesUnder, makeHome, runCli, type TestHome } from './support/cli.js';
import {
  adminProviderYaml,
  closedPort,
  diskState,
  ownServer,
  regionalHello,
  serverUrl,
} from './support/control-plane.js';
import { inTerminal } from './support/pty.js';

const ASSUME = ['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'user-alice'];

function adminHome(idp: DevIdp): TestHome {
  return makeHome(idp, adminProviderYaml(idp));
}

/** Asserts the key appears in none of the outputs. */
function assertNoKey(idp: DevIdp, ...outputs: string[]): void {
  for (const output of outputs) assert.ok(!output.includes(idp.adminApiKey), 'the admin key was printed');
}

describe('keyfob assume-user', () => {
  it('with the key from KEYFOB_ADMIN_API_KEY: prints who and until when; the token works at the regional API (Bearer and ks_uat); whoami via users/me', async (t) => {
    const idp = await startIdp(t);
    const home = adminHome(idp);
    const env = { ...home.env, KEYFOB_ADMIN_API_KEY: idp.adminApiKey, KEYFOB_DEBUG: '1' };
    const result = await runCli(ASSUME, { env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^Authenticated as user user-alice in tenant acme-eu$/m);
    const expires = /^Token expires: (\S+)$/m.exec(result.stderr)?.[1] ?? '';
    assert.ok(Date.parse(expires) > Date.now(), `an ISO expiry in the future: ${expires}`);
    assert.equal(new Date(expires).toISOString(), expires);
    assertNoKey(idp, result.stdout, result.stderr);
    assert.equal(idp.stats.controlPlane.assumeUser, 1);

    // Made active, like login: `token` needs no --profile.
    const token = await runCli(['token'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    const accessToken = token.stdout.trim();
    const asJson = await runCli(['token', '--json'], { env: home.env });
    assert.equal(JSON.parse(asJson.stdout).tenant?.id, 'acme-eu', 'token --json names the tenant');
    assert.equal((await regionalHello(idp, 'acme-eu', accessToken, 'bearer')).status, 200);
    assert.equal((await regionalHello(idp, 'acme-eu', accessToken, 'cookie')).status, 200);
    // `fetch` sends it to the provider's api_base (here the eu region's origin), and nowhere else.
    const fetched = await runCli(['fetch', `${serverUrl(idp, 'acme-eu')}/v1/hello`], { env: home.env });
    assert.equal(fetched.code, 0, fetched.stderr);
    // A relative URL is taken under api_base (the provider has no tenant server of its own).
    const relative = await runCli(['fetch', '/eu-west-1/v1/hello'], { env: home.env });
    assert.equal(relative.code, 0, relative.stderr);
    assert.equal(JSON.parse(relative.stdout).tenant_id, 'acme-eu');
    const elsewhere = await runCli(['fetch', `${idp.api}/hello`], { env: home.env });
    assert.equal(elsewhere.code, 1, elsewhere.stderr);
    assert.match(elsewhere.stderr, /ORIGIN_NOT_ALLOWED|not allowed|allow-origin/i);
    // The other region refuses it: the token is acme-eu's.
    assert.notEqual((await regionalHello(idp, 'acme-us', accessToken)).status, 200);

    const json = await runCli(['whoami', '--json'], { env: home.env });
    assert.equal(json.code, 0, json.stderr);
    const me = JSON.parse(json.stdout);
    assert.equal(me.id, 'user-alice');
    assert.equal(me.email, 'alice@example.com');
    assert.equal(me.tenant_id, 'acme-eu');
    assert.ok(Date.parse(me.expires_at) > Date.now());
    assert.equal(idp.stats.controlPlane.usersMe, 1);
    const table = await inTerminal(['whoami'], { ...home.env, NO_COLOR: '1' });
    assert.equal(table.code, 0, table.output);
    assert.match(table.output, /^id\s+user-alice\s*$/m);
    assert.match(table.output, /^email\s+alice@example\.com\s*$/m);
    assert.match(table.output, /^tenant_id\s+acme-eu\s*$/m);
    assert.match(table.output, /^expires_at\s+\d{4}-\d\d-\d\dT/m);

    // Into another profile with --profile: made active, as login does.
    const ops = await runCli([...ASSUME.slice(0, 3), '--user-id', 'user-bob', '--profile', 'ops'], { env });
    assert.equal(ops.code, 0, ops.stderr);
    const state = JSON.parse(readFileSync(join(home.home, 'state.json'), 'utf8'));
    assert.equal(state.active_profile, 'ops');
    const bob = await runCli(['whoami', '--json'], { env: home.env });
    assert.equal(JSON.parse(bob.stdout).id, 'user-bob');

    // The key lives only in the store: not in the state file or config.
    for (const [path, text] of Object.entries(filesUnder(home.home, 'latin1'))) {
      if (text.includes(idp.adminApiKey)) assert.match(path, /sessions/, `the key is in ${path}`);
    }
  });

  it('--admin-key-stdin saves the key; on expiry the token is assumed again with the variable unset and no prompt', async (t) => {
    const idp = await startIdp(t, { assumeUserTokenTtl: 8 });
    const home = adminHome(idp);
    const first = await runCli([...ASSUME, '--admin-key-stdin'], {
      env: home.env,
      input: `${idp.adminApiKey}\n`,
    });
    assert.equal(first.code, 0, first.stderr);
    assertNoKey(idp, first.stdout, first.stderr);
    const before = (await runCli(['token'], { env: home.env })).stdout.trim();
    assert.equal(idp.stats.controlPlane.assumeUser, 1);
    // Past half its 8-second lifetime the token is no longer fresh enough.
    await sleep(4500);
    // No key anywhere but the store; stdin empty and not a terminal: nobody could be asked.
    const again = await runCli(['token'], { env: home.env });
    assert.equal(again.code, 0, again.stderr);
    const after = again.stdout.trim();
    assert.notEqual(after, before, 'a new token');
    assert.equal(idp.stats.controlPlane.assumeUser, 2);
    assert.equal((await regionalHello(idp, 'acme-eu', after)).status, 200);
    assertNoKey(idp, again.stdout, again.stderr);
    // assume-user itself takes the stored key too.
    const bob = await runCli(['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'user-bob'], {
      env: home.env,
    });
    assert.equal(bob.code, 0, bob.stderr);
    assert.match(bob.stderr, /Authenticated as user user-bob in tenant acme-eu/);
  });

  it('at a terminal with no key anywhere: a hidden prompt, the key never echoed', async (t) => {
    const idp = await startIdp(t);
    const home = adminHome(idp);
    const run = await inTerminal(ASSUME, home.env, {
      until: /Admin API key: /,
      answer: `${idp.adminApiKey}\r`,
    });
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Authenticated as user user-alice in tenant acme-eu/);
    assertNoKey(idp, run.output);
  });

  it('a wrong key: exit 2, nothing stored, the key not printed', async (t) => {
    const idp = await startIdp(t);
    const home = adminHome(idp);
    const before = diskState(home.home);
    const wrong = 'not-the-admin-key-123';
    const result = await runCli(ASSUME, {
      env: { ...home.env, KEYFOB_ADMIN_API_KEY: wrong, KEYFOB_DEBUG: '1' },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /refused the admin API key/);
    assert.match(result.stderr, /invalid_admin_key/);
    assert.ok(!result.stderr.includes(wrong) && !result.stdout.includes(wrong));
    assert.deepEqual(diskState(home.home), before);
    // Nothing in the environment or a pipe either: exit 2 naming how to give it.
    const none = await runCli(ASSUME, { env: home.env });
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /KEYFOB_ADMIN_API_KEY|--admin-key-stdin/);
  });

  it('an unknown user, a user outside the tenant, an unknown tenant: exit 1 naming which', async (t) => {
    const idp = await startIdp(t);
    const home = adminHome(idp);
    const env = { ...home.env, KEYFOB_ADMIN_API_KEY: idp.adminApiKey };
    const before = diskState(home.home);
    const nobody = await runCli(['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'user-nobody'], {
      env,
    });
    assert.equal(nobody.code, 1, nobody.stderr);
    assert.match(nobody.stderr, /User not found: user-nobody in tenant acme-eu/);
    // bob belongs to acme-eu only.
    const outside = await runCli(['assume-user', '--tenant-id', 'acme-us', '--user-id', 'user-bob'], { env });
    assert.equal(outside.code, 1, outside.stderr);
    assert.match(outside.stderr, /User not found: user-bob in tenant acme-us/);
    const tenant = await runCli(['assume-user', '--tenant-id', 'acme-mars', '--user-id', 'user-alice'], {
      env,
    });
    assert.equal(tenant.code, 1, tenant.stderr);
    assert.match(tenant.stderr, /Tenant not found: acme-mars/);
    assert.deepEqual(diskState(home.home), before);
  });

  it('a control plane changed in config.yaml: the stored key is not sent there (exit 2 naming both)', async (t) => {
    const idp = await startIdp(t);
    const home = adminHome(idp);
    const first = await runCli([...ASSUME, '--admin-key-stdin'], { env: home.env, input: idp.adminApiKey });
    assert.equal(first.code, 0, first.stderr);
    const other = await ownServer(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"x.y.z"}');
    });
    const config = join(home.home, 'config.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace(idp.controlPlane, `${other.url}/cp`));
    const before = diskState(home.home);
    const again = await runCli(ASSUME, { env: home.env });
    assert.equal(again.code, 2, again.stderr);
    assert.ok(again.stderr.includes(`control plane ${idp.controlPlane}`), again.stderr);
    assert.ok(again.stderr.includes(`control plane ${other.url}/cp`), again.stderr);
    assert.match(again.stderr, /Nothing was sent/);
    const who = await runCli(['whoami'], { env: home.env });
    assert.equal(who.code, 2, who.stderr);
    assert.ok(who.stderr.includes(`control plane ${other.url}/cp`), who.stderr);
    assert.equal(other.requests.length, 0, 'nothing reached the other control plane');
    assert.deepEqual(diskState(home.home), before);
  });

  it('a control plane that is down: NETWORK, exit 1, nothing stored', async (t) => {
    const idp = await startIdp(t);
    const home = makeHome(idp, adminProviderYaml(idp, `${await closedPort()}/cp`));
    const before = diskState(home.home);
    const result = await runCli(ASSUME, { env: { ...home.env, KEYFOB_ADMIN_API_KEY: idp.adminApiKey } });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /assume_user at http:\/\/127\.0\.0\.1:\d+\/cp\/v1\/auth\/assume_user/);
    assert.match(result.stderr, /refused|connect/i);
    assertNoKey(idp, result.stderr);
    assert.deepEqual(diskState(home.home), before);
  });
});

describe('kf.assumeUser', () => {
  it('assumes, serves the token, answers whoami; a wrong key is AdminKeyRefused; unknown ones are UserNotFound / TenantNotFound', async (t) => {
    const idp = await startIdp(t);
    const home = adminHome(idp);
    const kf = createKeyfob({ home: home.home, environment: {} });
    const result = await kf.assumeUser({
      tenantId: 'acme-eu',
      userId: 'user-alice',
      adminApiKey: idp.adminApiKey,
    });
    assert.equal(result.profile, 'default');
    assert.equal(result.store, 'memory');
    assert.ok(result.expiresAt && Date.parse(result.expiresAt) > Date.now());
    const token = await kf.getToken();
    assert.equal((await regionalHello(idp, 'acme-eu', token.access_token)).status, 200);
    const me = await kf.whoami();
    assert.equal(me.id, 'user-alice');
    assert.equal(me.tenant_id, 'acme-eu');
    await assert.rejects(
      kf.assumeUser({ tenantId: 'acme-eu', userId: 'user-alice', adminApiKey: 'wrong-key' }),
      (error: unknown) => error instanceof AdminKeyRefused && error.exitCode === 2,
    );
    await assert.rejects(
      kf.assumeUser({ tenantId: 'acme-eu', userId: 'user-zed', adminApiKey: idp.adminApiKey }),
      UserNotFound,
    );
    await assert.rejects(
      kf.assumeUser({ tenantId: 'nope', userId: 'user-alice', adminApiKey: idp.adminApiKey }),
      TenantNotFound,
    );
  });
});
