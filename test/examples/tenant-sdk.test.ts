/**
 * examples/tenant-sdk, a multi-tenant vendor SDK (Kumiho) re-created on @keyfob/core, used as
 * its users use it: the `kumiho-auth` command as a process (login through the real Firebase Auth
 * emulator, at a terminal too), and the SDK imported in-process as a library (connect,
 * discoverTenant, a long loop over the regional API's pages), against dev-idp's control plane
 * with short-lived control-plane tokens, each test in a fresh home.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder } from '../support/cli.js';
import { exampleDir, runExample } from '../support/example.js';
import { FIREBASE_PROJECT, type FirebaseEmulator, startFirebaseEmulator } from '../support/firebase.js';
import { commandInTerminal } from '../support/pty.js';

const DIR = exampleDir('tenant-sdk');
const BIN = 'bin/kumiho-auth.js';
const ALICE = { email: 'alice@example.com', password: 'alice-kumiho-pw-1' };
const BOB = { email: 'bob@example.com', password: 'bob-kumiho-pw-1' };
/** Control-plane tokens live 3 s: a loop of a few seconds meets several expiries. */
const TOKEN_TTL = 3;

interface Tenant {
  tenantId: string;
  name: string;
  region: string;
  serverUrl: string;
}
interface Client {
  discoverTenant(): Promise<Tenant>;
  get(path: string): Promise<Record<string, unknown>>;
  items(options?: { perPage?: number }): AsyncIterable<{ id: string; name: string }>;
  close(): Promise<void>;
}
interface KumihoSdk {
  connect(options?: { idToken?: string; tenantId?: string }): Promise<Client>;
  discoverTenant(options?: { idToken?: string; tenantId?: string }): Promise<Tenant>;
  KumihoError: new (...args: never[]) => Error;
}

let emulator: FirebaseEmulator;
let idp: DevIdp;
let sdk: KumihoSdk;

before(async () => {
  emulator = await startFirebaseEmulator();
  await emulator.signUp(ALICE.email, ALICE.password);
  await emulator.signUp(BOB.email, BOB.password);
  idp = await startDevIdp({
    firebase: { projectId: FIREBASE_PROJECT, emulatorHost: emulator.host },
    controlPlaneTokenTtl: TOKEN_TTL,
  });
  // The SDK as its users import it (it imports @keyfob/core by package name).
  const url = pathToFileURL(join(DIR, 'src/kumiho.js')).href;
  sdk = (await import(url)) as KumihoSdk;
});
after(async () => {
  await idp?.close();
  await emulator?.stop();
});

/** A fresh user: a home of their own and the variables that point Kumiho at dev-idp. */
function freshUser(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'kumiho-home-'));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    KUMIHO_CONTROL_PLANE: idp.controlPlane,
    KUMIHO_FIREBASE_PROJECT: FIREBASE_PROJECT,
    FIREBASE_AUTH_EMULATOR_HOST: emulator.host,
    ...extra,
  };
}

const VARIABLES = [
  'HOME',
  'KUMIHO_CONTROL_PLANE',
  'KUMIHO_FIREBASE_PROJECT',
  'FIREBASE_AUTH_EMULATOR_HOST',
  'KUMIHO_AUTH_TOKEN',
  'KUMIHO_AUTH_TOKEN_FILE',
  'KUMIHO_AUTH_HOME',
];

/** Runs `fn` as an SDK user whose environment is `env` (this process's, restored after). */
async function asUser<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  for (const name of VARIABLES) {
    if (env[name] === undefined) delete process.env[name];
    else process.env[name] = env[name];
  }
  try {
    return await fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const run = (args: string[], env: Record<string, string>, input?: string) =>
  runExample(DIR, BIN, args, { env, ...(input !== undefined ? { input } : {}) });

/** `kumiho-auth login --email E --password-stdin --tenant T`. */
async function login(env: Record<string, string>, tenant = 'acme-us', user = ALICE) {
  const result = await run(
    ['login', '--email', user.email, '--password-stdin', '--tenant', tenant],
    env,
    `${user.password}\n`,
  );
  assert.equal(result.code, 0, result.stderr);
  return result;
}

const credentialsFile = (env: Record<string, string>) =>
  join(env.HOME as string, '.kumiho', 'credentials.json');
const JWT = /eyJ[\w-]+\.[\w-]+/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An emulator ID token whose `exp` (and `iat`) are moved into the past: the emulator's are unsigned. */
function expired(idToken: string): string {
  const [header, payload] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString());
  const past = Math.floor(Date.now() / 1000) - 7200;
  const moved = { ...claims, iat: past, auth_time: past, exp: past + 3600 };
  return `${header}.${Buffer.from(JSON.stringify(moved)).toString('base64url')}.`;
}

