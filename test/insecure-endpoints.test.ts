/**
 * Plain http only on loopback, for every endpoint (DESIGN.md, Security rules). A hostile
 * discovery document on 127.0.0.1 names `http://0.0.0.0:PORT/...` for one endpoint at a time;
 * 0.0.0.0 is not loopback, yet Linux connects it to this machine, so a listener on that port
 * sees any request keyfob wrongly sends. Every command that would use the endpoint fails naming
 * it, the listener gets no connection at all, the hostile server gets nothing but discovery
 * requests, and nothing on disk changes.
 *
 * The hostile server takes over dev-idp's own port after the logins: the stored sessions name
 * that issuer, so refresh, whoami and logout go where a real attack would send them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, InsecureUrl } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import {
  type CliResult,
  filesUnder,
  loginWithDevice,
  makeHome,
  runCli,
  type TestHome,
} from './support/cli.js';
import { makeTestCa } from './support/tls.js';

const ROBOT_PROFILE = 'profiles:\n  ci:\n    provider: robot\n';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
  bytes: number;
}

let idp: DevIdp;
let home: TestHome;
let document: Record<string, unknown>;
let issuer: string;
let jwt: string;
let hostile: Server;
/** Requests that reached the hostile server on the issuer's port. */
const seen: Seen[] = [];
/** The endpoint the hostile document points at the listener, and its path there. */
let attack: { field: string; path: string } = { field: 'none', path: '/' };
let listener: NetServer;
let listenerPort: number;
let connections = 0;

before(async () => {
  idp = await startDevIdp();
  issuer = idp.issuer;
  home = makeHome(idp, ROBOT_PROFILE);
  assert.equal((await loginWithDevice(idp, home)).code, 0, 'device login');
  const token = await runCli(['token'], { env: home.env });
  assert.equal(token.code, 0, token.stderr);
  jwt = token.stdout.trim();
  document = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    unknown
  >;
  const port = Number(new URL(issuer).port);
  await idp.close();

  listener = createNetServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as AddressInfo).port;

  hostile = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      seen.push({ method: req.method ?? '', path, authorization: req.headers.authorization, bytes });
      if (path === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ ...document, [attack.field]: `http://0.0.0.0:${listenerPort}${attack.path}` }),
        );
        return;
      }
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"server_error"}');
    });
  });
  await new Promise<void>((resolve) => hostile.listen(port, '127.0.0.1', resolve));
});

after(async () => {
  hostile?.closeAllConnections();
  await new Promise((resolve) => hostile?.close(resolve));
  await new Promise((resolve) => listener?.close(resolve));
});

