/**
 * A hostile control plane on 127.0.0.1 (DESIGN.md, Security rules: hostile server responses get a
 * clear error and change nothing on disk): huge answers, malformed JSON, missing fields, a
 * tenant `server_url` that is plain http off loopback (`http://0.0.0.0:PORT`), escape sequences
 * in tenant names, an exchange naming another tenant. The login is real (dev-idp's password
 * grant); every refusal exits 1 with the control plane's failure named, prints no token and
 * stores nothing, and the login's refresh token never reaches the control plane. Also the
 * answer rules a well-behaved control plane relies on: a missing `expires_in` read from the
 * token's `exp` on the control plane's clock (`Date`), a missing `tenant` filled from the list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder, makeHome, runCli, type TestHome } from './support/cli.js';

type Answer = { status?: number; body: string; headers?: Record<string, string> };

interface Hostile {
  url: string;
  tenants: () => Answer;
  exchange: (form: URLSearchParams) => Answer;
  /** Every request body and header the control plane received, as text. */
  received: string[];
  close(): Promise<void>;
}

let idp: DevIdp;
let hostile: Hostile;

before(async () => {
  idp = await startDevIdp();
  hostile = await startHostile();
});
after(async () => {
  await hostile?.close();
  await idp?.close();
});

async function startHostile(): Promise<Hostile> {
  const state: Hostile = {
    url: '',
    tenants: () => json(goodTenants()),
    exchange: (form) => json(goodExchange(form.get('audience') ?? '')),
    received: [],
    close: async () => {},
  };
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    state.received.push(`${JSON.stringify(req.headers)}\n${body}`);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/north-1/v1/redirect') {
      res.writeHead(302, { location: '/north-10/v1/steal' }).end();
      return;
    }
    if (path.startsWith('/north-1') || path.startsWith('/north-10')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path }));
      return;
    }
    const answer =
      path === '/cp/v1/tenants'
        ? state.tenants()
        : path === '/cp/v1/token'
          ? state.exchange(new URLSearchParams(body))
          : { status: 404, body: '{}' };
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cp`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

function json(value: unknown, headers?: Record<string, string>): Answer {
  return { body: JSON.stringify(value), ...(headers ? { headers } : {}) };
}

function goodTenants() {
  return {
    tenants: [
      {
        tenant_id: 'north',
        tenant_name: 'North',
        region: 'north-1',
        server_url: 'http://127.0.0.1:9/north-1',
      },
      {
        tenant_id: 'south',
        tenant_name: 'South',
        region: 'south-1',
        server_url: 'http://127.0.0.1:9/south-1',
      },
    ],
  };
}

/** A JWT-shaped token (unsigned: keyfob reads its `exp`, it does not verify it). */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature').toString('base64url')}`;
}

function goodExchange(tenant: string, extra: Record<string, unknown> = {}) {
  return {
    access_token: fakeJwt({ sub: 'user-alice', tenant_id: tenant, exp: Math.floor(Date.now() / 1000) + 600 }),
    issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    token_type: 'Bearer',
    expires_in: 600,
    ...extra,
  };
}

