/**
 * A signal after the token request costs no session (DESIGN.md, Security rules): from sending a
 * refresh until the rotated refresh token is stored, SIGINT, SIGTERM and SIGHUP are held, then
 * acted on. dev-idp runs without a reuse grace window, so a lost rotation would revoke the grant
 * at the next refresh. The signal is sent by a proxy on 127.0.0.1 at the moment the provider has
 * answered the refresh and before the answer reaches keyfob.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, signIn } from './support/browser.js';
import { loginWithDevice, makeHome, runCli, startCli, type TestHome } from './support/cli.js';
import { startProxy } from './support/proxy.js';

function refreshToken(home: TestHome): string {
  return JSON.parse(readFileSync(join(home.home, 'sessions', 'default.json'), 'utf8')).session.refresh_token;
}

const isRefresh = (body: string) => body.includes('grant_type=refresh_token');

describe('signals during a refresh', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp({ refreshReuseGraceSeconds: 0 });
  });
  after(() => idp.close());

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} while the refresh is in flight: the process ends by ${signal} after storing the new refresh token; the grant lives on`, async () => {
      const home = makeHome(idp);
      assert.equal((await loginWithDevice(idp, home)).code, 0);
      const spent = refreshToken(home);
      const proxy = await startProxy();
      try {
        const victim = startCli(['refresh'], { env: { ...home.env, HTTP_PROXY: proxy.url } });
        let signalled = false;
        proxy.decide = (exchange) => {
          if (isRefresh(exchange.requestBody) && !signalled) {
            signalled = true;
            victim.child.kill(signal);
          }
          return 'forward';
        };
        const result = await victim.done;
        assert.ok(signalled, 'the refresh went through the proxy');
        assert.equal(result.code, null, result.stderr);
        assert.equal(victim.child.signalCode, signal, 'ended by the signal itself');
        assert.match(
          result.stderr,
          new RegExp(`${signal} received; finishing the token refresh of profile default`),
        );
      } finally {
        await proxy.close();
      }
      const stored = refreshToken(home);
      assert.notEqual(stored, spent, 'the rotated refresh token was stored');
      // The grant was not revoked: the stored (new) refresh token still works.
      const next = await runCli(['refresh'], { env: home.env });
      assert.equal(next.code, 0, next.stderr);
      const token = await runCli(['token'], { env: home.env });
      assert.equal(token.code, 0, token.stderr);
    });
  }

  it('a second SIGINT while held ends the process at once, saying what may be lost', async () => {
    const home = makeHome(idp);
    assert.equal((await loginWithDevice(idp, home)).code, 0);
    const proxy = await startProxy();
    try {
      const victim = startCli(['refresh'], { env: { ...home.env, HTTP_PROXY: proxy.url } });
      proxy.decide = async (exchange) => {
        if (!isRefresh(exchange.requestBody)) return 'forward';
        victim.child.kill('SIGINT');
        await victim.waitForStderr(/SIGINT received/);
        victim.child.kill('SIGINT');
        await victim.done.catch(() => undefined);
        return 'drop';
      };
      const result = await victim.done;
      assert.equal(victim.child.signalCode, 'SIGINT');
      assert.match(result.stderr, /SIGINT again: stopping now\. The new refresh token may be lost/);
      assert.match(result.stderr, /run `keyfob login`/);
    } finally {
      await proxy.close();
    }
  });

  it('SIGTERM while the browser login exchanges its code: the session and profile are stored, then the process ends by SIGTERM', async () => {
    const browser = await launchBrowser();
    const proxy = await startProxy();
    try {
      const home = makeHome(idp);
      const run = startCli(['login', '--browser'], {
        env: { ...home.env, ...browser.env, HTTP_PROXY: proxy.url },
      });
      let signalled = false;
      proxy.decide = (exchange) => {
        if (exchange.requestBody.includes('grant_type=authorization_code') && !signalled) {
          signalled = true;
          run.child.kill('SIGTERM');
        }
        return 'forward';
      };
      const page = await browser.open(await browser.nextUrl());
      const user = idp.users[0];
      assert.ok(user);
      await signIn(page, user);
      const result = await run.done;
      await page.close();
      assert.ok(signalled, 'the code exchange went through the proxy');
      assert.equal(run.child.signalCode, 'SIGTERM', result.stderr);
      assert.match(result.stderr, /SIGTERM received; finishing the login of profile default/);
      assert.ok(refreshToken(home), 'the login was stored');
      const token = await runCli(['token', '--min-ttl', '999999'], { env: home.env });
      assert.equal(token.code, 0, token.stderr);
    } finally {
      await proxy.close();
      await browser.close();
    }
  });
});
