/**
 * `keyfob service-principal create|list|delete` and `kf.servicePrincipals` against dev-idp's
 * control plane, with the token of an assume_user profile: the secret printed once, a token by
 * client credentials at the answer's token_endpoint accepted by the tenant's regional API, the
 * principal deleted and then refused (exit 2); `--save-profile` making a machine profile whose
 * `token` works at once, its secret only in the store.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import type { DevIdp } from '@keyfob/dev-idp';
import { startIdp } from '../packages/dev-idp/test/helpers.js';
import { filesUnder, makeHome, runCli, type TestHome } from './support/cli.js';
import { adminProviderYaml, regionalHello, serverUrl } from './support/control-plane.js';

/** A home whose active profile is alice assumed in acme-eu. */
async function assumedHome(idp: DevIdp): Promise<TestHome> {
  const home = makeHome(idp, adminProviderYaml(idp));
  const assumed = await runCli(['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'user-alice'], {
    env: { ...home.env, KEYFOB_ADMIN_API_KEY: idp.adminApiKey },
  });
  assert.equal(assumed.code, 0, assumed.stderr);
  return home;
}

/** Client credentials at `endpoint` with Basic authentication, by raw HTTP. */
async function clientCredentials(endpoint: string, id: string, secret: string) {
  const basic = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('keyfob service-principal', () => {
  it('create prints the secret once; its token works at the regional API; list shows it; delete makes it refused', async (t) => {
    const idp = await startIdp(t);
    const home = await assumedHome(idp);
    const created = await runCli(['service-principal', 'create', '--name', 'ci', '--description', 'the CI'], {
      env: home.env,
    });
    assert.equal(created.code, 0, created.stderr);
    const principal = JSON.parse(created.stdout);
    assert.equal(principal.name, 'ci');
    assert.equal(principal.description, 'the CI');
    assert.equal(principal.tenant_id, 'acme-eu');
    assert.equal(principal.token_endpoint, `${idp.controlPlane}/oauth/token`);
    assert.ok(typeof principal.client_secret === 'string' && principal.client_secret.length > 10);
    assert.match(created.stderr, /not shown again/);
    assert.ok(!created.stderr.includes(principal.client_secret), 'the secret only on stdout');

    const token = await clientCredentials(
      principal.token_endpoint,
      principal.client_id,
      principal.client_secret,
    );
    assert.equal(token.status, 200);
    const hello = await regionalHello(idp, 'acme-eu', String(token.body.access_token));
    assert.equal(hello.status, 200);

    const list = await runCli(['service-principal', 'list', '--json'], { env: home.env });
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout).service_principals;
    assert.deepEqual(
      listed.map((p: { client_id: string; name: string }) => [p.client_id, p.name]),
      [[principal.client_id, 'ci']],
    );
    assert.ok(!list.stdout.includes(principal.client_secret));

    const deleted = await runCli(['service-principal', 'delete', principal.client_id], { env: home.env });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /Deleted service principal/);
    const refused = await clientCredentials(
      principal.token_endpoint,
      principal.client_id,
      principal.client_secret,
    );
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'invalid_client');
    // Deleting it again: a clear 404.
    const again = await runCli(['service-principal', 'delete', principal.client_id], { env: home.env });
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /Service principal not found: \S+ is not a service principal of this tenant/);
  });

  it('--save-profile: never printed, only stored; `token --profile P` works at once; deleted → exit 2', async (t) => {
    const idp = await startIdp(t);
    const home = await assumedHome(idp);
    const created = await runCli(
      ['service-principal', 'create', '--name', 'robot', '--save-profile', 'ci-bot'],
      {
        env: home.env,
      },
    );
    assert.equal(created.code, 0, created.stderr);
    const shown = JSON.parse(created.stdout);
    assert.equal(shown.client_secret, undefined);
    assert.equal(shown.profile, 'ci-bot');
    assert.match(created.stderr, /Saved service principal \S+ as profile ci-bot/);
    const state = JSON.parse(readFileSync(join(home.home, 'state.json'), 'utf8'));
    assert.equal(state.active_profile, 'default', 'not made active');
    assert.equal(state.profiles['ci-bot'].tenant.id, 'acme-eu');
    // The secret is in the store (the file store here) and nowhere else in the home.
    const session = JSON.parse(readFileSync(join(home.home, 'sessions', 'ci-bot.json'), 'utf8')).session;
    const secret: string = session.client_secret;
    assert.ok(secret.length > 10);
    for (const [path, text] of Object.entries(filesUnder(home.home, 'latin1'))) {
      if (text.includes(secret)) assert.equal(path, join(home.home, 'sessions', 'ci-bot.json'));
    }
    assert.ok(!created.stdout.includes(secret) && !created.stderr.includes(secret));

    const before = idp.stats.controlPlane.servicePrincipalTokens;
    const token = await runCli(['token', '--profile', 'ci-bot'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    assert.equal(idp.stats.controlPlane.servicePrincipalTokens, before + 1);
    assert.equal((await regionalHello(idp, 'acme-eu', token.stdout.trim())).status, 200);
    // Its tenant's regional server was named by the tenant list at creation (an assumed session
    // knows its tenant only by id): relative URLs go there.
    const hello = await runCli(['fetch', '--profile', 'ci-bot', '/v1/hello'], { env: home.env });
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).sub, shown.client_id);
    assert.equal(state.profiles['ci-bot'].tenant.server_url, serverUrl(idp, 'acme-eu'));
    const me = await runCli(['whoami', '--profile', 'ci-bot', '--json'], { env: home.env });
    assert.equal(me.code, 0, me.stderr);
    assert.equal(JSON.parse(me.stdout).id, shown.client_id);

    const deleted = await runCli(['service-principal', 'delete', shown.client_id], { env: home.env });
    assert.equal(deleted.code, 0, deleted.stderr);
    const refused = await runCli(['refresh', '--profile', 'ci-bot'], { env: home.env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /service principal \S+ was refused at .*oauth\/token \(invalid_client\): it was deleted/,
    );
    assert.ok(!refused.stderr.includes(secret));

    // The name is taken now: refused before anything is created.
    const count = JSON.parse(
      (await runCli(['service-principal', 'list', '--json'], { env: home.env })).stdout,
    ).service_principals.length;
    const taken = await runCli(['service-principal', 'create', '--name', 'x', '--save-profile', 'ci-bot'], {
      env: home.env,
    });
    assert.equal(taken.code, 1, taken.stderr);
    assert.match(taken.stderr, /profile ci-bot already exists/);
    const after = JSON.parse(
      (await runCli(['service-principal', 'list', '--json'], { env: home.env })).stdout,
    );
    assert.equal(after.service_principals.length, count);
  });

  it('with a profile whose provider has no control plane: a clear error, nothing sent', async (t) => {
    const idp = await startIdp(t);
    const home = makeHome(idp, `${adminProviderYaml(idp)}\nprofiles:\n  ci:\n    provider: robot\n`);
    const result = await runCli(['service-principal', 'list', '--profile', 'ci'], { env: home.env });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /a profile of an exchange or assume_user provider/);
    assert.equal(result.stdout, '');
    assert.equal(idp.stats.controlPlane.assumeUser + idp.stats.controlPlane.usersMe, 0);
  });
});

