/**
 * The AuthStore facade (`createAuthStore`) an agent runtime calls, on real parts: sessions from
 * dev-idp's token endpoint (its password grant, as another system would obtain them), stored in
 * keyfob's file store through `setToken`, renewed by dev-idp on `getToken`, revoked there by
 * `clearToken`. dev-idp's counters show which calls sent a request.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationRequired,
  createAuthStore,
  createKeyfob,
  InsufficientScope,
  InvalidInput,
  type Keyfob,
  RefreshFailed,
} from '@keyfob/core';
import { type DevIdp, type DevIdpUser, startDevIdp } from '@keyfob/dev-idp';
import { passwordTokens } from './support/cli.js';

const SCOPES = 'openid profile email offline_access';
let idp: DevIdp;
let alice: DevIdpUser;
let bob: DevIdpUser;
const homes: string[] = [];
const instances: Keyfob[] = [];

before(async () => {
  idp = await startDevIdp();
  [alice, bob] = idp.users as [DevIdpUser, DevIdpUser];
});
after(async () => {
  for (const kf of instances) await kf.close();
  await idp?.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/**
 * An instance in a fresh home whose provider `pw` is dev-idp's CLI client. Its clock runs
 * `skew.ms` ahead: moving it makes a stored token near its expiry without a sleep.
 */
function instance(skew = { ms: 0 }): { kf: Keyfob; home: string; config: Record<string, unknown> } {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-authstore-'));
  homes.push(home);
  const config = {
    providers: {
      pw: {
        type: 'password',
        issuer: idp.issuer,
        client_id: idp.clients.cli.client_id,
        scopes: SCOPES.split(' '),
      },
    },
  };
  const kf = createKeyfob({
    home,
    environment: {},
    config,
    store: 'file',
    now: () => new Date(Date.now() + skew.ms),
  });
  instances.push(kf);
  return { kf, home, config };
}

/** Tokens from dev-idp's token endpoint (password grant), as the system handing them over holds them. */
async function obtained(
  user: DevIdpUser,
): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
  const tokens = await passwordTokens(idp, user, SCOPES);
  assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
  return { ...tokens, refresh_token: tokens.refresh_token };
}

/** Requests dev-idp received of any kind that a token call could send. */
function sent(): number {
  const s = idp.stats;
  return Object.values(s.tokenRequests).reduce((a, b) => a + b, 0) + s.revocations + s.apiRequests;
}

