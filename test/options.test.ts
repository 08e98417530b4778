/**
 * createKeyfob's integrator options (issue #12): `envPrefix` and `env` renames decide every
 * variable read; `store` fixes where every profile's session lives (a kind, or the integrator's
 * own CredentialStore), and a memory store keeps a persisted login for the instance's life.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationRequired,
  type CredentialStore,
  createKeyfob,
  InvalidInput,
  type LoginInteraction,
  ProfileNotFound,
  RefreshFailed,
  type Session,
} from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli } from './support/cli.js';

let idp: DevIdp;
const homes: string[] = [];
before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function freshHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-opts-'));
  homes.push(home);
  return home;
}

const nobody: LoginInteraction = {
  showAuthorizationUrl: () => assert.fail('no browser'),
  showDeviceCode: () => assert.fail('no device code'),
  openBrowser: async () => assert.fail('no browser'),
  waiting: () => () => {},
  notice() {},
};

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };

function passwordConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    default_provider: 'pw',
    providers: {
      pw: {
        type: 'password',
        issuer: idp.issuer,
        client_id: idp.clients.cli.client_id,
        scopes: ['openid', 'profile', 'email', 'offline_access'],
        api_base: idp.api,
      },
    },
    ...extra,
  };
}

function sessionsIn(home: string): string[] {
  const dir = join(home, 'sessions');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** A machine token from dev-idp, to hand keyfob as an outside credential. */
