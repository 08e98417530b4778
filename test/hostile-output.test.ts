/**
 * Nothing a server sends reaches the terminal raw (DESIGN.md, Security rules): a hostile OpenID
 * provider of the test's own on 127.0.0.1 puts escape sequences (OSC 8 links, screen clears, a
 * title change, C1 CSI, a bidi override) in the device user code, the ID token's `sub`, the
 * granted scopes, userinfo and an error description; and sends device verification URIs keyfob
 * must refuse to show.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { cliEnv, filesUnder, KEYFOB_BIN, runCli } from './support/cli.js';
import { newSigningKey, type SigningKey } from './support/issuer.js';
import { runInTerminal } from './support/screen.js';

const ESC = '\u001b';
const BEL = '\u0007';
/** A link that shows one thing and opens another, a screen clear, a title, C1 CSI, a bidi override. */
const HOSTILE = `${ESC}]8;;http://0.0.0.0/${BEL}click${ESC}]8;;${BEL}${ESC}[2J${ESC}]0;pwned${BEL}\u009b31m\u202eevil`;
const SUB = `user-${HOSTILE}`;
/** Any control character but the newline keyfob ends its lines with (and tab). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

interface Hostile {
  issuer: string;
  /** What the device authorization endpoint answers. */
  device: { verification_uri: string; verification_uri_complete?: string };
  /** `grant` sends tokens on the first poll; `deny` an OAuth error with a hostile description. */
  token: 'grant' | 'deny';
  tokenRequests: number;
  close(): Promise<void>;
}

let key: SigningKey;
let provider: Hostile;

async function startHostileProvider(): Promise<Hostile> {
  const state = {
    issuer: '',
    device: { verification_uri: '' } as Hostile['device'],
    token: 'grant' as Hostile['token'],
    tokenRequests: 0,
  };
  const server: Server = createServer(async (req, res) => {
    for await (const _ of req); // drain the form body
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const now = Math.floor(Date.now() / 1000);
    const { issuer } = state;
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        device_authorization_endpoint: `${issuer}/device`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        grant_types_supported: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
      });
    }
    if (path === '/jwks') return send(200, { keys: [key.publicJwk] });
    if (path === '/device') {
      return send(200, {
        device_code: 'device-code',
        user_code: `CODE-${HOSTILE}`,
        expires_in: 600,
        interval: 1,
        ...state.device,
      });
    }
    if (path === '/token') {
      state.tokenRequests++;
      if (state.token === 'deny') {
        return send(400, { error: 'access_denied', error_description: `denied ${HOSTILE} by policy` });
      }
      const sign = (claims: Record<string, unknown>, typ: string) =>
        new SignJWT({ iss: issuer, sub: SUB, iat: now, exp: now + 600, ...claims })
          .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ })
          .sign(key.privateKey);
      return send(200, {
        access_token: await sign({ aud: `${issuer}/api`, scope: `openid ${HOSTILE}` }, 'at+jwt'),
        token_type: 'Bearer',
        expires_in: 600,
        refresh_token: 'refresh-token',
        scope: `openid offline_access ${HOSTILE}`,
        id_token: await sign({ aud: 'cli' }, 'JWT'),
      });
    }
    if (path === '/userinfo') return send(200, { sub: SUB, name: `Mallory ${HOSTILE}` });
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.device = { verification_uri: `${state.issuer}/activate` };
  return Object.assign(state, {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

function hostileHome(): { home: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-home-'));
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'default_provider: hostile',
      'providers:',
      '  hostile:',
      '    type: oidc',
      `    issuer: ${provider.issuer}`,
      '    client_id: cli',
      '    scopes: [openid, offline_access]',
      '',
    ].join('\n'),
  );
  return { home, env: cliEnv(home) };
}

function assertNoRawControl(text: string, what: string): void {
  assert.doesNotMatch(text, RAW_CONTROL, `${what} holds a raw control character: ${JSON.stringify(text)}`);
}

before(async () => {
  key = await newSigningKey('RS256', 'hostile-1');
  provider = await startHostileProvider();
});
after(async () => {
  await provider?.close();
});