describe('createAuthStore', () => {
  it('setToken stores a session; getToken and isAuthenticated answer from it without a request while it is fresh', async () => {
    const { kf, config } = instance();
    const auth = createAuthStore({ keyfob: kf, services: { registry: { profile: 'reg', provider: 'pw' } } });
    const tokens = await obtained(alice);
    await auth.setToken('registry', {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresIn: 3600,
      scopes: SCOPES,
    });
    const before = sent();
    assert.equal(await auth.isAuthenticated('registry'), true);
    assert.equal(await auth.isAuthenticated('registry', 'profile'), true);
    assert.equal(await auth.getToken('registry'), tokens.access_token);
    assert.equal(await auth.getToken('registry', 'email'), tokens.access_token);
    // A later process (a new instance over the same home) reads the same session.
    const later = createAuthStore({
      keyfob: createKeyfob({ home: kf.home, environment: {}, config, store: 'file' }),
    });
    assert.equal(
      await later.getToken('reg'),
      tokens.access_token,
      'without services, the service is the profile',
    );
    assert.equal(sent() - before, 0, 'no request to dev-idp for a fresh token');
  });

  it('getToken renews a token about to expire with its refresh token (once), and the renewed token works at the API', async () => {
    const skew = { ms: 0 };
    const { kf } = instance(skew);
    const auth = createAuthStore({ keyfob: kf });
    const tokens = await obtained(alice);
    // 30 s left is under the 60 s a token must still have: the next getToken renews it.
    await auth.setToken('soon', {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresIn: 120,
    });
    // min(60 s, half of 120 s) must remain: 70 s later by the instance's clock, 50 s do not.
    skew.ms = 70_000;
    const refreshes = idp.stats.refreshRequests;
    const renewed = await auth.getToken('soon');
    assert.notEqual(renewed, tokens.access_token);
    assert.equal(idp.stats.refreshRequests - refreshes, 1);
    assert.equal(await auth.getToken('soon'), renewed, 'the renewed token is kept');
    assert.equal(idp.stats.refreshRequests - refreshes, 1, 'and not renewed again');
    const userinfo = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${renewed}` } });
    assert.equal(userinfo.status, 200);
    const meta = await auth.getCachedMetadata('soon');
    assert.ok(
      meta && Date.parse(meta.expiresAt ?? '') > Date.now() + 300_000,
      'the metadata shows the renewed expiry',
    );
  });

  it('without a session: AuthenticationRequired naming the command, isAuthenticated false, metadata null, clearToken removes nothing', async () => {
    const { kf } = instance();
    const auth = createAuthStore({ keyfob: kf, services: { registry: 'reg', docs: { profile: 'docs' } } });
    const before = sent();
    await assert.rejects(
      auth.getToken('registry'),
      (error: unknown) =>
        error instanceof AuthenticationRequired &&
        !(error instanceof RefreshFailed) &&
        error.message.includes('keyfob login --profile reg'),
    );
    assert.equal(await auth.isAuthenticated('registry'), false);
    assert.equal(await auth.isAuthenticated('docs', 'profile'), false);
    assert.equal(await auth.getCachedMetadata('registry'), null);
    assert.deepEqual(await auth.clearToken('docs'), {
      service: 'docs',
      profile: 'docs',
      removed: false,
      revoked: false,
      warnings: [],
    });
    assert.equal(sent() - before, 0);
    await assert.rejects(
      auth.getToken('unknown'),
      (error: unknown) =>
        error instanceof InvalidInput &&
        /unknown service "unknown".*known services: docs, registry/.test(error.message),
    );
    const plain = createAuthStore({ keyfob: kf });
    await assert.rejects(plain.isAuthenticated('../etc'), InvalidInput, 'a service name is a profile name');
  });

  it('InsufficientScope, before any request, when the session was not granted the scope; isAuthenticated says false', async () => {
    const { kf } = instance();
    const auth = createAuthStore({ keyfob: kf });
    const tokens = await obtained(alice);
    await auth.setToken('narrow', {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresIn: 3600,
    });
    const before = sent();
    await assert.rejects(
      auth.getToken('narrow', 'registry:write'),
      (error: unknown) =>
        error instanceof InsufficientScope &&
        error.missingScopes.includes('registry:write') &&
        error.message.includes('--profile narrow'),
    );
    assert.equal(await auth.isAuthenticated('narrow', 'registry:write'), false);
    assert.equal(await auth.isAuthenticated('narrow', 'openid'), true);
    assert.equal(sent() - before, 0);
  });

  it('getCachedMetadata tells provider, scopes, expiry and tenant, and no secret', async () => {
    const { kf } = instance();
    const auth = createAuthStore({ keyfob: kf, services: { registry: { profile: 'reg', provider: 'pw' } } });
    const tokens = await obtained(alice);
    const start = Date.now();
    await auth.setToken('registry', {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresIn: 900,
      scopes: ['openid', 'profile'],
      tenant: 'acme-corp',
    });
    const meta = await auth.getCachedMetadata('registry');
    assert.ok(meta);
    const { expiresAt, obtainedAt, ...rest } = meta;
    assert.deepEqual(rest, {
      service: 'registry',
      profile: 'reg',
      provider: 'pw',
      scopes: ['openid', 'profile'],
      tenant: 'acme-corp',
    });
    assert.ok(Math.abs(Date.parse(expiresAt ?? '') - (start + 900_000)) < 30_000, `expiresAt ${expiresAt}`);
    assert.ok(Math.abs(Date.parse(obtainedAt ?? '') - start) < 30_000, `obtainedAt ${obtainedAt}`);
    const json = JSON.stringify(meta);
    for (const secret of [tokens.access_token, tokens.refresh_token]) {
      for (const part of secret.split('.').filter((p) => p.length >= 16)) {
        assert.ok(!json.includes(part), 'no part of a token in the metadata');
      }
    }
  });

  it('setToken refuses an empty, too long, or whitespace/control-character token without writing or echoing it', async () => {
    const { kf, home } = instance();
    const auth = createAuthStore({ keyfob: kf });
    const bad = ['', 'Qz7 def', 'Qz7\ndef', 'Qz7\u001b[31m', `Qz7${'y'.repeat(70_000)}`, 'Qz7caf\u00e9'];
    for (const accessToken of bad) {
      await assert.rejects(
        auth.setToken('svc', { accessToken }),
        (error: unknown) =>
          error instanceof InvalidInput &&
          error.message.includes('accessToken') &&
          !error.message.includes('Qz7'),
      );
    }
    await assert.rejects(
      auth.setToken('svc', { accessToken: 'good-token', refreshToken: 'bad\ttoken' }),
      InvalidInput,
    );
    assert.deepEqual(readdirSync(home), [], 'nothing written, not even the state file');
  });

  it('clearToken revokes the refresh token at dev-idp and removes the session', async () => {
    const { kf, home } = instance();
    const auth = createAuthStore({ keyfob: kf });
    const tokens = await obtained(bob);
    await auth.setToken('gone', {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresIn: 3600,
    });
    assert.ok(existsSync(join(home, 'sessions', 'gone.json')));
    const revocations = idp.stats.revocations;
    const cleared = await auth.clearToken('gone');
    assert.deepEqual(cleared, {
      service: 'gone',
      profile: 'gone',
      removed: true,
      revoked: true,
      warnings: [],
    });
    assert.equal(idp.stats.revocations - revocations, 1);
    assert.ok(!existsSync(join(home, 'sessions', 'gone.json')));
    assert.equal(await auth.isAuthenticated('gone'), false);
    await assert.rejects(auth.getToken('gone'), AuthenticationRequired);
    // The provider refuses the revoked refresh token: it was revoked there, not only forgotten here.
    const reuse = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: idp.clients.cli.client_id,
        refresh_token: tokens.refresh_token,
      }),
    });
    assert.equal(reuse.status, 400);
  });

  // Last: it revokes every grant of alice.
  it('a refresh the provider refuses is RefreshFailed naming the login; isAuthenticated is false, not an error', async () => {
    const skew = { ms: 0 };
    const { kf } = instance(skew);
    const auth = createAuthStore({ keyfob: kf });
    const tokens = await obtained(alice);
    await auth.setToken('revoked', {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token,
      expiresIn: 120,
    });
    await idp.revokeGrantsOf(alice.sub);
    // Past its expiry by the instance's clock (a token that still has time left is served while
    // a refresh fails).
    skew.ms = 130_000;
    await assert.rejects(
      auth.getToken('revoked'),
      (error: unknown) =>
        error instanceof RefreshFailed && error.message.includes('keyfob login --profile revoked'),
    );
    assert.equal(await auth.isAuthenticated('revoked'), false);
    for (const secret of [tokens.access_token, tokens.refresh_token]) {
      const caught = await auth
        .getToken('revoked')
        .catch((error: Error) => `${error.message} ${error.stack}`);
      assert.ok(!String(caught).includes(secret), 'no token in the error');
    }
  });
});
