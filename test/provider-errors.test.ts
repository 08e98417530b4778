/**
 * Errors keep the provider's words: hostile token endpoints of the test's own on 127.0.0.1
 * answer with a Basic challenge, empty 400/403 bodies, HTML, escape sequences, or not at all, and
 * the built `keyfob` command must say what failed (HTTP status, error, error_description
 * sanitized, the host that refused) on its first stderr line, with the right exit code.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { reportError } from '../packages/cli/src/run.js';
import { filesUnder, makeHome, runCli, type TestHome } from './support/cli.js';

const SECRET = 'hostile-test-secret-4242';

let idp: DevIdp;
let hostile: Server;
let base: string;
let closedPort: number;
/** Every request the hostile server saw: method, path, headers, body. */
const seen: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];

/** What each path answers. */
const ROUTES: Record<string, (body: URLSearchParams, res: ServerResponse) => void> = {
  '/basic401': (_b, res) => {
    res.writeHead(401, {
      'www-authenticate':
        'Basic realm="hostile", error="invalid_client", error_description="no such client here"',
      'content-type': 'application/json',
    });
    res.end('{"error":"invalid_client"}');
  },
  '/empty400': (_b, res) => res.writeHead(400).end(),
  '/empty403': (_b, res) => res.writeHead(403).end(),
  '/html200': (_b, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'),
  '/escape': (_b, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: 'invalid_request',
        error_description: `bad \u001b[31mred\u001b[0m\u0007 bell\r\nInjected: line ${'x'.repeat(400)}`,
      }),
    );
  },
  // A device flow that logs in, then refuses every refresh with an empty 400.
  '/device': (_b, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        device_code: 'dc-1',
        user_code: 'ABCD-EFGH',
        verification_uri: `${base}/verify`,
        expires_in: 60,
        interval: 1,
      }),
    );
  },
  '/token': (body, res) => {
    if (body.get('grant_type') === 'refresh_token') {
      res.writeHead(400).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ access_token: 'at-1', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-1' }),
    );
  },
};

