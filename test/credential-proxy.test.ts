/**
 * `kf.proxy()`, the local credential proxy (DESIGN.md, Agent tools), against dev-idp's API: the
 * key (both header styles, constant time), the upstream only (never the issuer's endpoints or
 * the control plane, even on the same origin), raw-socket refusals (absolute-form, CONNECT),
 * `Set-Cookie` dropped, echoed credentials redacted across chunk boundaries, `--scope`
 * narrowing, and `auth_required` when the refresh is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, request } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type CredentialProxy,
  createKeyfob,
  InvalidConfig,
  type Keyfob,
  type LoginInteraction,
} from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';

let idp: DevIdp;
let kf: Keyfob;
let proxy: CredentialProxy;
let dir: string;
const cleanup: Array<() => Promise<void> | void> = [];

const nobody: LoginInteraction = {
  showAuthorizationUrl: () => assert.fail('no browser'),
  showDeviceCode: () => assert.fail('no device code'),
  openBrowser: async () => assert.fail('no browser'),
  waiting: () => () => {},
  notice() {},
};
const ALICE = { email: 'alice@example.com', password: 'alice-password-1' };
const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'registry:read', 'registry:write'];

function provider(extra: Record<string, unknown> = {}) {
  return {
    type: 'password',
    issuer: idp.issuer,
    client_id: idp.clients.cli.client_id,
    scopes: SCOPES,
    api_base: idp.api,
    resource: idp.api,
    ...extra,
  };
}

/** An instance over the shared home (one login serves every test), with `pw` as configured. */
function instance(extra: Record<string, unknown> = {}, more: Record<string, unknown> = {}): Keyfob {
  const made = createKeyfob({
    home: dir,
    environment: {},
    store: 'file',
    config: { default_provider: 'pw', providers: { pw: provider(extra), ...more } },
  });
  cleanup.push(() => made.close());
  return made;
}

before(async () => {
  idp = await startDevIdp();
  dir = mkdtempSync(join(tmpdir(), 'keyfob-credential-proxy-'));
  kf = instance();
  await kf.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
  proxy = await kf.proxy();
  cleanup.push(() => proxy.close());
});
after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await idp?.close();
  rmSync(dir, { recursive: true, force: true });
});

function through(p: CredentialProxy, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('proxy-authorization') && !headers.has('x-keyfob-proxy-key')) {
    headers.set('proxy-authorization', `Bearer ${p.key}`);
  }
  return fetch(`${p.url}${path}`, { ...init, headers });
}

