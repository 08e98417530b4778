/**
 * Control planes end to end (DESIGN.md, Control planes), through the real CLI and the library
 * against dev-idp's control plane and its regional servers: a password login exchanged for a
 * tenant- and region-scoped token, the tenant chosen in DESIGN.md's order, tenants listed and
 * switched without a new login, one-call tokens for another tenant kept apart from the current
 * one, the regional server reached by relative URLs and no other region, and renewal with no
 * prompt across a long loop of calls.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, type LoginInteraction } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder, loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { inTerminal } from './support/pty.js';
import { assertMatchesSchema } from './support/schemas.js';

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp({ controlPlaneTokenTtl: 300 });
});
after(async () => {
  await idp?.close();
});

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const BOB = { email: 'bob@example.com', password: 'bob-password-2' };

/** Providers `pw` (password at dev-idp) and `cloud` (an exchange of pw's login at dev-idp's control plane). */
function exchangeYaml(target: DevIdp, extra = ''): string {
  return [
    '  pw:',
    '    type: password',
    `    issuer: ${target.issuer}`,
    `    client_id: ${target.clients.cli.client_id}`,
    '    scopes: [openid, profile, email, offline_access]',
    '  cloud:',
    '    type: exchange',
    '    login: pw',
    `    control_plane: ${target.controlPlane}`,
    extra,
  ]
    .filter(Boolean)
    .join('\n');
}

function cloudHome(extra = ''): TestHome {
  return makeHome(idp, exchangeYaml(idp, extra));
}

function login(home: TestHome, user: { email: string; password: string }, extra: string[] = [], env = {}) {
  return runCli(['login', 'cloud', '--email', user.email, '--password-stdin', ...extra], {
    env: { ...home.env, ...env },
    input: `${user.password}\n`,
  });
}