describe('values from a hostile provider are printed with their control characters replaced', () => {
  it('device code, login line, status, whoami (table and JSON), tokens: no ESC, BEL or C1 reaches the terminal', async () => {
    provider.token = 'grant';
    provider.device = { verification_uri: `${provider.issuer}/activate` };
    const target = hostileHome();

    const login = await runCli(['login', '--device'], { env: target.env });
    assert.equal(login.code, 0, login.stderr);
    assertNoRawControl(login.stderr + login.stdout, 'login');
    assert.match(
      login.stderr,
      /confirm the code: CODE-\?\]8;;http:\/\/0\.0\.0\.0\/\?click/,
      'the code is shown, defanged',
    );
    assert.match(login.stderr, /Logged in to hostile as user-\?\]8;;/);

    const status = await runCli(['status'], { env: target.env });
    assert.equal(status.code, 0, status.stderr);
    assertNoRawControl(status.stdout + status.stderr, 'status');
    assert.match(status.stdout, /user-\?\]8;;http:\/\/0\.0\.0\.0\/\?click/);
    assert.match(status.stdout, /\?\[2J/, 'the hostile scope is shown, defanged');

    for (const args of [
      ['status', '--json'],
      ['whoami', '--json'],
      ['token', '--json'],
    ]) {
      const json = await runCli(args, { env: target.env });
      assert.equal(json.code, 0, `${args.join(' ')}: ${json.stderr}`);
      assertNoRawControl(json.stdout + json.stderr, args.join(' '));
      JSON.parse(json.stdout); // still valid JSON, with the values escaped
    }
    const whoami = JSON.parse((await runCli(['whoami', '--json'], { env: target.env })).stdout);
    assert.equal(whoami.sub, SUB, 'JSON keeps the value itself, escaped');

    // whoami's key/value table is for a terminal: run it in one (colour off, so any ESC is the server's).
    const table = await runInTerminal([process.execPath, KEYFOB_BIN, 'whoami'], {
      env: { ...target.env, NO_COLOR: '1' },
    });
    assert.equal(table.code, 0, table.output);
    assertNoRawControl(table.output.replaceAll('\r\n', '\n'), 'whoami at a terminal');
    assert.match(table.output, /name\s+Mallory \?\]8;;/);
  });

  it("an OAuth error's description keeps its words, not its escape sequences", async () => {
    provider.token = 'deny';
    provider.device = { verification_uri: `${provider.issuer}/activate` };
    const target = hostileHome();
    const login = await runCli(['login', '--device'], { env: target.env });
    provider.token = 'grant';
    assert.equal(login.code, 1, login.stderr);
    assertNoRawControl(login.stderr + login.stdout, 'the error');
    assert.match(login.stderr, /access_denied/);
    assert.match(login.stderr, /\(denied .*]8;;http:\/\/0\.0\.0\.0\/.click.* by policy\)/);
  });
});

describe('a device verification URI keyfob will not show', () => {
  const cases: Array<[string, (issuer: string) => Hostile['device'], RegExp]> = [
    [
      'plain http to a host that is not loopback',
      () => ({ verification_uri: 'http://0.0.0.0:8080/activate' }),
      /^keyfob: provider hostile sent a device verification_uri that is plain http on a host that is not loopback \(only https links are shown\); the login stopped before showing it; check the provider's issuer in config\.yaml\n$/,
    ],
    [
      'a complete URI with an escape sequence in it',
      (issuer) => ({
        verification_uri: `${issuer}/activate`,
        verification_uri_complete: `${issuer}/a${ESC}[2Jb`,
      }),
      /^keyfob: provider hostile sent a device verification_uri_complete that must not contain spaces or control characters; the login stopped before showing it/,
    ],
    [
      'a javascript: link',
      () => ({ verification_uri: 'javascript:alert(1)' }),
      /sent a device verification_uri that must be an https URL, not javascript:/,
    ],
  ];
  for (const [name, device, expected] of cases) {
    it(`${name}: refused with a clear error before the code is shown; nothing polled or stored`, async () => {
      provider.device = device(provider.issuer);
      const target = hostileHome();
      const before = filesUnder(target.home);
      const polled = provider.tokenRequests;
      const login = await runCli(['login', '--device'], { env: target.env });
      provider.device = { verification_uri: `${provider.issuer}/activate` };
      assert.equal(login.code, 1, login.stderr);
      assert.match(login.stderr, expected);
      assert.doesNotMatch(login.stderr, /CODE-|confirm the code/, 'the user code was not shown');
      assertNoRawControl(login.stderr + login.stdout, 'the refusal');
      assert.equal(provider.tokenRequests, polled, 'no token request was made');
      const after = filesUnder(target.home);
      assert.deepEqual(
        Object.keys(after).filter((f) => /sessions|state\.json/.test(f)),
        Object.keys(before).filter((f) => /sessions|state\.json/.test(f)),
        'no session or state was written',
      );
    });
  }
});
