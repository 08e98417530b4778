import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginFailed, LoginTimeout } from '../src/errors.js';
import { browserCommand, chooseLoginFlow, isRemoteSession } from '../src/flows/browser.js';
import { startLoopbackServer } from '../src/flows/loopback.js';

describe('choosing the login flow (DESIGN.md, login)', () => {
  const base = {
    browserFlag: false,
    noBrowserFlag: false,
    deviceFlag: false,
    env: { DISPLAY: ':0' } as Record<string, string | undefined>,
    platform: 'linux' as NodeJS.Platform,
    deviceAvailable: true,
    browserAvailable: true,
  };
  it('an explicit flag is obeyed, even on a remote session', () => {
    const remote = { ...base, env: { SSH_CONNECTION: 'x' } };
    assert.deepEqual(chooseLoginFlow({ ...remote, browserFlag: true }), {
      flow: 'browser',
      openBrowser: true,
      reason: null,
    });
    assert.deepEqual(chooseLoginFlow({ ...remote, noBrowserFlag: true }), {
      flow: 'browser',
      openBrowser: false,
      reason: null,
    });
    assert.equal(chooseLoginFlow({ ...base, deviceFlag: true }).flow, 'device');
  });
  it('a set $BROWSER is obeyed on a remote session', () => {
    assert.equal(chooseLoginFlow({ ...base, env: { SSH_CONNECTION: 'x', BROWSER: 'w3m' } }).flow, 'browser');
  });
  it('a remote session uses the device flow where the provider has it, and says why', () => {
    const ssh = chooseLoginFlow({ ...base, env: { SSH_CONNECTION: 'x', DISPLAY: ':0' } });
    assert.equal(ssh.flow, 'device');
    assert.match(ssh.reason ?? '', /SSH session/);
    const headless = chooseLoginFlow({ ...base, env: {} });
    assert.match(headless.reason ?? '', /no display/);
    assert.equal(chooseLoginFlow({ ...base, env: {}, deviceAvailable: false }).flow, 'browser');
  });
  it('a desktop opens the browser', () => {
    assert.deepEqual(chooseLoginFlow(base), { flow: 'browser', openBrowser: true, reason: null });
    assert.equal(isRemoteSession({}, 'darwin'), false);
    assert.equal(isRemoteSession({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux'), false);
  });
  it('$BROWSER gets the URL as its last argument; else the platform opener', () => {
    assert.deepEqual(browserCommand({ BROWSER: 'firefox --new-tab:chromium' }, 'linux'), {
      command: 'firefox',
      args: ['--new-tab'],
    });
    assert.equal(browserCommand({}, 'linux').command, 'xdg-open');
    assert.equal(browserCommand({}, 'darwin').command, 'open');
  });
});

describe('the loopback server', () => {
  it('binds 127.0.0.1, accepts one callback on its path, then stops listening', async () => {
    const server = await startLoopbackServer({ timeoutMs: 10_000 });
    const redirect = new URL(server.redirectUri);
    assert.equal(redirect.hostname, '127.0.0.1');
    assert.equal(
      (await fetch(new URL('/favicon.ico', redirect))).status,
      404,
      'other paths are not the callback',
    );
    const pending = fetch(`${server.redirectUri}?code=c&state=s`);
    const callback = await server.callback;
    assert.equal(callback.url.searchParams.get('code'), 'c');
    callback.respond({ ok: true });
    const page = await pending;
    assert.equal(page.status, 200);
    assert.match(await page.text(), /You can close this window/);
    await assert.rejects(fetch(`${server.redirectUri}?code=again`), 'a second callback finds nothing');
  });

  it('times out with a clear error and closes', async () => {
    const server = await startLoopbackServer({ timeoutMs: 200 });
    await assert.rejects(
      server.callback,
      (e: unknown) => e instanceof LoginTimeout && /--device/.test(e.message),
    );
    await assert.rejects(fetch(server.redirectUri));
  });

  it('a failure page escapes the message it shows', async () => {
    const server = await startLoopbackServer({ timeoutMs: 10_000 });
    const pending = fetch(server.redirectUri);
    (await server.callback).respond({ ok: false, message: '<script>x</script>' });
    const body = await (await pending).text();
    assert.doesNotMatch(body, /<script>/);
    server.close();
  });

  it('cancellation rejects the wait', async () => {
    const controller = new AbortController();
    const server = await startLoopbackServer({ timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await assert.rejects(server.callback, LoginFailed);
  });
});