/** The status of a request sent as written (node:http does not normalize `..` as fetch does). */
function statusOf(p: CredentialProxy, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${p.url}/`,
      { path, headers: { 'proxy-authorization': `Bearer ${p.key}`, ...headers } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Writes `request` on a raw socket to the proxy and returns the status line. */
function raw(p: CredentialProxy, request: string): Promise<string> {
  const { port } = new URL(p.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.write(request));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
    });
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
  });
}

describe('keyfob proxy: the key', () => {
  it('refuses a request without the key or with a wrong one (401, or 407 for Proxy-Authorization)', async () => {
    const none = await fetch(`${proxy.url}/registry/echo`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^ProxyKey realm=/);
    assert.equal(((await none.json()) as ProxyAnswer).error, 'proxy_key_required');
    // fetch turns any 407 into "fetch failed": the Proxy-Authorization style is checked with node:http.
    const wrongBearer = `Bearer ${proxy.key.slice(0, -1)}${proxy.key.endsWith('x') ? 'y' : 'x'}`;
    assert.equal(await statusOf(proxy, '/registry/echo', { 'proxy-authorization': wrongBearer }), 407);
    const wrongHeader = await through(proxy, '/registry/echo', { headers: { 'x-keyfob-proxy-key': 'nope' } });
    assert.equal(wrongHeader.status, 401);
    assert.equal(((await wrongHeader.json()) as ProxyAnswer).error, 'proxy_key_required');
    // The key of another proxy is useless here.
    const other = await kf.proxy();
    const foreign = await through(proxy, '/registry/echo', { headers: { 'x-keyfob-proxy-key': other.key } });
    await other.close();
    assert.equal(foreign.status, 401);
  });

  it('forwards with the key in either style, with keyfob’s credential and none of the caller’s', async () => {
    const token = (await kf.getToken()).access_token;
    for (const header of ['proxy-authorization', 'x-keyfob-proxy-key'] as const) {
      const seen = await recorded(
        await through(proxy, '/registry/echo?x=1', {
          headers: {
            [header]: header === 'proxy-authorization' ? `Bearer ${proxy.key}` : proxy.key,
            authorization: 'Bearer tool-supplied-credential',
            cookie: 'session=tool-cookie-value',
            'x-custom': 'kept',
          },
        }),
      );
      assert.equal(seen.path, '/api/registry/echo', 'the path is appended under api_base');
      assert.equal(seen.headers['x-custom'], 'kept');
      assert.equal(seen.headers.authorization, '[REDACTED]', 'keyfob’s token was sent (and redacted back)');
      assert.equal(seen.headers.cookie, undefined, 'the caller’s cookie is dropped');
      assert.equal(seen.headers['proxy-authorization'], undefined);
      assert.equal(seen.headers['x-keyfob-proxy-key'], undefined);
      assert.equal(seen.headers['accept-encoding'], 'identity');
      assert.equal(seen.headers.host, new URL(idp.api).host, 'Host is the upstream’s');
      assert.ok(!JSON.stringify(seen).includes(proxy.key), 'the key never reaches upstream');
      assert.ok(!JSON.stringify(seen).includes(token));
    }
  });

  it('kf.proxy listens on 127.0.0.1 only and refuses another host', async () => {
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await assert.rejects(kf.proxy({ host: '0.0.0.0' as '127.0.0.1' }), /127\.0\.0\.1/);
  });
});

/** The proxy's own JSON answer. */
interface ProxyAnswer {
  error: string;
  message?: string;
  command?: string;
}

/** dev-idp's echo body. */
async function recorded(response: Response): Promise<{ path: string; headers: Record<string, string> }> {
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as { path: string; headers: Record<string, string> };
}

describe('keyfob proxy: where requests may go', () => {
  it('refuses the issuer’s endpoints and the control plane when api_base is the issuer itself', async () => {
    const sameOrigin = instance(
      { api_base: idp.issuer },
      { cp: { type: 'exchange', login: 'pw', control_plane: idp.controlPlane } },
    );
    const p = await sameOrigin.proxy();
    cleanup.push(() => p.close());
    const issuerPath = new URL(idp.issuer).pathname.replace(/\/$/, '');
    const cpPath = new URL(idp.controlPlane).pathname;
    for (const path of [
      '/token',
      '/TOKEN',
      '/%74oken',
      '/token/',
      '/token/introspection',
      '/jwks',
      '/me',
      '/.well-known/openid-configuration',
      `${cpPath.slice(issuerPath.length)}/v1/tenants`,
      `${cpPath.slice(issuerPath.length)}/oauth/token`,
    ]) {
      const response = await through(
        p,
        path,
        path.includes('token') ? { method: 'POST', body: 'grant_type=x' } : {},
      );
      const body = (await response.json()) as ProxyAnswer;
      assert.equal(response.status, 403, `${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error, 'forbidden_target');
    }
    // The API on the same origin is reachable.
    const ok = await through(p, '/api/registry/search?q=pad');
    assert.equal(ok.status, 200);
  });

  it('refuses traversal out of api_base, plain or percent-encoded', async () => {
    for (const path of [
      '/../token',
      '/registry/../../token',
      '/%2e%2e/token',
      '/registry/%2E%2E/%2e%2e/token',
      '/registry%2f..%2f..%2ftoken',
      '//127.0.0.1/token',
      '/registry//echo',
    ]) {
      assert.equal(await statusOf(proxy, path), 400, path);
    }
  });

  it('refuses an absolute-form target and CONNECT on a raw socket', async () => {
    const host = `127.0.0.1:${new URL(proxy.url).port}`;
    const absolute = await raw(
      proxy,
      `GET ${idp.issuer}/me HTTP/1.1\r\nHost: ${host}\r\nProxy-Authorization: Bearer ${proxy.key}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(absolute, / 400 /);
    const tunnel = await raw(
      proxy,
      `CONNECT ${new URL(idp.issuer).host} HTTP/1.1\r\nHost: ${new URL(idp.issuer).host}\r\nProxy-Authorization: Bearer ${proxy.key}\r\n\r\n`,
    );
    assert.match(tunnel, / 405 /);
    const upgrade = await raw(
      proxy,
      `GET /registry/echo HTTP/1.1\r\nHost: ${host}\r\nProxy-Authorization: Bearer ${proxy.key}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`,
    );
    assert.match(upgrade, / 501 /);
  });

  it('says which setting to add when the provider has no api_base', async () => {
    const bare = instance({ api_base: undefined });
    await assert.rejects(bare.proxy(), (error: unknown) => {
      assert.ok(error instanceof InvalidConfig);
      assert.match(error.message + String(error.hint), /providers\.pw\.api_base/);
      return true;
    });
  });
});

describe('keyfob proxy: what comes back', () => {
  it('drops Set-Cookie and redacts an echoed credential in a header and across body chunks', async () => {
    const stored = await kf.getToken();
    const response = await through(proxy, '/registry/echo?chunk=7');
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('set-cookie'), null);
    assert.equal(response.headers.get('x-echo-authorization'), '[REDACTED]');
    assert.equal(response.headers.get('content-length'), null);
    const text = await response.text();
    assert.ok(!text.includes(stored.access_token), 'the token never comes back');
    assert.ok(!text.includes(stored.access_token.slice(0, 40)), 'nor a piece of it');
    const body = JSON.parse(text) as { headers: Record<string, string> };
    assert.equal(body.headers.authorization, '[REDACTED]');
  });

  it('a PUT with a body goes through, streamed', async () => {
    const put = await through(proxy, '/registry/packages/proxied', { method: 'PUT', body: 'y'.repeat(5000) });
    assert.equal(put.status, 201, await put.clone().text());
    assert.deepEqual(await put.json(), { name: 'proxied', size: 5000 });
  });
});

describe('keyfob proxy: --scope', () => {
  it('holds a token with exactly the scope asked, leaving the session’s full token and refresh usable', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const api = createServer((req, res) => {
      seen.push(req.headers);
      res.end('{}');
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => api.close(() => resolve())));
    const apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}/v1`;
    const scoped = instance({ api_base: apiBase });
    const before = await scoped.getToken();
    const p = await scoped.proxy({ scope: 'registry:read' });
    cleanup.push(() => p.close());
    assert.equal((await through(p, '/x')).status, 200);
    const sent = /^Bearer (.+)$/.exec(String(seen.at(-1)?.authorization))?.[1] ?? '';
    const claims = JSON.parse(Buffer.from(sent.split('.')[1] ?? '', 'base64url').toString());
    assert.equal(claims.scope, 'registry:read', 'the upstream sees a token holding only the scope');

    // Through dev-idp: reading works, writing is refused for want of scope.
    const viaIdp = await instance().proxy({ scope: 'registry:read' });
    cleanup.push(() => viaIdp.close());
    assert.equal((await through(viaIdp, '/registry/packages')).status, 200);
    const write = await through(viaIdp, '/registry/packages/nope', { method: 'PUT', body: 'x' });
    assert.equal(write.status, 403);

    // The session still has its full token, and its (rotated) refresh token still works.
    const after = await scoped.getToken();
    assert.equal(after.access_token, before.access_token);
    assert.ok(after.scopes.includes('registry:write'), after.scopes.join(' '));
    const renewed = await scoped.getToken({ forceRefresh: true });
    assert.ok(renewed.scopes.includes('registry:write'));
  });
});

