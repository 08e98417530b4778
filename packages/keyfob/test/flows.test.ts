import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { LoginFailed, LoginTimeout } from '../src/errors.js';
import { browserCommand, chooseLoginFlow, isRemoteSession } from '../src/flows/browser.js';
import { type LoopbackServer, startLoopbackServer } from '../src/flows/loopback.js';

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

/** Opens the start link as a browser would (no redirect followed); returns its cookie. */
async function openStartLink(server: LoopbackServer): Promise<{ response: Response; cookie: string }> {
  const response = await fetch(server.startUrl, { redirect: 'manual' });
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { response, cookie };
}

const STATE = 'the-flow-state';

describe('the loopback server', () => {
  it('binds 127.0.0.1, accepts one callback with cookie and state, then stops listening', async () => {
    const server = await startLoopbackServer({ timeoutMs: 10_000, state: STATE });
    server.arm('http://127.0.0.1:9/auth?x=1');
    const redirect = new URL(server.redirectUri);
    assert.equal(redirect.hostname, '127.0.0.1');
    assert.equal(new URL(server.startUrl).host, redirect.host, 'the start link is on the same literal host');
    assert.equal(
      (await fetch(new URL('/favicon.ico', redirect))).status,
      404,
      'other paths are not the callback',
    );
    const { response, cookie } = await openStartLink(server);
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), 'http://127.0.0.1:9/auth?x=1');
    const setCookie = response.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^keyfob_login_[0-9a-f]{16}=[\w-]{43}; HttpOnly; SameSite=Lax; Path=\/callback$/);
    const pending = fetch(`${server.redirectUri}?code=c&state=${STATE}`, { headers: { cookie } });
    const callback = await server.callback;
    assert.equal(callback.url.searchParams.get('code'), 'c');
    callback.respond({ ok: true });
    const page = await pending;
    assert.equal(page.status, 200);
    assert.match(await page.text(), /You can close this window/);
    await assert.rejects(fetch(`${server.redirectUri}?code=again`), 'a second callback finds nothing');
  });

  it('refuses a callback without the cookie or with a wrong state, reports it, and goes on waiting', async () => {
    const refused: string[] = [];
    const server = await startLoopbackServer({
      timeoutMs: 10_000,
      state: STATE,
      onRefused: (why) => refused.push(why),
    });
    server.arm('http://127.0.0.1:9/auth');
    let settled = false;
    void server.callback.then(() => {
      settled = true;
    });
    const forged = await fetch(`${server.redirectUri}?code=evil&state=${STATE}`);
    assert.equal(forged.status, 403);
    const { cookie } = await openStartLink(server);
    const wrongState = await fetch(`${server.redirectUri}?code=evil&state=${STATE}x`, {
      headers: { cookie },
    });
    assert.equal(wrongState.status, 403);
    const noState = await fetch(`${server.redirectUri}?code=evil`, { headers: { cookie } });
    assert.equal(noState.status, 403);
    const wrongCookie = await fetch(`${server.redirectUri}?code=evil&state=${STATE}`, {
      headers: { cookie: `${cookie.split('=')[0]}=guess` },
    });
    assert.equal(wrongCookie.status, 403);
    assert.equal(refused.length, 4);
    assert.match(refused[0] ?? '', /no login cookie/);
    assert.match(refused[1] ?? '', /state does not match/);
    assert.ok(
      refused.every((why) => !why.includes(STATE)),
      'no secret in the report',
    );
    assert.equal(settled, false, 'the login is still waiting');
    const pending = fetch(`${server.redirectUri}?code=real&state=${STATE}`, { headers: { cookie } });
    const callback = await server.callback;
    assert.equal(callback.url.searchParams.get('code'), 'real');
    callback.respond({ ok: true });
    assert.equal((await pending).status, 200);
  });

  it('a start link opened twice aborts the login: someone may be racing it', async () => {
    const server = await startLoopbackServer({ timeoutMs: 10_000, state: STATE });
    server.arm('http://127.0.0.1:9/auth');
    assert.equal((await openStartLink(server)).response.status, 302);
    const second = await openStartLink(server);
    assert.equal(second.response.status, 409);
    assert.equal(second.cookie, '', 'the second opener gets no cookie');
    await assert.rejects(
      server.callback,
      (e: unknown) => e instanceof LoginFailed && /opened twice; someone else may be racing/.test(e.message),
    );
  });

  it('binds a fixed port when asked, and names it when it is busy', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const busy = (holder.address() as AddressInfo).port;
    try {
      await assert.rejects(
        startLoopbackServer({ timeoutMs: 10_000, state: STATE, port: busy }),
        (e: unknown) =>
          e instanceof LoginFailed && e.message.includes(`port ${busy}`) && /already in use/.test(e.message),
      );
    } finally {
      holder.close();
    }
    const server = await startLoopbackServer({ timeoutMs: 10_000, state: STATE, port: busy });
    assert.equal(server.redirectUri, `http://127.0.0.1:${busy}/callback`);
    server.close();
  });

  it('times out with a clear error and closes', async () => {
    const server = await startLoopbackServer({ timeoutMs: 200, state: STATE });
    await assert.rejects(
      server.callback,
      (e: unknown) => e instanceof LoginTimeout && /--device/.test(e.message),
    );
    await assert.rejects(fetch(server.redirectUri));
  });

  it('a failure page escapes the message it shows', async () => {
    const server = await startLoopbackServer({ timeoutMs: 10_000, state: STATE });
    server.arm('http://127.0.0.1:9/auth');
    const { cookie } = await openStartLink(server);
    const pending = fetch(`${server.redirectUri}?state=${STATE}`, { headers: { cookie } });
    (await server.callback).respond({ ok: false, message: '<script>x</script>' });
    const body = await (await pending).text();
    assert.doesNotMatch(body, /<script>/);
    server.close();
  });

  it('cancellation rejects the wait', async () => {
    const controller = new AbortController();
    const server = await startLoopbackServer({ timeoutMs: 10_000, state: STATE, signal: controller.signal });
    controller.abort();
    await assert.rejects(server.callback, LoginFailed);
  });
});