async function machineToken(): Promise<string> {
  const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
  const result = await runCli(['token', '--profile', 'ci'], { env: home.env });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

describe('envPrefix and env renames', () => {
  it('envPrefix KUMIHO_AUTH reads KUMIHO_AUTH_TOKEN, not KUMIHO_TOKEN', async () => {
    const token = await machineToken();
    const kf = createKeyfob({
      appName: 'kumiho',
      envPrefix: 'KUMIHO_AUTH',
      home: freshHome(),
      environment: { KUMIHO_AUTH_TOKEN: token, KUMIHO_TOKEN: 'not-this-one' },
      config: passwordConfig(),
    });
    const result = await kf.getToken();
    assert.equal(result.access_token, token);
    assert.equal(result.profile, 'KUMIHO_AUTH_TOKEN');
    assert.equal(kf.names.envPrefix, 'KUMIHO_AUTH');
    const explained = await kf.explain();
    assert.equal(explained.resolved.source, 'KUMIHO_AUTH_TOKEN');
  });

  it('a renamed variable is read under its new name only, and messages name it', async () => {
    const warnings: string[] = [];
    const log = {
      debug() {},
      info() {},
      warn: (message: string) => warnings.push(message),
    };
    const renames = {
      VERIFY_TLS: 'KSCLI_VERIFY_SSL',
      CA_BUNDLE: 'KSCLI_CA_BUNDLE',
      ADMIN_API_KEY: 'ADMIN_API_KEY',
    };
    // The prefixed CA bundle does not exist: it must not be read (it would fail the request).
    const ignored = createKeyfob({
      appName: 'kumiho',
      env: renames,
      home: freshHome(),
      environment: { KUMIHO_CA_BUNDLE: '/nonexistent/ca.pem', KSCLI_VERIFY_SSL: 'false' },
      config: passwordConfig(),
      log,
    });
    const answer = await ignored.http(`${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(answer.status, 200);
    assert.ok(
      warnings.some((w) => w.includes('KSCLI_VERIFY_SSL=false')),
      `the warning names the variable read: ${warnings.join(' | ')}`,
    );
    await ignored.close();
    // The renamed one is read, and the error names it.
    const read = createKeyfob({
      appName: 'kumiho',
      env: renames,
      home: freshHome(),
      environment: { KSCLI_CA_BUNDLE: '/nonexistent/ca.pem' },
      config: passwordConfig(),
    });
    await assert.rejects(read.http(`${idp.issuer}/.well-known/openid-configuration`), (error: Error) => {
      assert.match(error.message, /KSCLI_CA_BUNDLE/);
      assert.doesNotMatch(error.message, /KUMIHO_CA_BUNDLE/);
      return true;
    });
    await read.close();
  });

  it('refuses a rename map that is not one, naming the entry (an environment map passed as env)', () => {
    assert.throws(
      () => createKeyfob({ env: { PATH: '/usr/bin:/bin' } }),
      (error: unknown) => error instanceof InvalidInput && /env\.PATH/.test(error.message),
    );
    assert.throws(
      () => createKeyfob({ env: { verify_tls: 'X' } as Record<string, string> }),
      (error: unknown) => error instanceof InvalidInput && /upper-case/.test(error.message),
    );
    assert.throws(() => createKeyfob({ envPrefix: 'lower' }), InvalidInput);
  });
});

/** A store of the integrator's own: sessions in a Map, every call recorded. */
class RecordingStore implements CredentialStore {
  readonly kind = 'file' as const;
  readonly location = 'the vendor vault';
  readonly calls: string[] = [];
  readonly sessions = new Map<string, Session>();
  async read(profile: string): Promise<Session | null> {
    this.calls.push(`read ${profile}`);
    return this.sessions.get(profile) ?? null;
  }
  async write(profile: string, session: Session): Promise<void> {
    this.calls.push(`write ${profile}`);
    this.sessions.set(profile, structuredClone(session));
  }
  async delete(profile: string): Promise<boolean> {
    this.calls.push(`delete ${profile}`);
    return this.sessions.delete(profile);
  }
  async list(): Promise<string[]> {
    return [...this.sessions.keys()];
  }
}

describe('createKeyfob({ store })', () => {
  it("an integrator's CredentialStore holds every session: login, getToken, refresh, logout", async () => {
    const home = freshHome();
    const store = new RecordingStore();
    const kf = createKeyfob({ home, environment: {}, store, config: passwordConfig() });
    const login = await kf.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
    assert.equal(login.store, 'file');
    assert.deepEqual(
      store.calls.filter((c) => c.startsWith('write')),
      ['write default'],
    );
    const first = await kf.getToken();
    const refreshed = await kf.getToken({ forceRefresh: true });
    assert.notEqual(refreshed.access_token, first.access_token);
    assert.ok(store.calls.filter((c) => c === 'write default').length >= 2, store.calls.join(', '));
    const status = await kf.status();
    const entry = status.profiles.find((p) => p.name === 'default');
    assert.equal(entry?.logged_in, true);
    assert.match(entry?.store_reason ?? '', /given to createKeyfob \(the vendor vault\)/);
    assert.deepEqual(sessionsIn(home), [], "nothing in the home's sessions/");
    // A second instance with the same store (a later process of the vendor's) finds the session.
    const again = createKeyfob({ home, environment: {}, store, config: passwordConfig() });
    assert.equal((await again.getToken()).access_token, refreshed.access_token);
    await again.logout();
    assert.ok(store.calls.includes('delete default'));
    assert.equal(store.sessions.size, 0);
    assert.deepEqual(sessionsIn(home), []);
    await kf.close();
    await again.close();
  });

  it('store: memory overrides the recorded store and keeps a persisted login for the instance', async () => {
    const home = freshHome();
    // A file session recorded first: the memory store of the app must win over that record.
    const onDisk = createKeyfob({ home, environment: {}, config: passwordConfig() });
    await onDisk.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
    assert.deepEqual(sessionsIn(home), ['default.json']);
    await onDisk.logout();
    const kf = createKeyfob({ home, environment: {}, store: 'memory', config: passwordConfig() });
    const login = await kf.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
    assert.equal(login.store, 'memory');
    assert.ok(login.notices.some((n) => /in memory only/.test(n)));
    const token = await kf.getToken();
    assert.ok(token.access_token.length > 20);
    assert.deepEqual(sessionsIn(home), []);
    const status = await kf.status();
    assert.equal(status.profiles.find((p) => p.name === 'default')?.logged_in, true);
    await kf.close();
  });

  it('token_storage: memory with a persisted login keeps the session for the instance', async () => {
    const home = freshHome();
    const kf = createKeyfob({ home, environment: {}, config: passwordConfig({ token_storage: 'memory' }) });
    await kf.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
    assert.ok((await kf.getToken()).access_token.length > 20);
    assert.equal((await kf.status()).profiles.find((p) => p.name === 'default')?.logged_in, true);
    assert.deepEqual(sessionsIn(home), []);
    await kf.close();
  });

  it('refuses a store that is neither a kind nor a CredentialStore', () => {
    assert.throws(() => createKeyfob({ store: 'disk' as 'file' }), InvalidInput);
    assert.throws(
      () => createKeyfob({ store: { kind: 'file' } as unknown as CredentialStore }),
      InvalidInput,
    );
  });
});

describe('the CLI with a memory store', () => {
  it('login says the session lives only in that process, and writes nothing', async () => {
    const pw = [
      '  pw:',
      '    type: password',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.cli.client_id}`,
      '    scopes: [openid, profile, email, offline_access]',
    ].join('\n');
    const home = makeHome(idp, pw);
    const env = { ...home.env, KEYFOB_STORAGE: 'memory' };
    const login = await runCli(['login', 'pw', '--email', ALICE.email, '--password-stdin'], {
      env,
      input: `${ALICE.password}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /kept in memory only .*ends with this process/);
    assert.deepEqual(sessionsIn(home.home), []);
  });
});

describe('RefreshFailed and ProfileNotFound', () => {
  it('a refresh the provider refuses is RefreshFailed (REFRESH_FAILED, an AuthenticationRequired, exit 2)', async () => {
    const short = await startDevIdp({ refreshTokenTtl: 1 });
    try {
      const kf = createKeyfob({
        home: freshHome(),
        environment: {},
        config: {
          providers: {
            pw: {
              type: 'password',
              issuer: short.issuer,
              client_id: short.clients.cli.client_id,
              scopes: ['openid', 'profile', 'email', 'offline_access'],
            },
          },
        },
      });
      await kf.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await assert.rejects(kf.getToken({ forceRefresh: true }), (error: unknown) => {
        assert.ok(error instanceof RefreshFailed, String(error));
        assert.ok(error instanceof AuthenticationRequired);
        assert.equal(error.code, 'REFRESH_FAILED');
        assert.equal(error.exitCode, 2);
        assert.match(error.message, /invalid_grant/);
        assert.match(error.message, /run `keyfob login`/);
        return true;
      });
      await kf.close();
    } finally {
      await short.close();
    }
  });

  it('an explicit profile nobody knows is ProfileNotFound naming the known ones; a logged-out one is not', async () => {
    const home = freshHome();
    const config = passwordConfig({ profiles: { work: { provider: 'pw' } } });
    const kf = createKeyfob({ home, environment: {}, config });
    await kf.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
    for (const attempt of [
      () => kf.getToken({ profile: 'wrok' }),
      () => createKeyfob({ home, environment: {}, config, profile: 'wrok' }).getToken(),
      () => createKeyfob({ home, environment: { KEYFOB_PROFILE: 'wrok' }, config }).getToken(),
    ]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof ProfileNotFound, String(error));
        assert.equal(error.exitCode, 1);
        assert.match(error.message, /there is no profile wrok \(known: default, work\)/);
        assert.match(error.message, /run `keyfob login --profile wrok`/);
        return true;
      });
    }
    // `work` is in config.yaml and not logged in: authentication required, exit 2.
    await assert.rejects(kf.getToken({ profile: 'work' }), (error: unknown) => {
      assert.ok(error instanceof AuthenticationRequired && !(error instanceof ProfileNotFound));
      assert.equal((error as AuthenticationRequired).exitCode, 2);
      return true;
    });
    await kf.close();
  });
});

/** Tokens from dev-idp's password grant, as another system would hold them. */
async function outsideTokens(
  issuer: string,
  clientId: string,
): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as {
    token_endpoint: string;
  };
  const answer = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: clientId,
      username: ALICE.email,
      password: ALICE.password,
      scope: 'openid profile email offline_access',
    }),
  });
  assert.equal(answer.status, 200);
  return (await answer.json()) as { access_token: string; refresh_token: string; expires_in: number };
}

describe('kf.importSession', () => {
  it('stores a session obtained elsewhere; once it expires getToken refreshes it at the provider', async () => {
    const short = await startDevIdp({ accessTokenTtl: 2 });
    const home = freshHome();
    try {
      const config = {
        providers: {
          pw: {
            type: 'password',
            issuer: short.issuer,
            client_id: short.clients.cli.client_id,
            scopes: ['openid', 'profile', 'email', 'offline_access'],
          },
        },
      };
      const tokens = await outsideTokens(short.issuer, short.clients.cli.client_id);
      const kf = createKeyfob({ home, environment: {}, config });
      const imported = await kf.importSession({
        profile: 'imported',
        provider: 'pw',
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresIn: tokens.expires_in,
        scopes: 'openid profile email offline_access',
      });
      assert.equal(imported.store, 'file');
      assert.deepEqual(sessionsIn(home), ['imported.json']);
      const stored = readFileSync(join(home, 'sessions', 'imported.json'), 'utf8');
      assert.match(stored, /"bound_to"/, 'bound to the provider like a login');
      assert.equal((await kf.getToken({ profile: 'imported', minTtl: 0 })).access_token, tokens.access_token);
      await new Promise((resolve) => setTimeout(resolve, 2200));
      // A new instance (a later process): the expired token is renewed with the refresh token.
      const later = createKeyfob({ home, environment: {}, config });
      const renewed = await later.getToken({ profile: 'imported', minTtl: 0 });
      assert.notEqual(renewed.access_token, tokens.access_token);
      assert.ok(Date.parse(renewed.expires_at ?? '') > Date.now());
      await kf.close();
      await later.close();
    } finally {
      await short.close();
    }
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const home = freshHome();
    const kf = createKeyfob({ home, environment: {}, config: passwordConfig() });
    const good = { profile: 'p', provider: 'pw', accessToken: 'abc.def.ghi' };
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...good, profile: '../x' }, /profile/],
      [{ ...good, provider: 'nope' }, /provider nope is not configured/],
      [{ ...good, accessToken: '' }, /accessToken/],
      [{ ...good, accessToken: 'a b' }, /accessToken/],
      [{ ...good, refreshToken: 42 }, /refreshToken/],
      [{ ...good, expiresIn: -1 }, /expiresIn/],
      [{ ...good, scopes: [1] }, /scopes/],
      [{ ...good, tenant: 'a/b' }, /tenant/],
    ];
    for (const [input, pattern] of bad) {
      await assert.rejects(
        kf.importSession(input as unknown as Parameters<typeof kf.importSession>[0]),
        (error: unknown) => error instanceof InvalidInput && pattern.test(error.message),
      );
    }
    assert.deepEqual(readdirSync(home), [], 'nothing written, not even the state file');
    await kf.close();
  });
});