/** Everything stored but the parsed-config cache. */
function stored(home: TestHome): Record<string, string> {
  const files = filesUnder(home.home);
  for (const path of Object.keys(files)) if (path.startsWith(join(home.home, 'cache'))) delete files[path];
  return files;
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

describe('keyfob with a control plane', () => {
  it('logs in, lists tenants, calls the regional server, switches tenant without a new login', async () => {
    const home = cloudHome();
    const first = await login(home, ALICE, ['--tenant', 'acme-eu']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /tenant acme-eu/);

    const listed = await runCli(['tenants', '--json'], { env: home.env });
    assert.equal(listed.code, 0, listed.stderr);
    const tenants = JSON.parse(listed.stdout);
    assertMatchesSchema('tenants', tenants);
    assert.equal(tenants.current, 'acme-eu');
    assert.deepEqual(
      tenants.tenants.map((t: { id: string }) => t.id),
      ['acme-eu', 'acme-us'],
    );
    const table = await runCli(['tenants'], { env: home.env });
    assert.match(table.stdout, /^\* acme-eu/m);
    assert.match(table.stdout, /^ {2}acme-us/m);

    const hello = await runCli(['fetch', '/v1/hello'], { env: home.env });
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-eu');
    assert.equal(JSON.parse(hello.stdout).region, 'eu-west-1');

    const logins = { ...idp.stats.tokenRequests };
    const exchanges = idp.stats.controlPlane.exchanges;
    const switched = await runCli(['switch', '--tenant', 'acme-us'], { env: home.env });
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stderr, /Current tenant of profile default: acme-us \(Acme US, us-east-1\)/);
    assert.deepEqual(idp.stats.tokenRequests, logins, 'the identity provider saw no new login');
    assert.equal(idp.stats.controlPlane.exchanges, exchanges + 1, 'exactly one new exchange');

    const token = await runCli(['token', '--json'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    const json = JSON.parse(token.stdout);
    assertMatchesSchema('token', json);
    assert.deepEqual(json.tenant, {
      id: 'acme-us',
      name: 'Acme US',
      region: 'us-east-1',
      server_url: idp.regions['us-east-1'],
    });
    assert.equal(claims(json.access_token).tenant_id, 'acme-us');
    const us = await runCli(['fetch', '/v1/hello'], { env: home.env });
    assert.equal(JSON.parse(us.stdout).tenant_id, 'acme-us');
    const status = await runCli(['status', '--json'], { env: home.env });
    assert.equal(JSON.parse(status.stdout).profiles[0].tenant.id, 'acme-us');

    // Logout revokes the login's refresh token at the identity provider and removes the session.
    const revocations = idp.stats.revocations;
    const logout = await runCli(['logout'], { env: home.env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(idp.stats.revocations, revocations + 1);
    assert.equal((await runCli(['token'], { env: home.env })).code, 2);
  });

  it('token --tenant is a one-call exchange: not made current, never overwriting the current token', async () => {
    const home = cloudHome();
    assert.equal((await login(home, ALICE, ['--tenant', 'acme-eu'])).code, 0);
    const current = JSON.parse((await runCli(['token', '--json'], { env: home.env })).stdout);
    const other = await runCli(['token', '--json', '--tenant', 'acme-us'], { env: home.env });
    assert.equal(other.code, 0, other.stderr);
    const otherJson = JSON.parse(other.stdout);
    assert.equal(otherJson.tenant.id, 'acme-us');
    assert.equal(claims(otherJson.access_token).tenant_id, 'acme-us');
    // Cached with the session: asked again, the same token and no new exchange.
    const exchanges = idp.stats.controlPlane.exchanges;
    const again = JSON.parse(
      (await runCli(['token', '--json', '--tenant', 'acme-us'], { env: home.env })).stdout,
    );
    assert.equal(again.access_token, otherJson.access_token);
    assert.equal(idp.stats.controlPlane.exchanges, exchanges);
    // The current tenant and its token are untouched, through the fast path and the full one.
    const after = JSON.parse((await runCli(['token', '--json'], { env: home.env })).stdout);
    assert.equal(after.access_token, current.access_token);
    assert.equal(after.tenant.id, 'acme-eu');
    const viaEnv = JSON.parse(
      (await runCli(['token', '--json'], { env: { ...home.env, KEYFOB_TENANT: 'acme-us' } })).stdout,
    );
    assert.equal(
      viaEnv.access_token,
      otherJson.access_token,
      'KEYFOB_TENANT is not answered by the fast path',
    );
    assert.equal(
      JSON.parse((await runCli(['tenants', '--json'], { env: home.env })).stdout).current,
      'acme-eu',
    );

    // The other region's server refuses this tenant's token, even when keyfob is told to send it.
    const cross = await runCli(
      [
        'fetch',
        `${idp.regions['us-east-1']}/v1/hello`,
        '--allow-origin',
        new URL(idp.regions['us-east-1'] ?? '').origin,
      ],
      { env: home.env },
    );
    assert.equal(cross.code, 2, cross.stderr);
    assert.match(cross.stderr, /refused the credential \(HTTP 401\)/);
    // Without that, keyfob does not send it there at all.
    const refused = await runCli(['fetch', `${idp.regions['us-east-1']}/v1/hello`], { env: home.env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not one of the origins this credential may be sent to/);
  });

  it('a tenant the user is not in: exit 1, "Tenant not found: …; you belong to: …"', async () => {
    const home = cloudHome();
    const before = stored(home);
    const result = await login(home, BOB, ['--tenant', 'acme-us']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /Tenant not found: acme-us; you belong to: acme-eu \(Acme Europe\)/);
    assert.equal(result.stdout, '');
    assert.deepEqual(Object.keys(stored(home)).sort(), Object.keys(before).sort(), 'no session stored');

    assert.equal((await login(home, ALICE, ['--tenant', 'acme-eu'])).code, 0);
    const token = await runCli(['token', '--tenant', 'nope'], { env: home.env });
    assert.equal(token.code, 1);
    assert.match(
      token.stderr,
      /Tenant not found: nope; you belong to: acme-eu \(Acme Europe\), acme-us \(Acme US\)/,
    );
    assert.equal(token.stdout, '');
  });

  it('the tenant in DESIGN.md order: required when nothing decides, the only one, the variable, the provider', async () => {
    const home = cloudHome();
    const required = await login(home, ALICE);
    assert.equal(required.code, 1, required.stderr);
    assert.match(required.stderr, /TENANT_REQUIRED|a tenant is required/);
    assert.match(required.stderr, /acme-eu \(Acme Europe\), acme-us \(Acme US\)/);
    assert.match(required.stderr, /--tenant ID/);

    const bob = await login(cloudHome(), BOB);
    assert.equal(bob.code, 0, bob.stderr);
    assert.match(bob.stderr, /tenant acme-eu/, "bob's only tenant");

    const fromEnv = await login(cloudHome(), ALICE, [], { KEYFOB_TENANT: 'acme-us' });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    assert.match(fromEnv.stderr, /tenant acme-us/);

    const providerHome = cloudHome('    tenant: acme-us');
    const fromProvider = await login(providerHome, ALICE);
    assert.match(fromProvider.stderr, /tenant acme-us/);
    const flagWins = await login(providerHome, ALICE, ['--tenant', 'acme-eu'], { KEYFOB_TENANT: 'acme-us' });
    assert.match(flagWins.stderr, /tenant acme-eu/);
  });

  it('at a terminal, with nothing deciding, the person chooses the tenant', async () => {
    const home = cloudHome();
    const run = await inTerminal(['login', 'cloud'], home.env, [
      { until: /Email: /, answer: `${ALICE.email}\r` },
      { until: /Password: /, answer: `${ALICE.password}\r` },
      { until: /Choose 1-2: /, answer: '2\r' },
    ]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.output, /Which tenant\?/);
    assert.match(run.output, /1\) acme-eu \(Acme Europe, eu-west-1\)/);
    assert.match(run.output, /Logged in to cloud .*tenant acme-us/);
  });

  it('an explicit profile with its own tenant: --tenant conflicts, KEYFOB_TENANT is hidden and explain says so', async () => {
    const home = cloudHome();
    assert.equal((await login(home, ALICE, ['--tenant', 'acme-eu', '--profile', 'work'])).code, 0);
    const conflict = await runCli(['token', '--profile', 'work', '--tenant', 'acme-us'], { env: home.env });
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /conflicts with profile work, which carries tenant acme-eu/);
    const env = { ...home.env, KEYFOB_TENANT: 'acme-us' };
    const hidden = JSON.parse((await runCli(['token', '--json', '--profile', 'work'], { env })).stdout);
    assert.equal(hidden.tenant.id, 'acme-eu');
    const explain = await runCli(['explain', '--profile', 'work'], { env });
    assert.match(explain.stdout, /KEYFOB_TENANT.*hidden/s);
    // On the selected (not named) profile, the variable asks for a one-call token.
    const active = JSON.parse((await runCli(['token', '--json'], { env })).stdout);
    assert.equal(active.tenant.id, 'acme-us');
  });

  it('a tenant is never silently ignored: --tenant with a provider without a control plane is an error', async () => {
    const home = makeHome(idp);
    const robot = await runCli(['login', 'robot'], { env: home.env });
    assert.equal(robot.code, 0, robot.stderr);
    const token = await runCli(['token', '--tenant', 'acme-eu'], { env: home.env });
    assert.equal(token.code, 1);
    assert.match(token.stderr, /provider robot \(type client_credentials\) has no control plane/);
    assert.equal(token.stdout, '');
    const tenants = await runCli(['tenants'], { env: home.env });
    assert.equal(tenants.code, 1);
    assert.match(tenants.stderr, /no control plane/);
    const before = stored(home);
    for (const args of [
      ['login', 'robot', '--tenant', 'acme-eu'],
      ['fetch', '/v1/hello', '--tenant', 'acme-eu'],
      ['switch', '--tenant', 'acme-eu'],
    ]) {
      const result = await runCli(args, { env: home.env });
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /no control plane/);
      assert.equal(result.stdout, '');
    }
    const fromEnv = await runCli(['login', 'robot'], { env: { ...home.env, KEYFOB_TENANT: 'acme-eu' } });
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /KEYFOB_TENANT names tenant acme-eu, but provider robot/);
    assert.deepEqual(stored(home), before, 'nothing changed on disk');
  });

  it('a client_credentials login under an exchange provider gets the tenant marked default', async () => {
    const home = makeHome(
      idp,
      ['  machine:', '    type: exchange', '    login: robot', `    control_plane: ${idp.controlPlane}`].join(
        '\n',
      ),
    );
    const result = await runCli(['login', 'machine'], { env: home.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /tenant acme-us/);
    const hello = await runCli(['fetch', '/v1/hello'], { env: home.env });
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-us');
    const eu = await runCli(['fetch', '/v1/hello', '--tenant', 'acme-eu'], { env: home.env });
    assert.equal(JSON.parse(eu.stdout).tenant_id, 'acme-eu');

    // A machine profile needs no login: its first token (and exchange) on demand.
    const fresh = makeHome(
      idp,
      [
        '  machine:',
        '    type: exchange',
        '    login: robot',
        `    control_plane: ${idp.controlPlane}`,
        'profiles:',
        '  ci:',
        '    provider: machine',
      ].join('\n'),
    );
    const token = await runCli(['token', '--json', '--profile', 'ci', '--tenant', 'acme-eu'], {
      env: fresh.env,
    });
    assert.equal(token.code, 0, token.stderr);
    assert.equal(JSON.parse(token.stdout).tenant.id, 'acme-eu');
  });

  it('a device login (oidc) under an exchange provider', async () => {
    const home = makeHome(
      idp,
      ['  web:', '    type: exchange', '    login: dev', `    control_plane: ${idp.controlPlane}`].join('\n'),
    );
    const result = await loginWithDevice(idp, home, ['web', '--tenant', 'acme-eu']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Logged in to web .*tenant acme-eu/);
    const hello = await runCli(['fetch', '/v1/hello'], { env: home.env });
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-eu');
    // Refreshing renews the exchanged token from the login with no prompt.
    const before = JSON.parse((await runCli(['token', '--json'], { env: home.env })).stdout);
    const refreshed = await runCli(['refresh'], { env: home.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const after = JSON.parse((await runCli(['token', '--json'], { env: home.env })).stdout);
    assert.notEqual(after.access_token, before.access_token);
    assert.equal(after.tenant.id, 'acme-eu');
  });

  it("a token from outside: the login's own ID token is exchanged for the tenant; any other is used as it is", async () => {
    const home = cloudHome();
    const answer = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: idp.clients.cli.client_id,
        username: ALICE.email,
        password: ALICE.password,
        scope: 'openid email',
      }),
    });
    const { id_token: idToken } = (await answer.json()) as { id_token: string };
    const env = { ...home.env, KEYFOB_PROVIDER: 'cloud', KEYFOB_TOKEN: idToken, KEYFOB_TENANT: 'acme-us' };
    const token = await runCli(['token', '--json'], { env });
    assert.equal(token.code, 0, token.stderr);
    const json = JSON.parse(token.stdout);
    assert.equal(json.tenant.id, 'acme-us');
    assert.notEqual(json.access_token, idToken);
    assert.equal(claims(json.access_token).tenant_id, 'acme-us');
    const hello = await runCli(['fetch', '/v1/hello'], { env });
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-us');

    // The control plane's own token is not the login's: used as it is, and no tenant with it.
    const asIs = { ...home.env, KEYFOB_PROVIDER: 'cloud', KEYFOB_TOKEN: json.access_token };
    const plain = await runCli(['token'], { env: asIs });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(plain.stdout.trim(), json.access_token);
    const refused = await runCli(['token', '--tenant', 'acme-eu'], { env: asIs });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not issued by the login of provider cloud/);
    assert.equal(refused.stdout, '');
  });

  it("a session is bound to its login's place and its control plane: another one gets nothing", async () => {
    const home = cloudHome();
    assert.equal((await login(home, ALICE, ['--tenant', 'acme-eu'])).code, 0);
    const config = join(home.home, 'config.yaml');
    const original = readFileSync(config, 'utf8');
    const elsewhere = await startDevIdp();
    try {
      for (const [from, to, place] of [
        [idp.controlPlane, elsewhere.controlPlane, 'control plane'],
        [`issuer: ${idp.issuer}`, `issuer: ${elsewhere.issuer}`, 'issuer'],
      ] as const) {
        writeFileSync(config, original.replaceAll(from, to));
        const before = stored(home);
        const exchanges = elsewhere.stats.controlPlane.exchanges + elsewhere.stats.controlPlane.tenants;
        const result = await runCli(['token', '--tenant', 'acme-us'], { env: home.env });
        assert.equal(result.code, 2, result.stderr);
        assert.match(
          result.stderr,
          new RegExp(`was logged in at ${place} .*now names ${place} .*Nothing was sent`),
        );
        assert.equal(
          elsewhere.stats.controlPlane.exchanges + elsewhere.stats.controlPlane.tenants,
          exchanges,
        );
        assert.deepEqual(elsewhere.stats.tokenRequests, {});
        assert.deepEqual(stored(home), before);
      }
    } finally {
      await elsewhere.close();
      writeFileSync(config, original);
    }
  });

  it('a control plane that is down: NETWORK, nothing stored', async () => {
    const down = await startDevIdp();
    const controlPlane = down.controlPlane;
    await down.close();
    const home = makeHome(idp, exchangeYaml(idp).replace(idp.controlPlane, controlPlane));
    const before = stored(home);
    const result = await login(home, ALICE, ['--tenant', 'acme-eu']);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /listing tenants at .* failed: could not connect/);
    assert.equal(result.stdout, '');
    assert.deepEqual(Object.keys(stored(home)).sort(), Object.keys(before).sort());
  });
});

