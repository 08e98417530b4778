/**
 * Tokens from outside given to an exchange provider (DESIGN.md, Control planes, "a token from
 * outside"): the `<PREFIX>_TOKEN_FILE`'s token is exchanged like `<PREFIX>_TOKEN`'s when it is the
 * login's own (a CI job's ID token in a file), the exchange reused while fresh and redone when
 * the file changes; an expired token from outside is `TokenExpired` before anything is sent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticationRequired, createKeyfob, TokenExpired } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { passwordTokens } from './support/cli.js';

const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const BOB = { email: 'bob@example.com', password: 'bob-password-2' };

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

/** `pw` (password at dev-idp) under `cloud` (an exchange at dev-idp's control plane). */
function config(target: DevIdp) {
  return {
    default_provider: 'cloud',
    providers: {
      pw: {
        type: 'password',
        issuer: target.issuer,
        client_id: target.clients.cli.client_id,
        scopes: ['openid', 'email'],
      },
      cloud: { type: 'exchange', login: 'pw', control_plane: target.controlPlane },
    },
  };
}

async function idToken(user: { email: string; password: string }): Promise<string> {
  return (await passwordTokens(idp, user, 'openid email')).id_token ?? '';
}

/** The same token with its `exp` in the past (its signature no longer matches: it is never sent). */
function expired(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
  const past = Math.floor(Date.now() / 1000) - 600;
  const moved = Buffer.from(JSON.stringify({ ...claims, iat: past - 300, exp: past })).toString('base64url');
  return `${header}.${moved}.${signature}`;
}

function freshHome() {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-outside-'));
  return { home, env: { HOME: home, PATH: process.env.PATH ?? '/usr/bin:/bin' } };
}

describe('tokens from outside for an exchange provider', () => {
  it("KEYFOB_TOKEN_FILE with the login's ID token: exchanged for the tenant, reused while fresh, redone when the file changes", async () => {
    const { home, env } = freshHome();
    const file = join(home, 'id-token');
    writeFileSync(file, `${await idToken(ALICE)}\n`, { mode: 0o600 });
    const kf = createKeyfob({
      home,
      config: config(idp),
      environment: { ...env, KEYFOB_TOKEN_FILE: file, KEYFOB_TENANT: 'acme-us' },
    });
    const exchanges = idp.stats.controlPlane.exchanges;
    const first = await kf.getToken();
    assert.equal(first.tenant?.id, 'acme-us');
    assert.equal(first.profile, 'KEYFOB_TOKEN_FILE');
    const hello = await kf.fetch('/v1/hello');
    assert.equal(hello.status, 200);
    const body = (await hello.json()) as { email: string; tenant_id: string };
    assert.deepEqual([body.email, body.tenant_id], [ALICE.email, 'acme-us']);
    assert.equal((await kf.getToken()).access_token, first.access_token);
    assert.equal(idp.stats.controlPlane.exchanges, exchanges + 1, 'one exchange for three calls');

    // A rotated file (another person's token here): its own exchange, for its own tenant.
    writeFileSync(file, `${await idToken(BOB)}\n`, { mode: 0o600 });
    const bob = createKeyfob({
      home,
      config: config(idp),
      environment: { ...env, KEYFOB_TOKEN_FILE: file },
    });
    const rotated = await kf.fetch('/v1/hello', { tenant: 'acme-eu' });
    assert.equal(((await rotated.json()) as { email: string }).email, BOB.email);
    assert.equal((await bob.getToken()).tenant?.id, 'acme-eu', "bob's only tenant");
    await Promise.all([kf.close(), bob.close()]);
  });

  it('an expired token from outside is TokenExpired (exit 2), in a variable or a file, and nothing is sent', async () => {
    const { home, env } = freshHome();
    const stale = expired(await idToken(ALICE));
    const file = join(home, 'id-token');
    writeFileSync(file, stale, { mode: 0o600 });
    const [lists, exchanges] = [idp.stats.controlPlane.tenants, idp.stats.controlPlane.exchanges];
    for (const [variable, value] of [
      ['KEYFOB_TOKEN', stale],
      ['KEYFOB_TOKEN_FILE', file],
    ] as const) {
      const kf = createKeyfob({ home, config: config(idp), environment: { ...env, [variable]: value } });
      const error = await kf.getToken().then(
        () => assert.fail('an expired token'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof TokenExpired, String(error));
      assert.ok(
        error instanceof AuthenticationRequired,
        'callers that catch AuthenticationRequired still do',
      );
      assert.equal(error.code, 'AUTHENTICATION_REQUIRED');
      assert.equal(error.exitCode, 2);
      assert.match(
        error.message,
        new RegExp(`the token from ${variable} expired at \\S+ and cannot be renewed`),
      );
      assert.ok(!error.message.includes(stale));
    }
    // The control plane's own token, used as it is, expired: the same error.
    const past = Math.floor(Date.now() / 1000) - 60;
    const cpToken = [{ alg: 'none' }, { iss: idp.controlPlane, tenant_id: 'acme-eu', exp: past }]
      .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
      .join('.');
    const asIs = createKeyfob({
      home,
      config: config(idp),
      environment: { ...env, KEYFOB_TOKEN: `${cpToken}.` },
    });
    await assert.rejects(asIs.getToken(), TokenExpired);
    assert.equal(idp.stats.controlPlane.tenants, lists, 'no tenant list asked with an expired token');
    assert.equal(idp.stats.controlPlane.exchanges, exchanges, 'no exchange tried');
  });
});
