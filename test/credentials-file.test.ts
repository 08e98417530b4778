/**
 * `createKeyfob({ credentialsFile })` (issue #12): an integrator keeps its users' existing
 * credentials file. Real logins against dev-idp, real files: the vendor's keys and comments are
 * kept, the session's secrets land under the vendor's names, the file is 0600 and replaced
 * atomically, and a symlink, a shared directory or damaged data is handled as in every store.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, InvalidInput, type KeyfobOptions } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { alice } from './support/cli.js';
import { noInteraction, vendorHome } from './support/credentials-file.js';

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 600 });
});
after(async () => {
  await idp?.close();
});

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

function passwordLogin(kf: ReturnType<typeof createKeyfob>, profile: string) {
  return kf.login({
    profile,
    provider: 'pw',
    email: alice(idp).email,
    password: alice(idp).password,
    interaction: noInteraction(),
    persist: true,
  });
}

describe('credentialsFile layouts', () => {
  it('sessions (the default) keeps a file per profile; an unknown layout is refused at createKeyfob', async () => {
    const { home, env } = vendorHome(idp);
    const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'sessions' } });
    await passwordLogin(kf, 'work');
    assert.ok(existsSync(join(home, 'sessions', 'work.json')));
    assert.ok(!existsSync(join(home, 'credentials.json')));
    assert.throws(
      () =>
        createKeyfob({
          environment: env,
          credentialsFile: { layout: 'yaml' } as unknown as KeyfobOptions['credentialsFile'],
        }),
      (error: unknown) =>
        error instanceof InvalidInput && /layout must be sessions, single-json or ini/.test(error.message),
    );
  });

  it('single-json: a login lands in the vendor file under its names, next to what the vendor keeps; the rotated refresh token is never lost', async () => {
    const { home, env } = vendorHome(idp);
    const file = join(home, '.kscli', 'credentials.json');
    mkdirSync(join(home, '.kscli'), { mode: 0o700 });
    const vendor = {
      settings: { theme: 'dark' },
      old: { token: 'legacy-token-of-the-vendor', account_id: 'acme', favourite: 42 },
      work: { nickname: 'kept verbatim' },
    };
    writeFileSync(file, JSON.stringify(vendor, null, 4), { mode: 0o600 });
    let offset = 0;
    const options: KeyfobOptions = {
      appName: 'kscli',
      environment: env,
      home,
      now: () => new Date(Date.now() + offset),
      credentialsFile: {
        layout: 'single-json',
        path: '~/.kscli/credentials.json',
        fields: { tenant: 'account_id', tenant_name: 'account_slug' },
      },
    };
    const kf = createKeyfob(options);
    const login = await passwordLogin(kf, 'work');
    assert.equal(login.subject, alice(idp).sub);
    assert.equal(mode(file), 0o600);
    assert.ok(!existsSync(join(home, 'sessions')), 'no keyfob session files');

    const first = await kf.getToken({ profile: 'work' });
    const written = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(written.settings, vendor.settings);
    assert.deepEqual(written.old, vendor.old);
    assert.equal(written.work.nickname, 'kept verbatim');
    assert.equal(written.work.token, first.access_token);
    assert.equal(written.work.token_expiration, Math.floor(Date.parse(first.expires_at as string) / 1000));
    assert.equal(written.work.user, alice(idp).sub);
    assert.equal(typeof written.work.refresh_token, 'string');
    assert.ok(!JSON.stringify(written).includes('schema_version'), 'no schema_version in the vendor file');
    assert.ok(
      !JSON.stringify(written.work.kscli_session).includes(written.work.refresh_token),
      'the refresh token once',
    );
    assert.ok(
      !JSON.stringify(written.work.kscli_session).includes(first.access_token),
      'the access token once',
    );

    // The vendor's own tool logs the user out by deleting `token`: keyfob does not bring it back
    // from its kept copy; it renews with the refresh token instead.
    const { token: _removed, ...withoutToken } = written.work;
    writeFileSync(file, JSON.stringify({ ...written, work: withoutToken }, null, 4), { mode: 0o600 });
    const renewed = await createKeyfob(options).getToken({ profile: 'work' });
    assert.notEqual(renewed.access_token, first.access_token, 'the deleted token is not used again');
    written.work = JSON.parse(readFileSync(file, 'utf8')).work;

    // Another process (a fresh instance) renews it past its expiry; a third renews again with
    // the rotated refresh token the second one wrote.
    offset = 601_000;
    const second = await createKeyfob(options).getToken({ profile: 'work' });
    assert.notEqual(second.access_token, first.access_token);
    const rotated = JSON.parse(readFileSync(file, 'utf8')).work;
    assert.notEqual(rotated.refresh_token, written.work.refresh_token, 'dev-idp rotates refresh tokens');
    assert.equal(rotated.token, second.access_token);
    offset = 1_202_000;
    const third = await createKeyfob(options).getToken({ profile: 'work' });
    assert.notEqual(third.access_token, second.access_token);
    const hello = await fetch(`${idp.api}/hello`, {
      headers: { authorization: `Bearer ${third.access_token}` },
    });
    assert.equal(hello.status, 200);
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')).old, vendor.old);
  });

  it('single-json: pathEnv overrides path; an entry the vendor wrote is a profile; status shows the file', async () => {
    const { home, env } = vendorHome(idp);
    const elsewhere = join(home, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    const file = join(elsewhere, 'creds.json');
    const expires = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(
      file,
      JSON.stringify({
        prod: { token: 'vendor-written-token', token_expiration: expires, account_id: 'acme-eu' },
      }),
      { mode: 0o600 },
    );
    const kf = createKeyfob({
      environment: { ...env, KSCLI_CREDENTIALS_PATH: file },
      credentialsFile: {
        layout: 'single-json',
        path: '~/never-used.json',
        pathEnv: 'KSCLI_CREDENTIALS_PATH',
        fields: { tenant: 'account_id' },
      },
    });
    const token = await kf.getToken({ profile: 'prod' });
    assert.equal(token.access_token, 'vendor-written-token');
    assert.equal(token.expires_at, new Date(expires * 1000).toISOString());
    const status = await kf.status();
    const prod = status.profiles.find((p) => p.name === 'prod');
    assert.ok(prod, JSON.stringify(status));
    assert.equal(prod.logged_in, true);
    assert.equal(prod.store, 'file');
    assert.equal(prod.tenant?.id, 'acme-eu');
    assert.match(prod.store_reason ?? '', new RegExp(`single-json credentials file ${file}`));
    assert.deepEqual(
      status.profiles.map((p) => p.name),
      ['prod'],
      'only entries with credentials are profiles',
    );
    assert.ok(!existsSync(join(home, 'never-used.json')));
  });

  it('ini: a [section] with client_id and client_secret is a machine profile: getToken acquires its token with no prompt; comments and order stay', async () => {
    const { home, env } = vendorHome(idp);
    const file = join(home, 'credentials');
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const original = [
      '# Komodo credentials: do not share',
      '[default]',
      'token = person-token-of-the-vendor',
      `token_expiration = ${expires}`,
      'account_id = acme',
      'account_slug = acme-inc',
      'region = eu-west-1',
      '',
      '; the CI robot',
      '[production]',
      `client_id = ${idp.clients.machine.client_id}`,
      `client_secret = ${idp.clients.machine.client_secret}`,
      'account_id = acme-eu',
      '',
      '[unrelated]',
      'color = blue',
      '',
    ].join('\n');
    writeFileSync(file, original, { mode: 0o600 });
    const before = idp.stats.tokenRequests.client_credentials ?? 0;
    const kf = createKeyfob({
      appName: 'komodo',
      home,
      environment: env,
      credentialsFile: {
        layout: 'ini',
        path: file,
        fields: { tenant: 'account_id', tenant_name: 'account_slug' },
      },
    });
    const person = await kf.getToken({ profile: 'default' });
    assert.equal(person.access_token, 'person-token-of-the-vendor');

    const machine = await kf.getToken({ profile: 'production' });
    const hello = await fetch(`${idp.api}/hello`, {
      headers: { authorization: `Bearer ${machine.access_token}` },
    });
    assert.equal(hello.status, 200, 'a real client-credentials token from dev-idp');
    assert.equal((idp.stats.tokenRequests.client_credentials ?? 0) - before, 1);
    const after = readFileSync(file, 'utf8');
    assert.equal(mode(file), 0o600);
    const lines = after.split('\n');
    // Everything of the original is still there, in order; the machine section gained its token.
    assert.equal(lines.slice(0, 9).join('\n'), original.split('\n').slice(0, 9).join('\n'));
    assert.ok(after.includes('; the CI robot\n[production]\n'));
    assert.ok(after.includes('[unrelated]\ncolor = blue\n'));
    assert.ok(after.includes(`client_secret = ${idp.clients.machine.client_secret}\n`));
    assert.ok(after.includes(`token = ${machine.access_token}\n`));
    assert.match(after, /\ntoken_expiration = \d{10}\n/);
    assert.ok(!after.includes('schema_version'));
    assert.equal(after.split(idp.clients.machine.client_secret).length, 2, 'the secret written once');
    // A second instance uses the stored token without asking dev-idp again.
    const again = await createKeyfob({
      appName: 'komodo',
      home,
      environment: env,
      credentialsFile: { layout: 'ini', path: file, fields: { tenant: 'account_id' } },
    }).getToken({ profile: 'production' });
    assert.equal(again.access_token, machine.access_token);

    // logout forgets the session; the service principal's credentials and tenant are the vendor's.
    await kf.logout({ profile: 'production' });
    const loggedOut = readFileSync(file, 'utf8');
    assert.ok(loggedOut.includes(`[production]\nclient_id = ${idp.clients.machine.client_id}\n`));
    assert.ok(
      loggedOut.includes(`client_secret = ${idp.clients.machine.client_secret}\naccount_id = acme-eu\n`),
    );
    assert.ok(!loggedOut.includes(machine.access_token));
    assert.ok(!loggedOut.includes('komodo_session'));
    assert.ok(
      loggedOut.startsWith(original.split('\n').slice(0, 9).join('\n')),
      'the person section untouched',
    );
  });

  it('creates a missing directory 0700 and the file 0600 whatever the umask', async () => {
    const { home, env } = vendorHome(idp);
    const previous = process.umask(0o022);
    try {
      const kf = createKeyfob({
        environment: env,
        credentialsFile: { layout: 'ini', path: '~/.newvendor/deeper/credentials' },
      });
      await passwordLogin(kf, 'work');
    } finally {
      process.umask(previous);
    }
    assert.equal(mode(join(home, '.newvendor')), 0o700);
    assert.equal(mode(join(home, '.newvendor', 'deeper')), 0o700);
    assert.equal(mode(join(home, '.newvendor', 'deeper', 'credentials')), 0o600);
    assert.deepEqual(
      readdirSync(join(home, '.newvendor', 'deeper')),
      ['credentials'],
      'no lock or temp file left',
    );
  });

  it('logout removes what keyfob keeps and leaves the vendor its own keys', async () => {
    const { home, env } = vendorHome(idp);
    const file = join(home, 'credentials.json');
    writeFileSync(file, JSON.stringify({ work: { nickname: 'mine' }, other: { token: 't' } }), {
      mode: 0o600,
    });
    const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'single-json' } });
    await passwordLogin(kf, 'work');
    assert.ok(JSON.parse(readFileSync(file, 'utf8')).work.refresh_token);
    await kf.logout({ profile: 'work' });
    const left = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(left, { work: { nickname: 'mine' }, other: { token: 't' } });
  });
});

describe('credentialsFile: unsafe places and bad data', () => {
  it('refuses a symlink planted in the file place, and writes nothing through it', async () => {
    const { home, env } = vendorHome(idp);
    const target = join(home, 'target.json');
    writeFileSync(target, '{"victim": {"keep": true}}', { mode: 0o600 });
    symlinkSync(target, join(home, 'credentials.json'));
    const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'single-json' } });
    await assert.rejects(passwordLogin(kf, 'work'), (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'UNSAFE_PATH', String(error));
      return true;
    });
    assert.equal(readFileSync(target, 'utf8'), '{"victim": {"keep": true}}');
  });

  for (const [label, prepare] of [
    [
      'a directory owned by another user (uid 65534)',
      (dir: string) => {
        mkdirSync(dir, { mode: 0o700 });
        chownSync(dir, 65534, 65534);
        return dir;
      },
    ],
    [
      'a /tmp-like parent every user can write (0777, not sticky)',
      (dir: string) => {
        mkdirSync(dir);
        chmodSync(dir, 0o777);
        return dir;
      },
    ],
  ] as const) {
    it(`refuses a credentials file under ${label} with INSECURE_PERMISSIONS, writing nothing`, async () => {
      const { home, env } = vendorHome(idp);
      const shared = prepare(join(home, 'shared'));
      const file = label.startsWith('a /tmp')
        ? join(shared, 'app', 'credentials')
        : join(shared, 'credentials');
      const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'ini', path: file } });
      await assert.rejects(passwordLogin(kf, 'work'), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'INSECURE_PERMISSIONS', String(error));
        assert.ok((error as Error).message.includes(shared), (error as Error).message);
        assert.match(String((error as { hint?: string }).hint), /chown|chmod|directory of your own/);
        return true;
      });
      assert.deepEqual(readdirSync(shared), [], 'nothing written');
      assert.ok(!existsSync(join(home, 'sessions')));
    });
  }
});
