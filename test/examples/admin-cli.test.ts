/**
 * examples/admin-cli, a vendor's admin CLI (kscli) re-created on @keyfob/core, run as its users
 * run it: `kscli` as a process, in a fresh home, against dev-idp's control plane and regional
 * API in-process. The credentials file is always under a directory of the test's own that
 * stands for /tmp (KSCLI_CREDENTIALS_PATH): the machine's real /tmp/kscli is never touched.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder } from '../support/cli.js';
import { serverUrl } from '../support/control-plane.js';
import { exampleDir, runExample } from '../support/example.js';
import { makeTestCa, type TestCa } from '../support/tls.js';

const DIR = exampleDir('admin-cli');
const BIN = 'bin/kscli.js';
const ASSUME = ['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'user-alice'];
const JWT = /eyJ[\w-]+\.[\w-]+/;

let idp: DevIdp;

before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

interface KscliUser {
  env: Record<string, string>;
  /** The directory standing for /tmp (mode 1777, as /tmp is). */
  tmp: string;
  /** KSCLI_CREDENTIALS_PATH: `<tmp>/kscli/.credentials`. */
  file: string;
  home: string;
}

/** A fresh user of kscli: its own HOME, a /tmp of its own, the control plane and API of `server`. */
function freshUser(server: DevIdp, extra: Record<string, string> = {}): KscliUser {
  const home = mkdtempSync(join(tmpdir(), 'kscli-home-'));
  const tmp = mkdtempSync(join(tmpdir(), 'kscli-tmp-'));
  chmodSync(tmp, 0o1777);
  const file = join(tmp, 'kscli', '.credentials');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    KSCLI_CONTROL_PLANE: server.controlPlane,
    KSCLI_API_URL: serverUrl(server, 'acme-eu'),
    KSCLI_CREDENTIALS_PATH: file,
    ...extra,
  };
  return { env, tmp, file, home };
}

const run = (args: string[], env: Record<string, string>, input?: string) =>
  runExample(DIR, BIN, args, { env, ...(input === undefined ? {} : { input }) });

/** The kscli credentials JSON's entry for the profile `default`. */
function credentials(file: string): Record<string, unknown> {
  return (JSON.parse(readFileSync(file, 'utf8')) as { default: Record<string, unknown> }).default;
}

/** Everything under the user's home and /tmp stand-in: what kscli wrote. */
function disk(user: KscliUser): Record<string, string> {
  return { ...filesUnder(user.home), ...filesUnder(user.tmp) };
}

function assertNoSecret(server: DevIdp, ...outputs: string[]): void {
  for (const output of outputs) {
    assert.doesNotMatch(output, JWT, 'no token printed');
    assert.ok(!output.includes(server.adminApiKey), 'the admin key was printed');
  }
}

