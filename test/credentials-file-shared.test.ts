/**
 * `createKeyfob({ credentialsFile })`: one file shared by every profile. Several processes
 * logging in and renewing different profiles of the same file at once lose nothing (the lock
 * is per file; dev-idp rotates refresh tokens, so a lost one would log its profile out). Hostile
 * or damaged files get a clear error or are moved aside, never rewritten in place, and no
 * secret reaches an error.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, KeyfobError, StoreCorrupt } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { alice } from './support/cli.js';
import { noInteraction, vendorHome } from './support/credentials-file.js';

const WORKER = join(import.meta.dirname, 'fixtures', 'credentials-file-worker.ts');

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 600 });
});
after(async () => {
  await idp?.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function worker(job: Record<string, unknown>, password: string): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: String(job.home) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(`${password}\n`);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const PROFILES = ['p1', 'p2', 'p3', 'p4'];

for (const layout of ['single-json', 'ini'] as const) {
  describe(`${layout}: processes sharing one file`, () => {
    it('4 processes logging in, then 4 renewing, different profiles at once: every profile and every rotated refresh token survives', async () => {
      const { home, env } = vendorHome(idp);
      const path = join(home, layout === 'ini' ? 'credentials' : 'credentials.json');
      const vendorText =
        layout === 'ini'
          ? '# the vendor keeps this\n[vendor]\nregion = eu\n'
          : '{"vendor": {"region": "eu"}}';
      writeFileSync(path, vendorText, { mode: 0o600 });
      const job = (action: string, profile: string, offsetMs: number) => ({
        action,
        profile,
        email: alice(idp).email,
        env,
        home,
        layout,
        path,
        offsetMs,
      });
      const logins = await Promise.all(PROFILES.map((p) => worker(job('login', p, 0), alice(idp).password)));
      for (const run of logins) assert.equal(run.code, 0, run.stderr);
      const refreshTokens = (): Record<string, string> => {
        const kf = readFileSync(path, 'utf8');
        if (layout === 'ini') {
          return Object.fromEntries(
            PROFILES.map((p) => [
              p,
              new RegExp(`\\[${p}\\][^[]*?\\nrefresh_token = (\\S+)`).exec(kf)?.[1] ?? '',
            ]),
          );
        }
        const parsed = JSON.parse(kf);
        return Object.fromEntries(PROFILES.map((p) => [p, parsed[p]?.refresh_token ?? '']));
      };
      const afterLogin = refreshTokens();
      for (const p of PROFILES) assert.ok(afterLogin[p], `${p} logged in: ${readFileSync(path, 'utf8')}`);

      // Past the access tokens' expiry: each process renews its profile, rotating its refresh token.
      const refreshesBefore = idp.stats.refreshRequests;
      const renewals = await Promise.all(PROFILES.map((p) => worker(job('token', p, 601_000), '')));
      for (const run of renewals) assert.equal(run.code, 0, run.stderr);
      assert.equal(idp.stats.refreshRequests - refreshesBefore, PROFILES.length);
      const afterRenewal = refreshTokens();
      for (const p of PROFILES)
        assert.notEqual(afterRenewal[p], afterLogin[p], `${p}'s rotated refresh token is kept`);

      // Each kept refresh token is the live one: renewing once more works for every profile.
      const again = await Promise.all(PROFILES.map((p) => worker(job('token', p, 1_202_000), '')));
      for (const run of again) assert.equal(run.code, 0, run.stderr);
      const text = readFileSync(path, 'utf8');
      assert.ok(layout === 'ini' ? text.startsWith(vendorText) : JSON.parse(text).vendor.region === 'eu');
      assert.ok(
        !readdirSync(home).some((f) => f.includes('.corrupt-') || f.endsWith('.tmp')),
        readdirSync(home).join(),
      );
    });
  });
}

describe('one credentials file, two homes (the vendor CLI and its SDK)', () => {
  it('6 processes of two homes renewing the same profile at once: one refresh, and the rotated refresh token is the live one', async () => {
    const cli = vendorHome(idp);
    const sdk = vendorHome(idp);
    const path = join(cli.home, 'credentials.json');
    const job = (where: typeof cli, action: string, offsetMs: number) => ({
      action,
      profile: 'shared',
      email: alice(idp).email,
      env: where.env,
      home: where.home,
      layout: 'single-json',
      path,
      offsetMs,
    });
    const login = await worker(job(cli, 'login', 0), alice(idp).password);
    assert.equal(login.code, 0, login.stderr);
    const refreshesBefore = idp.stats.refreshRequests;
    // Past expiry, three processes of each home at once: the lock is beside the shared file, so
    // the homes' own lock folders cannot let two of them spend the same refresh token.
    const renewals = await Promise.all(
      [cli, sdk, cli, sdk, cli, sdk].map((where) => worker(job(where, 'token', 601_000), '')),
    );
    for (const run of renewals) assert.equal(run.code, 0, run.stderr);
    assert.equal(idp.stats.refreshRequests - refreshesBefore, 1);
    const again = await worker(job(sdk, 'token', 1_202_000), '');
    assert.equal(again.code, 0, again.stderr);
  });
});

describe('hostile and damaged credentials files', () => {
  const SECRET = 'sekrit-refresh-token-never-in-errors';

  function assertNoSecret(error: unknown) {
    assert.ok(error instanceof KeyfobError, String(error));
    assert.ok(!`${error.message} ${error.hint ?? ''}`.includes(SECRET), error.message);
  }

  for (const [label, bytes] of [
    ['a binary file', Buffer.concat([Buffer.from([0, 159, 146, 150, 255]), Buffer.from(SECRET)])],
    ['a JSON array', Buffer.from(JSON.stringify([{ refresh_token: SECRET }]))],
  ] as const) {
    it(`single-json: ${label} is moved aside, said once, and a new login starts a clean file`, async () => {
      const { home, env } = vendorHome(idp);
      const file = join(home, 'credentials.json');
      writeFileSync(file, bytes, { mode: 0o600 });
      const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'single-json' } });
      // Listing profiles (status) neither fails on it nor moves it without telling.
      assert.deepEqual((await kf.status()).profiles, []);
      assert.deepEqual(readFileSync(file), bytes);
      await assert.rejects(kf.getToken({ profile: 'work' }), (error: unknown) => {
        assertNoSecret(error);
        assert.ok(error instanceof StoreCorrupt, String(error));
        assert.match(
          error.message,
          /could not be read \((not UTF-8 text|a JSON array, not an object of profiles)\)/,
        );
        return true;
      });
      const aside = readdirSync(home).filter((f) => f.startsWith('credentials.json.corrupt-'));
      assert.equal(aside.length, 1);
      assert.deepEqual(
        readFileSync(join(home, aside[0] as string)),
        bytes,
        'the damaged bytes kept as they were',
      );
      assert.ok(!existsSync(file));
      const told = await kf.status();
      assert.equal(told.notes.filter((n) => n.includes('.corrupt-')).length, 1, JSON.stringify(told.notes));
      assert.equal((await kf.status()).notes.filter((n) => n.includes('.corrupt-')).length, 0, 'told once');
      await kf.login({
        profile: 'work',
        provider: 'pw',
        email: alice(idp).email,
        password: alice(idp).password,
        interaction: noInteraction(),
        persist: true,
      });
      assert.ok(JSON.parse(readFileSync(file, 'utf8')).work.refresh_token);
    });
  }

  it('ini: a repeated section is refused for that profile (naming the line), the file untouched; other profiles work and keep both copies', async () => {
    const { home, env } = vendorHome(idp);
    const file = join(home, 'credentials');
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const text = [
      '[prod]',
      `refresh_token = ${SECRET}`,
      '[ok]',
      'token = ok-token',
      `token_expiration = ${expires}`,
      'weird key without value',
      '[prod]',
      `refresh_token = ${SECRET}-2`,
      '',
    ].join('\n');
    writeFileSync(file, text, { mode: 0o600 });
    const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'ini' } });
    await assert.rejects(kf.getToken({ profile: 'prod' }), (error: unknown) => {
      assertNoSecret(error);
      assert.equal((error as KeyfobError).code, 'STORE_UNAVAILABLE');
      assert.match((error as Error).message, /more than one \[prod\] section \(again at line 7\)/);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), text);
    const login = (profile: string) =>
      kf.login({
        profile,
        provider: 'pw',
        email: alice(idp).email,
        password: alice(idp).password,
        interaction: noInteraction(),
        persist: true,
      });
    await assert.rejects(login('prod'), (error: unknown) => {
      assertNoSecret(error);
      assert.match((error as Error).message, /more than one \[prod\] section/);
      return true;
    });
    assert.equal(readFileSync(file, 'utf8'), text, 'a login into the repeated section writes nothing');
    assert.equal((await kf.getToken({ profile: 'ok' })).access_token, 'ok-token');
    await login('work');
    const after = readFileSync(file, 'utf8');
    assert.ok(after.startsWith(text), 'every line of the vendor kept');
    assert.match(after, /\[work\]\ntoken = /);
    assert.ok(!readdirSync(home).some((f) => f.includes('.corrupt-')));
  });

  it('a huge file is refused with a clear error and left untouched; nothing of it in the error', async () => {
    const { home, env } = vendorHome(idp);
    const file = join(home, 'credentials.json');
    const huge = JSON.stringify({ work: { refresh_token: SECRET, junk: 'x'.repeat(2 * 1024 * 1024) } });
    writeFileSync(file, huge, { mode: 0o600 });
    const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'single-json' } });
    for (const attempt of [kf.getToken({ profile: 'work' }), kf.logout({ profile: 'work' })]) {
      await assert.rejects(attempt, (error: unknown) => {
        assertNoSecret(error);
        assert.match(
          (error as Error).message,
          /is \d+ bytes, more than the 1048576 a credentials file may be; it was left untouched/,
        );
        return true;
      });
    }
    assert.equal(readFileSync(file, 'utf8'), huge);
  });

  it('single-json: entries of other shapes and unknown keys are the vendor business, never damage', async () => {
    const { home, env } = vendorHome(idp);
    const file = join(home, 'credentials.json');
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const vendor = {
      version: 3,
      list: [1, 2],
      'not a profile!': {},
      ok: { token: 'ok-token', token_expiration: expires, x: { y: 1 } },
    };
    writeFileSync(file, JSON.stringify(vendor), { mode: 0o600 });
    const kf = createKeyfob({ environment: env, credentialsFile: { layout: 'single-json' } });
    assert.equal((await kf.getToken({ profile: 'ok' })).access_token, 'ok-token');
    await kf.login({
      profile: 'work',
      provider: 'pw',
      email: alice(idp).email,
      password: alice(idp).password,
      interaction: noInteraction(),
      persist: true,
    });
    const after = JSON.parse(readFileSync(file, 'utf8'));
    for (const key of Object.keys(vendor)) assert.deepEqual(after[key], vendor[key as keyof typeof vendor]);
    assert.ok(!readdirSync(home).some((f) => f.includes('.corrupt-')));
  });
});