/** Runs `keyfob ARGS` with `field` pointed at the listener, and checks what must hold whatever the command. */
async function attacked(field: string, args: string[], input?: string): Promise<CliResult> {
  attack = { field, path: `/${field}` };
  seen.length = 0;
  connections = 0;
  const result = await runCli(args, { env: home.env, ...(input !== undefined ? { input } : {}) });
  assert.equal(connections, 0, `nothing connected to the listener named by ${field}`);
  for (const request of seen) {
    assert.match(request.path, /^\/\.well-known\//, `only discovery reached the issuer, not ${request.path}`);
    assert.equal(request.method, 'GET');
    assert.equal(request.authorization, undefined, 'no credential sent');
    assert.equal(request.bytes, 0, 'no body sent');
  }
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack');
  return result;
}

/** The endpoint named in the error, with the address and what is wrong. */
function namesEndpoint(stderr: string, field: string): void {
  assert.match(stderr, new RegExp(`\\b${field}\\b`), stderr);
  assert.match(stderr, new RegExp(`0\\.0\\.0\\.0:${listenerPort}/${field}`), stderr);
  assert.match(stderr, /plain http/, stderr);
}

describe('an endpoint on plain http off loopback', () => {
  it('token_endpoint: a client_credentials login and a refresh fail before the secret is sent', async () => {
    const files = filesUnder(home.home);
    const login = await attacked('token_endpoint', ['token', '--profile', 'ci']);
    assert.equal(login.code, 1, login.stderr);
    namesEndpoint(login.stderr, 'token_endpoint');
    assert.match(login.stderr, /nothing was sent/);
    const refresh = await attacked('token_endpoint', ['refresh']);
    assert.equal(refresh.code, 1, refresh.stderr);
    namesEndpoint(refresh.stderr, 'token_endpoint');
    assert.deepEqual(filesUnder(home.home), files, 'nothing on disk changed');
  });

  it('device_authorization_endpoint: a device login fails before anything is sent', async () => {
    const files = filesUnder(home.home);
    const login = await attacked('device_authorization_endpoint', [
      'login',
      '--device',
      '--profile',
      'other',
    ]);
    assert.equal(login.code, 1, login.stderr);
    namesEndpoint(login.stderr, 'device_authorization_endpoint');
    assert.deepEqual(filesUnder(home.home), files, 'nothing on disk changed');
  });

  it('userinfo_endpoint: whoami fails before the access token is sent', async () => {
    const files = filesUnder(home.home);
    const whoami = await attacked('userinfo_endpoint', ['whoami']);
    assert.equal(whoami.code, 1, whoami.stderr);
    namesEndpoint(whoami.stderr, 'userinfo_endpoint');
    assert.deepEqual(filesUnder(home.home), files, 'nothing on disk changed');
  });

  it('jwks_uri and introspection_endpoint: check cannot decide and sends nothing there', async () => {
    const files = filesUnder(home.home);
    const keys = await attacked('jwks_uri', ['check', '-', '--provider', 'dev'], jwt);
    assert.equal(keys.code, 3, keys.stderr);
    namesEndpoint(keys.stderr, 'jwks_uri');
    const opaque = await attacked(
      'introspection_endpoint',
      ['check', '-', '--provider', 'robot'],
      'an-opaque-token-value',
    );
    assert.equal(opaque.code, 3, opaque.stderr);
    namesEndpoint(opaque.stderr, 'introspection_endpoint');
    assert.deepEqual(filesUnder(home.home), files, 'nothing on disk changed');
  });

  // Last: logout removes the local session even when revocation fails (DESIGN.md, Logout).
  it('revocation_endpoint: logout does not send the refresh token and says it was not revoked', async () => {
    const logout = await attacked('revocation_endpoint', ['logout']);
    assert.equal(logout.code, 0, logout.stderr);
    assert.match(logout.stderr, /Could not revoke the refresh token/);
    namesEndpoint(logout.stderr, 'revocation_endpoint');
  });
});

describe("the instance's fetch", () => {
  it('refuses a plain-http URL off loopback, and a redirect to one, before connecting', async () => {
    const redirector = createServer((_req, res) => {
      res.writeHead(302, { location: `http://0.0.0.0:${listenerPort}/jwks` });
      res.end();
    });
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    const from = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/start`;
    try {
      const kf = createKeyfob({ home: home.home, environment: {} });
      connections = 0;
      await assert.rejects(kf.http(`http://0.0.0.0:${listenerPort}/direct`), (error: unknown) => {
        assert.ok(error instanceof InsecureUrl, String(error));
        assert.equal(error.code, 'INSECURE_URL');
        assert.match(error.message, new RegExp(`http://0\\.0\\.0\\.0:${listenerPort}/direct`));
        assert.match(error.message, /nothing was sent/);
        return true;
      });
      await assert.rejects(kf.http(from), (error: unknown) => {
        assert.ok(error instanceof InsecureUrl, String(error));
        assert.match(error.message, /a redirect from http:\/\/127\.0\.0\.1:\d+\/start/);
        return true;
      });
      // kf.fetch holds its request URL to the same rule, with the same error class.
      const withToken = createKeyfob({
        home: home.home,
        environment: {},
        token: 'a-token',
        config: { providers: {} },
      });
      await assert.rejects(withToken.fetch(`http://0.0.0.0:${listenerPort}/api`), InsecureUrl);
      assert.equal(connections, 0, 'the listener saw no connection');
      // Loopback stays allowed, redirects and all.
      const ok = await kf.http(`${from}?x`, { redirect: 'manual' });
      assert.equal(ok.status, 302);
    } finally {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
    }
  });
});

describe('an https issuer whose token endpoint is plain http on loopback', () => {
  it('is allowed: the endpoint passes the rule, so openid-client is told to allow plain http', async () => {
    const ca = makeTestCa();
    const tokens: string[] = [];
    const plain = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        tokens.push(req.url ?? '');
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(
          JSON.stringify({ access_token: 'issued-over-loopback', token_type: 'Bearer', expires_in: 600 }),
        );
      });
    });
    const secure = createHttpsServer({ key: ca.key, cert: ca.cert }, (_req, res) => {
      const origin = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: origin,
          token_endpoint: `http://127.0.0.1:${(plain.address() as AddressInfo).port}/token`,
          jwks_uri: `${origin}/jwks`,
        }),
      );
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    try {
      const issuerUrl = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
      const kf = createKeyfob({
        home: mkdtempSync(join(tmpdir(), 'keyfob-home-')),
        environment: { KEYFOB_CA_BUNDLE: ca.caFile, ROBOT_SECRET: 'robot-secret' },
        config: {
          providers: {
            robot: {
              type: 'client_credentials',
              issuer: issuerUrl,
              client_id: 'robot',
              client_secret: '${ROBOT_SECRET}',
            },
          },
          profiles: { ci: { provider: 'robot' } },
        },
      });
      const token = await kf.getToken({ profile: 'ci' });
      assert.equal(token.access_token, 'issued-over-loopback');
      assert.deepEqual(tokens, ['/token']);
    } finally {
      plain.closeAllConnections();
      secure.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
      await new Promise((resolve) => secure.close(resolve));
      ca.remove();
    }
  });
});