describe('examples/admin-cli (kscli)', () => {
  it('the example is its own package that depends on @keyfob/core and @keyfob/cli by name, its auth in under 40 lines', () => {
    const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(pkg.dependencies, { '@keyfob/cli': '0.1.0', '@keyfob/core': '0.1.0' });
    assert.equal(pkg.type, 'module');
    const root = JSON.parse(readFileSync(join(DIR, '../../package.json'), 'utf8'));
    assert.ok(!JSON.stringify(root.workspaces).includes('examples'), 'not a workspace of the repository');
    for (const file of ['src/auth.js', 'src/text.js', 'bin/kscli.js']) {
      const source = readFileSync(join(DIR, file), 'utf8');
      assert.doesNotMatch(source, /from '\.\.\/\.\.\/|packages\//, `${file} imports keyfob by name only`);
    }
    const code = readFileSync(join(DIR, 'src/auth.js'), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*($|\/\/|\/\*\*)/.test(line));
    assert.ok(code.length <= 40, `src/auth.js has ${code.length} lines of code`);
    assert.match(readFileSync(join(DIR, 'README.md'), 'utf8'), new RegExp(`${code.length} lines`));
  });

  it('assume-user with ADMIN_API_KEY: the two lines, the credentials JSON (0600) at KSCLI_CREDENTIALS_PATH; whoami as a table and --json', async () => {
    const user = freshUser(idp);
    const assumed = await run(ASSUME, { ...user.env, ADMIN_API_KEY: idp.adminApiKey });
    assert.equal(assumed.code, 0, assumed.stderr);
    assert.match(
      assumed.stdout,
      /^Authenticated as user user-alice in tenant acme-eu\nToken expires: (\S+)\n$/,
    );
    const expires = /^Token expires: (\S+)$/m.exec(assumed.stdout)?.[1] ?? '';
    assert.equal(new Date(expires).toISOString(), expires, 'an ISO 8601 expiry');
    assert.ok(Date.parse(expires) > Date.now());

    assert.equal(statSync(user.file).mode & 0o777, 0o600);
    assert.equal(statSync(join(user.tmp, 'kscli')).mode & 0o777, 0o700);
    const entry = credentials(user.file);
    assert.match(String(entry.token), JWT);
    assert.equal(entry.user_id, 'user-alice');
    assert.equal(entry.tenant_id, 'acme-eu');
    assert.equal(entry.expires_at, Math.floor(Date.parse(expires) / 1000));
    assert.equal(entry.admin_api_key, idp.adminApiKey, 'kept to assume again on expiry');

    const table = await run(['whoami'], user.env);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^FIELD\s+VALUE$/);
    assert.ok(
      lines.some((line) => /^id\s+user-alice$/.test(line)),
      table.stdout,
    );
    assert.ok(
      lines.some((line) => /^tenant_id\s+acme-eu$/.test(line)),
      table.stdout,
    );
    assert.ok(
      lines.some((line) => /^email\s+alice@example\.com$/.test(line)),
      table.stdout,
    );
    const json = await run(['whoami', '--json'], user.env);
    assert.equal(json.code, 0, json.stderr);
    const me = JSON.parse(json.stdout);
    assert.equal(me.id, 'user-alice');
    assert.equal(me.tenant_id, 'acme-eu');
    assert.ok(Date.parse(me.expires_at) > Date.now());
    assertNoSecret(idp, assumed.stdout, assumed.stderr, table.stdout, table.stderr, json.stdout, json.stderr);
  });

  it('the admin key from stdin; a wrong key (exit 2), an unknown tenant or user (exit 1), no key at all (exit 2): nothing written', async () => {
    const user = freshUser(idp);
    const fromStdin = await run([...ASSUME, '--admin-key-stdin'], user.env, `${idp.adminApiKey}\n`);
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.match(fromStdin.stdout, /^Authenticated as user user-alice in tenant acme-eu$/m);
    assert.equal(credentials(user.file).tenant_id, 'acme-eu');

    const other = freshUser(idp);
    const wrong = await run([...ASSUME, '--admin-key-stdin'], other.env, 'not-the-admin-key\n');
    assert.equal(wrong.code, 2, wrong.stderr);
    assert.match(wrong.stderr, /^kscli: Authentication required: .*refused the admin API key \(HTTP 401/m);
    assert.ok(!wrong.stderr.includes('not-the-admin-key'), 'the refused key is not echoed');
    const tenant = await run(['assume-user', '--tenant-id', 'acme-xx', '--user-id', 'user-alice'], {
      ...other.env,
      ADMIN_API_KEY: idp.adminApiKey,
    });
    assert.equal(tenant.code, 1, tenant.stderr);
    assert.match(tenant.stderr, /^kscli: Tenant not found: acme-xx\b/m);
    const nobody = await run(['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'nobody'], {
      ...other.env,
      ADMIN_API_KEY: idp.adminApiKey,
    });
    assert.equal(nobody.code, 1, nobody.stderr);
    assert.match(nobody.stderr, /^kscli: User not found: nobody in tenant acme-eu\b/m);
    const none = await run(ASSUME, other.env);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /^kscli: Authentication required: no admin API key .*set ADMIN_API_KEY/m);
    assert.ok(!existsSync(join(other.tmp, 'kscli')), 'nothing written');
    assertNoSecret(idp, wrong.stderr, tenant.stderr, nobody.stderr, none.stderr);
  });

  it('the token goes to the regional API as the cookie ks_uat; 403 without tenant:admin is exit 1, a final 401 exit 2', async () => {
    const user = freshUser(idp);
    const assumed = await run(ASSUME, { ...user.env, ADMIN_API_KEY: idp.adminApiKey });
    assert.equal(assumed.code, 0, assumed.stderr);
    const sent = await run(['get', '/v1/echo-auth'], user.env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(JSON.parse(sent.stdout), { authorization_present: false, cookie_present: true });
    const hello = await run(['get', '/v1/hello'], user.env);
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).sub, 'user-alice');
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-eu');

    const forbidden = await run(['get', '/v1/admin'], user.env);
    assert.equal(forbidden.code, 1, forbidden.stderr);
    assert.match(
      forbidden.stderr,
      /^kscli: Permission denied: http:\/\/127\.0\.0\.1:\d+ denied the request: insufficient_scope \(needs scope: tenant:admin\)$/m,
    );
    assert.equal(forbidden.stdout, '');

    // acme-us's user at the eu region's API: refused (401) before and after assuming again.
    const us = freshUser(idp);
    const usAssumed = await run(['assume-user', '--tenant-id', 'acme-us', '--user-id', 'user-alice'], {
      ...us.env,
      ADMIN_API_KEY: idp.adminApiKey,
    });
    assert.equal(usAssumed.code, 0, usAssumed.stderr);
    const assumes = idp.stats.controlPlane.assumeUser;
    const refused = await run(['get', '/v1/hello'], us.env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /^kscli: Authentication required: http:\/\/127\.0\.0\.1:\d+ refused the credential \(HTTP 401\); run `kscli assume-user --tenant-id TENANT --user-id USER`$/m,
    );
    assert.equal(idp.stats.controlPlane.assumeUser, assumes + 1, 'assumed again once, with the stored key');
    assertNoSecret(idp, sent.stdout, hello.stdout, forbidden.stderr, refused.stdout, refused.stderr);
  });

  it('an expired token is assumed again with the stored key, no prompt, ADMIN_API_KEY unset', async (t) => {
    const shortLived = await startDevIdp({ assumeUserTokenTtl: 2 });
    t.after(() => shortLived.close());
    const user = freshUser(shortLived);
    const assumed = await run(ASSUME, { ...user.env, ADMIN_API_KEY: shortLived.adminApiKey });
    assert.equal(assumed.code, 0, assumed.stderr);
    const first = credentials(user.file);
    await sleep(2_500);
    const assumes = shortLived.stats.controlPlane.assumeUser;
    // status knows the stored key renews it: usable (exit 0), not "expired and cannot be renewed".
    const status = await run(['status'], user.env);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout + status.stderr, /cannot be renewed/);
    assert.equal(shortLived.stats.controlPlane.assumeUser, assumes, 'status sends nothing');
    // stdin is closed and no key is in the environment: only the stored key can do it.
    const hello = await run(['get', '/v1/hello'], user.env);
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).sub, 'user-alice');
    assert.ok(shortLived.stats.controlPlane.assumeUser > assumes, 'assumed again');
    const again = credentials(user.file);
    assert.notEqual(again.token, first.token, 'the new token is in the credentials file');
    assert.ok(Number(again.expires_at) > Number(first.expires_at));
    assert.equal(again.user_id, 'user-alice');
    assertNoSecret(shortLived, hello.stdout, hello.stderr);
  });

  it('without KSCLI_CREDENTIALS_PATH the credentials JSON is /tmp/kscli/.credentials (0700 directory, 0600 file)', async (t) => {
    const DEFAULT = '/tmp/kscli';
    const { env, home } = freshUser(idp);
    delete env.KSCLI_CREDENTIALS_PATH;
    if (existsSync(DEFAULT)) {
      // The machine's own /tmp/kscli is never written or removed by this test: the default
      // path is then shown by status, which only reads.
      const status = await run(['status', '--json'], env);
      assert.match(status.stdout + status.stderr, /\/tmp\/kscli\/\.credentials|\/tmp\/kscli/);
      return;
    }
    t.after(() => rmSync(DEFAULT, { recursive: true, force: true }));
    const assumed = await run(ASSUME, { ...env, ADMIN_API_KEY: idp.adminApiKey });
    assert.equal(assumed.code, 0, assumed.stderr);
    assert.equal(statSync(DEFAULT).mode & 0o7777, 0o700);
    assert.equal(statSync(join(DEFAULT, '.credentials')).mode & 0o777, 0o600);
    assert.equal(credentials(join(DEFAULT, '.credentials')).user_id, 'user-alice');
    const status = await run(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(JSON.parse(status.stdout).profiles[0].store_reason, /\/tmp\/kscli\/\.credentials/);
    assert.ok(!existsSync(join(home, 'sessions')), 'no keyfob session files');
  });

  for (const [label, prepare] of [
    [
      'made by another user (uid 65534)',
      (dir: string) => {
        mkdirSync(dir, { mode: 0o755 });
        chownSync(dir, 65534, 65534);
      },
    ],
    [
      'writable by others (0777)',
      (dir: string) => {
        mkdirSync(dir);
        chmodSync(dir, 0o777);
      },
    ],
  ] as const) {
    it(`a /tmp/kscli/ ${label} is refused with a clear message before the key is sent, nothing written`, async () => {
      const user = freshUser(idp);
      prepare(join(user.tmp, 'kscli'));
      const before = disk(user);
      const assumes = idp.stats.controlPlane.assumeUser;
      const result = await run(ASSUME, { ...user.env, ADMIN_API_KEY: idp.adminApiKey });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(
          `^kscli: .*${join(user.tmp, 'kscli').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(another user|others can write|writable)`,
          'm',
        ),
      );
      assert.doesNotMatch(result.stderr, /keyfob/i, 'kscli users never see keyfob');
      assert.equal(result.stdout, '');
      assert.deepEqual(disk(user), before, 'nothing written');
      assert.ok(!existsSync(user.file));
      assert.equal(idp.stats.controlPlane.assumeUser, assumes, 'refused before the key was sent');
      assertNoSecret(idp, result.stderr);
    });
  }

  it('status and logout are keyfob commands mounted under kscli: logout forgets the token, then get is exit 2', async () => {
    const user = freshUser(idp);
    const assumed = await run(ASSUME, { ...user.env, ADMIN_API_KEY: idp.adminApiKey });
    assert.equal(assumed.code, 0, assumed.stderr);
    const status = await run(['status'], user.env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout + status.stderr, /default/);
    assert.match(status.stdout + status.stderr, /user-alice/);
    assert.doesNotMatch(status.stdout + status.stderr, /keyfob/i, 'kscli users never see keyfob');
    const help = await run(['status', '--help'], user.env);
    assert.match(help.stdout, /kscli status/);
    const out = await run(['logout'], user.env);
    assert.equal(out.code, 0, out.stderr);
    assert.doesNotMatch(out.stdout + out.stderr, /keyfob/i);
    assert.equal(credentials(user.file)?.token, undefined, 'the token is gone from the credentials file');
    const after = await run(['get', '/v1/hello'], user.env);
    assert.equal(after.code, 2, after.stderr);
    assert.match(after.stderr, /^kscli: Authentication required: .*run `kscli assume-user/m);
    assertNoSecret(idp, status.stdout, status.stderr, out.stdout, out.stderr);
  });
});

describe('examples/admin-cli (kscli) over TLS', () => {
  let ca: TestCa;
  let tlsIdp: DevIdp;

  before(async () => {
    ca = makeTestCa();
    tlsIdp = await startDevIdp({ tls: { key: ca.key, cert: ca.cert } });
  });
  after(async () => {
    await tlsIdp?.close();
    ca?.remove();
  });

  it('a certificate failure prints the three steps; KSCLI_CA_BUNDLE and KSCLI_VERIFY_SSL=false each make it work', async () => {
    const user = freshUser(tlsIdp, { ADMIN_API_KEY: tlsIdp.adminApiKey });
    assert.match(tlsIdp.controlPlane, /^https:\/\/127\.0\.0\.1:/);
    const failed = await run(ASSUME, user.env);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /^kscli: SSL certificate verification failed: /m);
    assert.ok(
      failed.stderr.endsWith(
        [
          'To fix this:',
          '  1. Install the system CA certificates (e.g. apt-get install ca-certificates)',
          '  2. Set KSCLI_CA_BUNDLE to a PEM file with your CA certificate',
          '  3. For development only: set KSCLI_VERIFY_SSL=false (disables verification)',
          '',
        ].join('\n'),
      ),
      failed.stderr,
    );
    assert.ok(!existsSync(user.file), 'nothing written');
    assertNoSecret(tlsIdp, failed.stderr);

    const bundle = await run(ASSUME, { ...user.env, KSCLI_CA_BUNDLE: ca.caFile });
    assert.equal(bundle.code, 0, bundle.stderr);
    assert.match(bundle.stdout, /^Authenticated as user user-alice in tenant acme-eu$/m);
    const hello = await run(['get', '/v1/hello'], { ...user.env, KSCLI_CA_BUNDLE: ca.caFile });
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).tenant_id, 'acme-eu');

    const other = freshUser(tlsIdp, { ADMIN_API_KEY: tlsIdp.adminApiKey, KSCLI_VERIFY_SSL: 'false' });
    const insecure = await run(ASSUME, other.env);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /KSCLI_VERIFY_SSL=false/, 'a warning naming the variable');
    // keyfob's own names are not read: KSCLI_VERIFY_TLS does not turn verification off.
    const own = freshUser(tlsIdp, { ADMIN_API_KEY: tlsIdp.adminApiKey, KSCLI_VERIFY_TLS: 'false' });
    const notRenamed = await run(ASSUME, own.env);
    assert.equal(notRenamed.code, 1, notRenamed.stderr);
    assert.match(notRenamed.stderr, /SSL certificate verification failed/);
  });
});