function hostileHome(): TestHome {
  return makeHome(
    idp,
    [
      '  pw:',
      '    type: password',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.cli.client_id}`,
      '    scopes: [openid, profile, email, offline_access]',
      '  cloud:',
      '    type: exchange',
      '    login: pw',
      `    control_plane: ${hostile.url}`,
    ].join('\n'),
  );
}

function login(home: TestHome, extra: string[] = []) {
  return runCli(['login', 'cloud', '--email', 'alice@example.com', '--password-stdin', ...extra], {
    env: home.env,
    input: 'alice-password-1\n',
  });
}

function stored(home: TestHome): Record<string, string> {
  const files = filesUnder(home.home);
  for (const path of Object.keys(files)) if (path.startsWith(join(home.home, 'cache'))) delete files[path];
  return files;
}

/** No raw control character (an escape sequence) reached the terminal. */
function assertPrintable(text: string) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point
  assert.doesNotMatch(text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f]/);
}

const cases: Array<{
  name: string;
  tenants?: () => Answer;
  exchange?: (form: URLSearchParams) => Answer;
  error: RegExp;
}> = [
  {
    name: 'a huge tenants answer',
    tenants: () => ({ body: `{"tenants":[],"pad":"${'x'.repeat(3 * 1024 * 1024)}"}` }),
    error: /larger than|too large|RESPONSE_TOO_LARGE|exceeds/i,
  },
  {
    name: 'malformed tenants JSON',
    tenants: () => ({ body: '{"tenants": [' }),
    error: /is not JSON with a "tenants" list/,
  },
  {
    name: 'a tenant without server_url',
    tenants: () => json({ tenants: [{ tenant_id: 'north', tenant_name: 'North' }] }),
    error: /tenant north has no server_url/,
  },
  {
    name: 'a server_url that is plain http off loopback',
    tenants: () =>
      json({
        tenants: [{ tenant_id: 'north', tenant_name: 'North', server_url: 'http://0.0.0.0:4444/north-1' }],
      }),
    error: /tenant north has a server_url that must use https/,
  },
  {
    name: 'a server_url that is not a URL',
    tenants: () => json({ tenants: [{ tenant_id: 'north', server_url: 'north-1 region' }] }),
    error: /tenant north has a server_url that/,
  },
  {
    name: 'escape sequences in a tenant name',
    tenants: () =>
      json({
        tenants: [
          {
            tenant_id: 'north',
            tenant_name: '\u001b[2J\u001b]0;pwned\u0007North',
            server_url: 'http://127.0.0.1:9/n',
          },
        ],
      }),
    error: /tenant north has a tenant_name that is not a short printable string/,
  },
  {
    name: 'an exchange answer without access_token',
    exchange: (form) => json({ ...goodExchange(form.get('audience') ?? ''), access_token: undefined }),
    error: /exchange answer .* holds no usable access_token/,
  },
  {
    name: 'a huge exchange answer',
    exchange: () => ({ body: `{"access_token":"${'a'.repeat(5 * 1024 * 1024)}"}` }),
    error: /larger than|too large|RESPONSE_TOO_LARGE|exceeds/i,
  },
  {
    name: 'malformed exchange JSON',
    exchange: () => ({ body: '<html>oops</html>' }),
    error: /exchange answer .* is not a JSON object/,
  },
  {
    name: 'an exchange naming another tenant',
    exchange: (form) =>
      json(
        goodExchange(form.get('audience') ?? '', {
          tenant: {
            tenant_id: 'south',
            tenant_name: 'South',
            region: 'south-1',
            server_url: 'http://127.0.0.1:9/s',
          },
        }),
      ),
    error: /names tenant south, not the tenant asked for/,
  },
  {
    name: "an exchange whose tenant's server_url is plain http off loopback",
    exchange: (form) =>
      json(
        goodExchange(form.get('audience') ?? '', {
          tenant: {
            tenant_id: 'north',
            tenant_name: 'North',
            region: 'north-1',
            server_url: 'http://0.0.0.0:4444/n',
          },
        }),
      ),
    error: /tenant north has a server_url that must use https/,
  },
  {
    name: 'a server error with escape sequences in its words',
    exchange: () => ({
      status: 500,
      body: JSON.stringify({ error: 'server_error', error_description: 'boom\u001b[31m red' }),
    }),
    error: /HTTP 500 \(server_error: boom/,
  },
];

describe('a hostile control plane', () => {
  for (const c of cases) {
    it(`${c.name}: a clear error, exit 1, no token printed, nothing stored`, async () => {
      hostile.tenants = c.tenants ?? (() => json(goodTenants()));
      hostile.exchange = c.exchange ?? ((form) => json(goodExchange(form.get('audience') ?? '')));
      hostile.received = [];
      const home = hostileHome();
      const before = stored(home);
      const result = await login(home, ['--tenant', 'north']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, c.error);
      assert.equal(result.stdout, '');
      assertPrintable(result.stderr);
      assert.deepEqual(stored(home), before, 'nothing on disk changed');
      assert.ok(hostile.received.length > 0);
      assert.ok(
        hostile.received.every((r) => !r.includes('refresh_token') && !r.includes('alice-password-1')),
        "the login's refresh token and password never reach the control plane",
      );
    });
  }

  it('a renewal that meets a hostile answer changes nothing on disk and prints no token', async () => {
    hostile.tenants = () => json(goodTenants());
    hostile.exchange = (form) => json(goodExchange(form.get('audience') ?? '', { expires_in: 1 }));
    const home = hostileHome();
    assert.equal((await login(home, ['--tenant', 'north'])).code, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    hostile.exchange = (form) =>
      json(
        goodExchange(form.get('audience') ?? '', {
          tenant: { tenant_id: 'north', server_url: 'http://0.0.0.0:1/x' },
        }),
      );
    const before = stored(home);
    for (const args of [['token'], ['switch', '--tenant', 'south'], ['token', '--tenant', 'south']]) {
      const result = await runCli(args, { env: home.env });
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /server_url that must use https/);
      assert.equal(result.stdout, '');
      assert.deepEqual(stored(home), before, `${args.join(' ')} changed nothing on disk`);
    }
  });

  it("the token goes only under the tenant's server_url path prefix, in whole segments", async () => {
    const origin = new URL(hostile.url).origin;
    hostile.tenants = () =>
      json({
        tenants: [
          { tenant_id: 'north', tenant_name: 'North', region: 'north-1', server_url: `${origin}/north-1` },
        ],
      });
    hostile.exchange = (form) => json(goodExchange(form.get('audience') ?? ''));
    const home = hostileHome();
    assert.equal((await login(home, ['--tenant', 'north'])).code, 0);
    const token = JSON.parse((await runCli(['token', '--json'], { env: home.env })).stdout)
      .access_token as string;

    hostile.received = [];
    const hello = await runCli(['fetch', '/v1/hello'], { env: home.env });
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(JSON.parse(hello.stdout).path, '/north-1/v1/hello');
    assert.ok(
      hostile.received.some((r) => r.includes(`Bearer ${token}`)),
      'sent under the prefix',
    );

    hostile.received = [];
    const sibling = await runCli(['fetch', `${origin}/north-10/v1/hello`], { env: home.env });
    assert.equal(sibling.code, 1, sibling.stdout + sibling.stderr);
    assert.match(sibling.stderr, /not one of the origins this credential may be sent to/);
    const dotted = await runCli(['fetch', '/../north-10/v1/hello'], { env: home.env });
    assert.equal(dotted.code, 1, dotted.stdout + dotted.stderr);
    assert.equal(hostile.received.length, 0, 'nothing sent outside the prefix');

    const redirected = await runCli(['fetch', '/v1/redirect'], { env: home.env });
    assert.equal(redirected.code, 0, redirected.stderr);
    assert.equal(JSON.parse(redirected.stdout).path, '/north-10/v1/steal');
    const steal = hostile.received.at(-1) ?? '';
    assert.ok(!steal.includes(token), 'a redirect out of the prefix drops the token');
  });

  it('a refused subject token renews the login once and retries; refused again, exit 2', async () => {
    hostile.tenants = () => json(goodTenants());
    hostile.exchange = (form) => json(goodExchange(form.get('audience') ?? '', { expires_in: 1 }));
    const home = hostileHome();
    assert.equal((await login(home, ['--tenant', 'north'])).code, 0);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const refused = {
      status: 400,
      body: JSON.stringify({ error: 'invalid_grant', error_description: 'subject token expired' }),
    };
    let calls = 0;
    hostile.exchange = (form) => (++calls === 1 ? refused : json(goodExchange(form.get('audience') ?? '')));
    const refreshes = idp.stats.refreshRequests;
    const ok = await runCli(['token', '--json'], { env: home.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(calls, 2, 'one retry');
    assert.equal(idp.stats.refreshRequests, refreshes + 1, 'the login was renewed once');
    assert.equal(JSON.parse(ok.stdout).tenant.id, 'north');

    calls = 0;
    hostile.exchange = () => {
      calls++;
      return refused;
    };
    const refreshToken = () =>
      JSON.parse(readFileSync(join(home.home, 'sessions', 'default.json'), 'utf8')).session.refresh_token;
    const before = refreshToken();
    const failed = await runCli(['token', '--tenant', 'south'], { env: home.env });
    assert.equal(failed.code, 2, failed.stderr);
    assert.match(
      failed.stderr,
      /refused the login's token \(HTTP 400 \(invalid_grant: subject token expired\)\)/,
    );
    assert.match(failed.stderr, /keyfob login/);
    assert.equal(calls, 2, `renewed the login once, then gave up: ${failed.stderr}`);
    assert.equal(failed.stdout, '');
    // The login renewed on the way (its refresh token rotated) was kept: the next call works.
    assert.notEqual(refreshToken(), before, 'the rotated refresh token is stored');
    hostile.exchange = (form) => json(goodExchange(form.get('audience') ?? ''));
    const later = await runCli(['token', '--tenant', 'south'], { env: home.env });
    assert.equal(later.code, 0, later.stderr);
  });

  it("a missing expires_in is read from the token's exp on the control plane's clock; a missing tenant from the list", async () => {
    hostile.tenants = () => json(goodTenants());
    // The control plane's clock is an hour behind: its token's exp is 10 minutes after its own now.
    hostile.exchange = (form) => {
      const serverNow = Date.now() - 3_600_000;
      const body = goodExchange(form.get('audience') ?? '', {
        access_token: fakeJwt({ sub: 'user-alice', exp: Math.floor(serverNow / 1000) + 600 }),
      }) as Record<string, unknown>;
      delete body.expires_in;
      return json(body, { date: new Date(serverNow).toUTCString() });
    };
    const home = hostileHome();
    const result = await login(home, ['--tenant', 'south']);
    assert.equal(result.code, 0, result.stderr);
    const token = JSON.parse((await runCli(['token', '--json'], { env: home.env })).stdout);
    const left = (Date.parse(token.expires_at) - Date.now()) / 1000;
    assert.ok(left > 540 && left < 610, `about 10 minutes left, not expired an hour ago (${left} s)`);
    assert.deepEqual(token.tenant, {
      id: 'south',
      name: 'South',
      region: 'south-1',
      server_url: 'http://127.0.0.1:9/south-1',
    });
  });
});