describe('keyfob proxy: refresh refused', () => {
  it("answers 401 {error: auth_required, command} with the vendor's command, and never a token", async () => {
    const revokedHome = mkdtempSync(join(tmpdir(), 'keyfob-credential-proxy-revoked-'));
    cleanup.push(() => rmSync(revokedHome, { recursive: true, force: true }));
    let shiftMs = 0;
    const other = createKeyfob({
      // A vendor that mounts `login` as `acme auth signin`: the agent is told that command.
      cliName: 'acme auth',
      commandNames: { login: 'signin' },
      home: revokedHome,
      environment: {},
      store: 'file',
      now: () => new Date(Date.now() + shiftMs),
      config: { default_provider: 'pw', providers: { pw: provider() } },
    });
    cleanup.push(() => other.close());
    await other.login({ provider: 'pw', ...ALICE, interaction: nobody, persist: true });
    const p = await other.proxy();
    cleanup.push(() => p.close());
    assert.equal((await through(p, '/registry/echo')).status, 200);
    // The session ends at the provider: its refresh is now refused.
    await other.importSession({
      profile: 'default',
      provider: 'pw',
      accessToken: 'expired-and-unusable-token',
      refreshToken: 'refresh-token-the-idp-never-issued',
      expiresIn: 60,
    });
    shiftMs = 3_600_000;
    const refused = await through(p, '/registry/echo');
    assert.equal(refused.status, 401);
    const body = (await refused.json()) as ProxyAnswer;
    assert.equal(body.error, 'auth_required');
    assert.match(body.command ?? '', /^acme auth signin\b/);
    assert.ok(!JSON.stringify(body).includes('refresh-token-the-idp-never-issued'));
  });
});

/** A server on 127.0.0.1 standing for an API: `route` answers each request it records. */
async function api(route: (headers: IncomingHttpHeaders, n: number) => number) {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.statusCode = route(req.headers, seen.length);
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { seen, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

describe('keyfob proxy: a 401 from upstream', () => {
  it('renews the token once and retries a GET; a PUT gets the 401, and the next request the new token', async () => {
    const refused = new Set<string>();
    const upstream = await api((headers, n) => {
      const auth = String(headers.authorization);
      if (n === 1 || n === 3) {
        refused.add(auth);
        return 401;
      }
      return refused.has(auth) ? 401 : 200;
    });
    const p = await instance({ api_base: upstream.base }).proxy();
    cleanup.push(() => p.close());
    assert.equal((await through(p, '/items')).status, 200, 'retried with a renewed token');
    assert.equal(upstream.seen.length, 2);
    assert.notEqual(upstream.seen[0]?.authorization, upstream.seen[1]?.authorization);
    const put = await through(p, '/items/1', { method: 'PUT', body: 'x' });
    assert.equal(put.status, 401, 'a request with a body is not replayed');
    assert.equal(upstream.seen.length, 3);
    assert.equal((await through(p, '/items')).status, 200, 'the next request has the renewed token');
    assert.notEqual(upstream.seen[3]?.authorization, upstream.seen[2]?.authorization);
  });
});