before(async () => {
  idp = await startDevIdp();
  hostile = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      seen.push({ path, headers: req.headers, body });
      const route = ROUTES[path];
      if (route) route(new URLSearchParams(body), res);
      else res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
  // A port that was free a moment ago and has nobody listening now.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

after(async () => {
  await new Promise<void>((resolve) => hostile?.close(() => resolve()));
  await idp?.close();
});

/** A home whose profile `p` uses a machine provider with this token endpoint. */
function machineHome(tokenEndpoint: string): TestHome {
  const home = makeHome(
    idp,
    [
      '  hostile:',
      '    type: client_credentials',
      `    token_endpoint: ${tokenEndpoint}`,
      '    client_id: hostile-client',
      '    client_secret: ${HOSTILE_SECRET}',
      'profiles:',
      '  p:',
      '    provider: hostile',
    ].join('\n'),
  );
  home.env.HOSTILE_SECRET = SECRET;
  return home;
}

/** `keyfob token --profile p`: its exit code and stderr's first line. */
async function tokenFailure(home: TestHome) {
  // The config cache is written on first use; sessions and everything else must stay as they are.
  await runCli(['status'], { env: home.env });
  const before = filesUnder(home.home);
  const result = await runCli(['token', '--profile', 'p'], { env: home.env });
  const first = result.stderr.split('\n')[0] ?? '';
  assert.ok(!result.stderr.includes(SECRET), 'the secret is never printed');
  assert.equal(result.stdout, '');
  assert.deepEqual(filesUnder(home.home), before, 'nothing on disk changed');
  return { code: result.code, first, stderr: result.stderr };
}

describe('a token endpoint that refuses, in the provider words', () => {
  it('401 with a Basic challenge: status, error and error_description', async () => {
    const { code, first } = await tokenFailure(machineHome(`${base}/basic401`));
    assert.equal(code, 1);
    assert.equal(
      first.split(';')[0],
      'keyfob: authenticating client hostile-client failed: the provider answered HTTP 401 invalid_client (no such client here)',
    );
    assert.match(first, /check client_id and the client secret or key/);
  });

  it('400 and 403 with an empty body: the status, and that there was no body', async () => {
    for (const status of [400, 403]) {
      const { code, first } = await tokenFailure(machineHome(`${base}/empty${status}`));
      assert.equal(code, 1);
      assert.equal(
        first,
        `keyfob: authenticating client hostile-client failed: the provider answered HTTP ${status} with no body`,
      );
    }
  });

  it('200 with HTML: what came instead of JSON', async () => {
    const { code, first } = await tokenFailure(machineHome(`${base}/html200`));
    assert.equal(code, 1);
    assert.equal(
      first,
      'keyfob: authenticating client hostile-client failed: the provider answered HTTP 200 with a text/html body, not JSON',
    );
  });

  it('an error_description with escape sequences and newlines: replaced, bounded, on one line', async () => {
    const { code, first, stderr } = await tokenFailure(machineHome(`${base}/escape`));
    assert.equal(code, 1);
    assert.ok(
      !stderr.includes('\u001b') && !stderr.includes('\u0007'),
      'no escape or bell reaches the terminal',
    );
    assert.equal(stderr.trimEnd().split('\n').length, 1, 'one line: no newline from the server');
    assert.match(
      first,
      /^keyfob: authenticating client hostile-client failed: the provider answered HTTP 400 invalid_request \(bad {2}\[31mred \[0m {2}bell {2}Injected: line x+…\)$/,
    );
    assert.ok(!stderr.includes('\nInjected'), 'a newline from the server does not start a line of its own');
    assert.ok(first.length < 400, 'the description is cut short');
  });

  it('a closed port: could not connect to host:port (ECONNREFUSED)', async () => {
    const { code, first } = await tokenFailure(machineHome(`http://127.0.0.1:${closedPort}/token`));
    assert.equal(code, 1);
    assert.equal(
      first.split(';')[0],
      `keyfob: authenticating client hostile-client failed: could not connect to 127.0.0.1:${closedPort} (ECONNREFUSED)`,
    );
  });
});

describe('a refresh answered 400 with no body', () => {
  it('is authentication required (exit 2) naming login', async () => {
    const home = makeHome(
      idp,
      [
        '  hostile:',
        '    type: oauth2',
        `    token_endpoint: ${base}/token`,
        `    device_authorization_endpoint: ${base}/device`,
        '    flows: [device]',
        '    client_id: hostile-public',
        'profiles:',
        '  p:',
        '    provider: hostile',
      ].join('\n'),
    );
    const login = await runCli(['login', '--profile', 'p', '--device'], { env: home.env, timeoutMs: 30_000 });
    assert.equal(login.code, 0, login.stderr);
    const refreshed = await runCli(['refresh', '--profile', 'p'], { env: home.env });
    assert.equal(refreshed.code, 2, refreshed.stderr);
    const first = refreshed.stderr.split('\n')[0] ?? '';
    assert.equal(
      first,
      'keyfob: profile p can no longer be renewed (refreshing the token of provider hostile failed: the provider answered HTTP 400 with no body); run `keyfob login --profile p`',
    );
    assert.ok(seen.some((r) => r.path === '/token' && r.body.includes('grant_type=refresh_token')));
  });
});

describe('a socket failure that reaches the CLI unmapped', () => {
  it('is a network error naming host:port, not "unexpected error"', async () => {
    // A real fetch TypeError ("fetch failed", cause ECONNREFUSED), as an integrator's code may throw.
    const thrown = await fetch(`http://127.0.0.1:${closedPort}/`).then(
      () => assert.fail('the closed port answered'),
      (e: unknown) => e,
    );
    assert.ok(thrown instanceof TypeError);
    let stderr = '';
    const sink = {
      isTTY: false,
      write(text: string) {
        stderr += text;
        return true;
      },
    };
    const code = reportError(thrown, { name: 'keyfob', commandPrefix: 'keyfob', envPrefix: 'KEYFOB' }, {
      stdin: process.stdin,
      stdout: sink,
      stderr: sink,
      env: {},
    } as unknown as Parameters<typeof reportError>[2]);
    assert.equal(code, 1);
    assert.equal(
      stderr.split('\n')[0]?.split(';')[0],
      `keyfob: a request failed: could not connect to 127.0.0.1:${closedPort} (ECONNREFUSED)`,
    );
  });
});