describe('examples/tenant-sdk (Kumiho)', () => {
  it('is its own package depending on @keyfob/core and @keyfob/cli by name, its auth in under 40 lines', () => {
    const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.dependencies, { '@keyfob/core': '0.1.0', '@keyfob/cli': '0.1.0' });
    assert.equal(pkg.type, 'module');
    const root = JSON.parse(readFileSync(join(DIR, '../../package.json'), 'utf8'));
    assert.ok(!JSON.stringify(root.workspaces).includes('examples'), 'not a workspace of the repository');
    for (const file of ['src/auth.js', 'src/kumiho.js', BIN]) {
      assert.doesNotMatch(readFileSync(join(DIR, file), 'utf8'), /from '\.\.\/\.\.\/|packages\//, file);
    }
    const code = readFileSync(join(DIR, 'src/auth.js'), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*($|\/\/|\/\*\*)/.test(line));
    assert.ok(code.length <= 40, `src/auth.js has ${code.length} lines of code`);
    assert.match(readFileSync(join(DIR, 'README.md'), 'utf8'), new RegExp(`${code.length} lines`));
  });

  it('kumiho-auth login (email + password on stdin) writes ~/.kumiho/credentials.json, 0600, in Kumiho’s fields; refresh renews it', async () => {
    const env = freshUser();
    const done = await login(env);
    assert.match(done.stderr, /Logged in to kumiho .*tenant acme-us/);
    const file = credentialsFile(env);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const first = JSON.parse(readFileSync(file, 'utf8')).default;
    // Kumiho's keys: the Firebase login's ID token and refresh token, the tenant; the exchanged
    // Kumiho token with the rest of the session under kumiho_session.
    assert.equal(first.tenant_id, 'acme-us');
    assert.equal(first.tenant_name, 'Acme US');
    const claims = JSON.parse(Buffer.from(first.id_token.split('.')[1], 'base64url').toString());
    assert.equal(claims.iss, `https://securetoken.google.com/${FIREBASE_PROJECT}`);
    assert.equal(claims.email, ALICE.email);
    // The expiry is our clock plus Firebase's `expiresIn`; the emulator stamped `exp` with its own
    // clock, so the two can straddle a second boundary.
    assert.ok(
      Math.abs(first.id_token_expires_at - claims.exp) <= 2,
      `${first.id_token_expires_at} vs exp ${claims.exp}`,
    );
    assert.equal(typeof first.refresh_token, 'string');
    const exchanged = (entry: {
      kumiho_session: { access_tokens: Record<string, { token: string; tenant?: { id: string } }> };
    }) => Object.values(entry.kumiho_session.access_tokens).find((t) => t.tenant?.id === 'acme-us')?.token;
    assert.equal(typeof exchanged(first), 'string', 'the tenant token kept in the session');
    const raw = readFileSync(file, 'utf8');
    assert.ok(!raw.includes(ALICE.password), 'the password is never stored');

    const status = await run(['status'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /acme-us/);

    const exchanges = idp.stats.controlPlane.exchanges;
    const refreshed = await run(['refresh'], env);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const second = JSON.parse(readFileSync(file, 'utf8')).default;
    assert.notEqual(exchanged(second), exchanged(first), 'a new tenant token');
    assert.equal(idp.stats.controlPlane.exchanges, exchanges + 1, 'from one new exchange');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    for (const result of [done, status, refreshed]) {
      assert.doesNotMatch(result.stdout + result.stderr, JWT, 'no token printed');
      assert.ok(!(result.stdout + result.stderr).includes(ALICE.password));
    }
  });

  it('kumiho-auth login at a terminal asks for the email and, hidden, the password', async () => {
    const env = freshUser();
    const { output, code } = await commandInTerminal(
      [process.execPath, '--import', 'tsx', join(DIR, BIN), 'login', '--tenant', 'acme-eu'],
      env,
      [
        { until: /Email: /, answer: `${ALICE.email}\r` },
        { until: /Password: /, answer: `${ALICE.password}\r` },
      ],
    );
    assert.equal(code, 0, output);
    assert.match(output, /Logged in to kumiho .*tenant acme-eu/);
    assert.ok(!output.includes(ALICE.password), 'the password is not echoed');
    assert.equal(JSON.parse(readFileSync(credentialsFile(env), 'utf8')).default.tenant_id, 'acme-eu');
  });

  it('connect() on the cached login: discoverTenant, another tenant by tenantId, one call', async () => {
    const env = freshUser();
    await login(env);
    await asUser(env, async () => {
      assert.deepEqual(await sdk.discoverTenant(), {
        tenantId: 'acme-us',
        name: 'Acme US',
        region: 'us-east-1',
        serverUrl: idp.regions['us-east-1'],
      });
      const eu = await sdk.connect({ tenantId: 'acme-eu' });
      try {
        assert.equal((await eu.discoverTenant()).serverUrl, idp.regions['eu-west-1']);
        const hello = await eu.get('/v1/hello');
        assert.equal(hello.tenant_id, 'acme-eu');
        assert.equal(hello.email, ALICE.email);
      } finally {
        await eu.close();
      }
    });
    // One call's tenant is not made current.
    assert.equal(JSON.parse(readFileSync(credentialsFile(env), 'utf8')).default.tenant_id, 'acme-us');
  });

  it('a long loop over the pages outlives several token expiries: no prompt, no error, every item once', async () => {
    const env = freshUser();
    await login(env, 'acme-eu');
    const [exchanges, signIns] = [idp.stats.controlPlane.exchanges, idp.stats.controlPlane.tenants];
    const started = Date.now();
    const ids = await asUser(env, async () => {
      const client = await sdk.connect();
      const seen: string[] = [];
      try {
        for await (const item of client.items({ perPage: 3 })) {
          seen.push(item.id);
          // The caller's own work on each item: the loop lasts several token lifetimes.
          if (seen.length % 3 === 0) await sleep(900);
        }
      } finally {
        await client.close();
      }
      return seen;
    });
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds > 3 * TOKEN_TTL, `the loop ran ${seconds} s, longer than three token lifetimes`);
    assert.deepEqual(
      ids,
      Array.from({ length: 30 }, (_, i) => `acme-eu-item-${i + 1}`),
    );
    const renewed = idp.stats.controlPlane.exchanges - exchanges;
    assert.ok(renewed >= 3, `the token was exchanged again ${renewed} times`);
    assert.ok(renewed <= 20, `and not on every page (${renewed})`);
    assert.equal(idp.stats.controlPlane.tenants, signIns, 'no new login: the same tenant, re-exchanged');
  });

  it('connect({ idToken }) > KUMIHO_AUTH_TOKEN or KUMIHO_AUTH_TOKEN_FILE > the cached login; nothing written', async () => {
    const env = freshUser();
    await login(env, 'acme-us');
    const [aliceId, bobId] = [
      await emulator.signIn(ALICE.email, ALICE.password),
      await emulator.signIn(BOB.email, BOB.password),
    ];
    // A CI job's token file, outside the home.
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'kumiho-ci-')), 'id-token');
    writeFileSync(tokenFile, `${aliceId}\n`, { mode: 0o600 });
    const before = filesUnder(env.HOME as string);
    const who = async (options?: { idToken?: string; tenantId?: string }) => {
      const client = await sdk.connect(options);
      try {
        const hello = await client.get('/v1/hello');
        return `${hello.email} ${hello.tenant_id}`;
      } finally {
        await client.close();
      }
    };
    await asUser(env, async () => {
      // The web app's ID token: exchanged at the control plane, bob's only tenant.
      assert.equal(await who({ idToken: bobId }), 'bob@example.com acme-eu');
      assert.equal(await who({ idToken: aliceId, tenantId: 'acme-eu' }), 'alice@example.com acme-eu');
    });
    await asUser({ ...env, KUMIHO_AUTH_TOKEN_FILE: tokenFile }, async () => {
      assert.equal(await who({ tenantId: 'acme-eu' }), 'alice@example.com acme-eu', 'the token file');
    });
    await asUser({ ...env, KUMIHO_AUTH_TOKEN: bobId }, async () => {
      assert.equal(await who(), 'bob@example.com acme-eu', 'KUMIHO_AUTH_TOKEN over the cache');
      assert.equal(await who({ idToken: aliceId, tenantId: 'acme-us' }), 'alice@example.com acme-us');
    });
    assert.deepEqual(filesUnder(env.HOME as string), before, 'nothing written, the cache untouched');
    await asUser(env, async () => {
      assert.equal(await who(), 'alice@example.com acme-us', 'without them: the cached login');
    });
  });

  it('"Token expired": an expired KUMIHO_AUTH_TOKEN (Firebase ID token or Kumiho token) is refused, nothing sent', async () => {
    const env = freshUser();
    await login(env, 'acme-eu');
    const stale = expired(await emulator.signIn(ALICE.email, ALICE.password));
    const token = await run(['token'], env);
    assert.equal(token.code, 0, token.stderr);
    const kumihoToken = token.stdout.trim();
    await sleep(TOKEN_TTL * 1000 + 500);
    const before = filesUnder(env.HOME as string);
    for (const [value, what] of [
      [stale, 'an ID token'],
      [kumihoToken, 'a control-plane token'],
    ] as const) {
      const [lists, exchanges] = [idp.stats.controlPlane.tenants, idp.stats.controlPlane.exchanges];
      const error = await asUser({ ...env, KUMIHO_AUTH_TOKEN: value }, () => sdk.connect()).then(
        () => assert.fail(`connect with ${what} that expired`),
        (e: Error & { code?: string; exitCode?: number }) => e,
      );
      assert.ok(error instanceof sdk.KumihoError, what);
      assert.match(
        error.message,
        /^Token expired: the token from KUMIHO_AUTH_TOKEN expired at \S+ and cannot be renewed; provide a fresh token in KUMIHO_AUTH_TOKEN/,
      );
      assert.equal(error.code, 'AUTHENTICATION_REQUIRED');
      assert.equal(error.exitCode, 2);
      assert.doesNotMatch(error.message, JWT);
      assert.equal(idp.stats.controlPlane.tenants, lists, 'not sent to the control plane');
      assert.equal(idp.stats.controlPlane.exchanges, exchanges);
    }
    // Given in code, the same words.
    const inCode = await asUser(env, () => sdk.connect({ idToken: stale })).catch((e: Error) => e);
    assert.match(String((inCode as Error).message), /^Token expired: /);
    assert.deepEqual(filesUnder(env.HOME as string), before, 'nothing on disk changed');
  });

  it('"Tenant not found": an unknown tenantId, with keyfob’s list of the tenants after it', async () => {
    const env = freshUser();
    await login(env, 'acme-us');
    const before = filesUnder(env.HOME as string);
    const error = await asUser(env, () => sdk.connect({ tenantId: 'acme-xx' })).catch(
      (e: Error & { code?: string; exitCode?: number }) => e,
    );
    assert.ok(error instanceof sdk.KumihoError);
    assert.match(
      error.message,
      /^Tenant not found: acme-xx; you belong to: acme-eu \(Acme Europe\), acme-us \(Acme US\)/,
    );
    assert.equal(error.code, 'TENANT_NOT_FOUND');
    assert.doesNotMatch(error.message, JWT, 'no token in the error');
    assert.equal(error.exitCode, 1);
    assert.deepEqual(filesUnder(env.HOME as string), before, 'nothing on disk changed');
    // The command says it in the same words.
    const cli = await run(
      ['login', '--email', ALICE.email, '--password-stdin', '--tenant', 'acme-xx'],
      env,
      `${ALICE.password}\n`,
    );
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /Tenant not found: acme-xx; you belong to: acme-eu \(Acme Europe\), acme-us/);
    assert.doesNotMatch(cli.stdout + cli.stderr, JWT);
    assert.deepEqual(filesUnder(env.HOME as string), before, 'the failed login wrote nothing');
  });

  it('"Failed to connect to regional server": the tenant’s region stopped', async (t) => {
    const env = freshUser();
    await login(env, 'acme-us');
    await idp.stopRegion('us-east-1');
    t.after(() => idp.startRegion('us-east-1'));
    const error = await asUser(env, async () => {
      const client = await sdk.connect();
      try {
        await client.get('/v1/hello');
      } finally {
        await client.close();
      }
    }).then(
      () => assert.fail('the region is stopped'),
      (e: Error & { code?: string; exitCode?: number }) => e,
    );
    assert.ok(error instanceof sdk.KumihoError);
    assert.equal(
      error.message.split(';')[0],
      `Failed to connect to regional server ${idp.regions['us-east-1']}`,
    );
    assert.equal(error.code, 'NETWORK');
    assert.equal(error.exitCode, 1);
    assert.doesNotMatch(error.message, JWT);
  });
});