describe('the library with a control plane', () => {
  const nobody: LoginInteraction = {
    showAuthorizationUrl: () => assert.fail('no prompt after the first login'),
    showDeviceCode: () => assert.fail('no prompt after the first login'),
    openBrowser: async () => assert.fail('no prompt after the first login'),
    waiting: () => () => {},
    notice() {},
  };

  it('getToken({ tenant }), tenants(), switchTenant() and fetch of the regional server', async () => {
    const home = mkdtempSync(join(tmpdir(), 'keyfob-cp-'));
    const kf = createKeyfob({ home, environment: {}, config: configFor(idp) });
    await kf.login({
      provider: 'cloud',
      tenant: 'acme-us',
      ...ALICE,
      interaction: nobody,
      personPresent: false,
    });
    const us = await kf.getToken();
    assert.equal(us.tenant?.id, 'acme-us');
    const eu = await kf.getToken({ tenant: 'acme-eu' });
    assert.equal(eu.tenant?.server_url, idp.regions['eu-west-1']);
    assert.equal((await kf.getToken()).access_token, us.access_token, 'not made current');
    const listed = await kf.tenants();
    assert.equal(listed.current, 'acme-us');
    assert.equal(listed.tenants.length, 2);
    const response = await kf.fetch('/v1/hello', { tenant: 'acme-eu' });
    assert.equal(((await response.json()) as { tenant_id: string }).tenant_id, 'acme-eu');
    const logins = { ...idp.stats.tokenRequests };
    await kf.switchTenant('acme-eu');
    assert.deepEqual(idp.stats.tokenRequests, logins);
    assert.equal(
      (await kf.getToken()).access_token,
      eu.access_token,
      'the fresh one-call token became current',
    );
    assert.equal((await kf.tenants()).current, 'acme-eu');
    // The regional server that does not answer is named.
    await idp.stopRegion('eu-west-1');
    try {
      await assert.rejects(kf.fetch('/v1/hello'), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'NETWORK');
        assert.match(
          error.message,
          new RegExp(`Failed to connect to regional server ${idp.regions['eu-west-1']}`),
        );
        return true;
      });
    } finally {
      await idp.startRegion('eu-west-1');
    }
  });

  it('renews the exchanged token with no prompt across a long loop; 1,000 concurrent calls make one exchange', async () => {
    const short = await startDevIdp({ controlPlaneTokenTtl: 2 });
    try {
      const home = mkdtempSync(join(tmpdir(), 'keyfob-cp-'));
      const kf = createKeyfob({ home, environment: {}, config: configFor(short) });
      await kf.login({
        provider: 'cloud',
        tenant: 'acme-eu',
        ...ALICE,
        interaction: nobody,
        personPresent: false,
      });
      const logins = { ...short.stats.tokenRequests };
      const seen = new Set<string>();
      const until = Date.now() + 7_000;
      let calls = 0;
      while (Date.now() < until) {
        const token = await kf.getToken();
        seen.add(token.access_token);
        const response = await kf.fetch('/v1/hello');
        assert.equal(response.status, 200);
        await response.body?.cancel();
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(seen.size >= 3, `renewed along the way (${seen.size} tokens over ${calls} calls)`);
      assert.deepEqual(short.stats.tokenRequests, logins, 'no new login: only exchanges');

      // At the token's expiry, 1,000 concurrent calls share one exchange.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const exchanges = short.stats.controlPlane.exchanges;
      const results = await Promise.all(
        Array.from({ length: 1000 }, () => kf.getToken({ tenant: 'acme-eu' })),
      );
      assert.equal(new Set(results.map((r) => r.access_token)).size, 1);
      assert.equal(short.stats.controlPlane.exchanges - exchanges, 1);
    } finally {
      await short.close();
    }
  });
});

function configFor(target: DevIdp) {
  return {
    providers: {
      pw: {
        type: 'password',
        issuer: target.issuer,
        client_id: target.clients.cli.client_id,
        scopes: ['openid', 'profile', 'email', 'offline_access'],
      },
      cloud: { type: 'exchange', login: 'pw', control_plane: target.controlPlane },
    },
  };
}
