/**
 * `keyfob fetch` against dev-idp's protected API: origins, 401 → refresh → retry, 403 with the
 * scope named, and no credential across origins on a redirect.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';

let idp: DevIdp;
let home: TestHome;
let foreign: { server: Server; origin: string; seen: IncomingHttpHeaders[]; status: number };

before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp);
  assert.equal((await loginWithDevice(idp, home)).code, 0);
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(foreign.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ authorization_present: req.headers.authorization !== undefined }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  foreign = {
    server,
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    status: 200,
  };
});

after(async () => {
  foreign?.server.close();
  await idp?.close();
});

describe('keyfob fetch', () => {
  it("sends the credential to the provider's API and prints the body", async () => {
    const result = await runCli(['fetch', `${idp.api}/hello`, '--json'], { env: home.env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).sub, idp.users[0]?.sub);
  });

  it('refuses another origin unless --allow-origin names it', async () => {
    const before = foreign.seen.length;
    const refused = await runCli(['fetch', `${foreign.origin}/x`], { env: home.env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /is not one of the origins/);
    assert.match(refused.stderr, /--allow-origin/);
    assert.equal(foreign.seen.length, before, 'no request was sent');
    const allowed = await runCli(['fetch', `${foreign.origin}/x`, '--allow-origin', foreign.origin], {
      env: home.env,
    });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.deepEqual(JSON.parse(allowed.stdout), { authorization_present: true });
  });

  it('a redirect to another origin carries no Authorization', async () => {
    const target = `${foreign.origin}/landing`;
    const result = await runCli(['fetch', `${idp.api}/redirect?to=${encodeURIComponent(target)}`], {
      env: home.env,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { authorization_present: false });
    assert.equal(foreign.seen.at(-1)?.authorization, undefined);
  });

  it('a redirect to plain http off loopback is refused before anything reaches it', async () => {
    let connections = 0;
    const listener = createNetServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      // 0.0.0.0 is not loopback, though Linux would connect it to the listener on this machine.
      const target = `http://0.0.0.0:${(listener.address() as AddressInfo).port}/landing`;
      const result = await runCli(['fetch', `${idp.api}/redirect?to=${encodeURIComponent(target)}`], {
        env: home.env,
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /plain http is allowed only on loopback/);
      assert.match(result.stderr, /0\.0\.0\.0:\d+\/landing/);
      assert.equal(result.stdout, '');
      assert.equal(connections, 0, 'nothing connected');
    } finally {
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('403 with insufficient_scope exits 1 and names the scope', async () => {
    const result = await runCli(['fetch', `${idp.api}/admin`], { env: home.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /insufficient_scope \(needs scope: api:admin\)/);
    // The same fix, in the same words, as `token --scopes api:admin` gives (scopes.test.ts).
    assert.match(
      result.stderr,
      /run `keyfob refresh --scopes api:admin` to add it \(a new login in the browser\)/,
    );
  });

  it('a 401 forces one refresh and the retry succeeds', async () => {
    const warm = await runCli(['fetch', `${idp.api}/hello`], { env: home.env });
    assert.equal(warm.code, 0, warm.stderr);
    await idp.rotateKeys({ keepOld: false });
    const refreshes = idp.stats.refreshRequests;
    const result = await runCli(['fetch', `${idp.api}/hello`], { env: home.env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(idp.stats.refreshRequests - refreshes, 1, 'exactly one refresh');
  });

  it('a final 401 is exit 2 naming the login command, after exactly one refresh', async () => {
    foreign.status = 401;
    try {
      const refreshes = idp.stats.refreshRequests;
      const before = foreign.seen.length;
      const result = await runCli(['fetch', `${foreign.origin}/deny`, '--allow-origin', foreign.origin], {
        env: home.env,
      });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /refused the credential \(HTTP 401\); run `keyfob login`/);
      assert.equal(foreign.seen.length - before, 2, 'one try and one retry');
      assert.equal(idp.stats.refreshRequests - refreshes, 1);
    } finally {
      foreign.status = 200;
    }
  });

  it('refuses hostile input before sending anything', async () => {
    const before = foreign.seen.length;
    for (const args of [
      ['fetch', 'http://example.com/x'],
      ['fetch', 'not a url'],
      [
        'fetch',
        `${foreign.origin}/x`,
        '--allow-origin',
        foreign.origin,
        '-H',
        'Authorization: Bearer stolen',
      ],
      ['fetch', `${idp.api}/hello`, '-H', 'no colon here'],
      ['fetch', `${idp.api}/hello`, '-X', 'GET POST'],
    ]) {
      const result = await runCli(args, { env: home.env });
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /stolen/);
    }
    assert.equal(foreign.seen.length, before);
  });
});