describe('kf.servicePrincipals', () => {
  it('create (saved and not), list, delete with an assumed profile', async (t) => {
    const idp = await startIdp(t);
    const home = makeHome(idp, adminProviderYaml(idp));
    const kf = createKeyfob({ home: home.home, environment: {} });
    await kf.assumeUser({ tenantId: 'acme-eu', userId: 'user-alice', adminApiKey: idp.adminApiKey });
    const shown = await kf.servicePrincipals.create({ name: 'one' });
    assert.ok(shown.clientSecret);
    assert.equal(shown.savedProfile, null);
    assert.equal(shown.servicePrincipal.tenantId, 'acme-eu');
    const saved = await kf.servicePrincipals.create({ name: 'two', saveProfile: 'two', persist: false });
    assert.equal(saved.clientSecret, null);
    const token = await kf.getToken({ profile: 'two' });
    assert.equal((await regionalHello(idp, 'acme-eu', token.access_token)).status, 200);
    const list = await kf.servicePrincipals.list();
    assert.deepEqual(list.map((p) => p.name).sort(), ['one', 'two']);
    await kf.servicePrincipals.delete(shown.servicePrincipal.clientId);
    assert.deepEqual(
      (await kf.servicePrincipals.list()).map((p) => p.name),
      ['two'],
    );
    await assert.rejects(kf.servicePrincipals.delete(shown.servicePrincipal.clientId), {
      code: 'CONTROL_PLANE_ERROR',
      status: 404,
    });
    await kf.servicePrincipals.delete(saved.servicePrincipal.clientId);
    await assert.rejects(kf.getToken({ profile: 'two', forceRefresh: true }), {
      code: 'AUTHENTICATION_REQUIRED',
      exitCode: 2,
    });
  });
});
