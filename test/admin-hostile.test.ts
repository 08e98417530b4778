/**
 * Hostile control-plane answers from a server of the test's own on 127.0.0.1: huge, malformed,
 * fields missing, escape sequences, redirects, an `http` token endpoint off loopback. Each gets a
 * clear error with the right exit code; nothing on disk changes; no secret (the admin key, a
 * principal's secret) is printed; no raw control character reaches the output.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, type TestHome } from './support/cli.js';
import { adminProviderYaml, diskState, ownServer } from './support/control-plane.js';
import { inTerminal } from './support/pty.js';

const KEY = 'hostile-test-admin-key-0123456789';
const ESC = '\u001b]0;pwned\u0007\u001b[2J\u009b31m';
const ASSUME = ['assume-user', '--tenant-id', 'acme-eu', '--user-id', 'user-alice'];

/** An unsigned-looking JWT: keyfob reads its times, the control plane is the one to verify. */
function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'ES256', typ: 'at+jwt' })}.${part(claims)}.c2lnbmF0dXJl`;
}

function goodToken(): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt({
    sub: 'user-alice',
    tenant_id: 'acme-eu',
    scope: 'tenant:read tenant:write',
    iat: now,
    exp: now + 600,
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** What each route answers now; a test sets them. */
const answer: Record<string, (res: ServerResponse) => void> = {};

/** No raw control character and no secret in what keyfob printed. */
function assertClean(result: { stdout: string; stderr: string }, secrets: readonly string[] = [KEY]): void {
  for (const text of [result.stdout, result.stderr]) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
    assert.doesNotMatch(text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f]/, 'a raw control character');
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a secret was printed');
  }
}

let idp: DevIdp;
let url: string;

describe('hostile control-plane answers', () => {
  before(async () => {
    idp = await startDevIdp();
  });
  after(() => idp?.close());

  async function home(t: { after(fn: () => void): void }): Promise<TestHome> {
    const server = await ownServer(t, (req, res) => {
      const route = `${req.method} ${(req.url ?? '').replace(/\/[^/]*$/, req.method === 'DELETE' ? '/ID' : '$&')}`;
      const handler = answer[route];
      if (handler) handler(res);
      else json(res, 404, { error: 'not_found' });
    });
    url = server.url;
    return makeHome(idp, adminProviderYaml(idp, `${url}/cp`));
  }

  async function assumeOk(target: TestHome) {
    answer['POST /cp/v1/auth/assume_user'] = (res) => json(res, 200, { token: goodToken() });
    const ok = await runCli(ASSUME, { env: { ...target.env, KEYFOB_ADMIN_API_KEY: KEY } });
    assert.equal(ok.code, 0, ok.stderr);
  }

  const assumeCases: Array<[string, (res: ServerResponse) => void, number, RegExp]> = [
    [
      'a huge answer',
      (res) => json(res, 200, { token: goodToken(), pad: 'x'.repeat(6 * 1024 * 1024) }),
      1,
      /larger than|too large|MiB/i,
    ],
    ['malformed JSON', (res) => res.writeHead(200).end('{"token":'), 1, /HTTP 200 without a JSON object/],
    ['no token', (res) => json(res, 200, { access_token: goodToken() }), 1, /without a usable "token"/],
    ['a token of escape sequences', (res) => json(res, 200, { token: ESC }), 1, /without a usable "token"/],
    [
      'an expired token',
      (res) => json(res, 200, { token: jwt({ iat: 2000, exp: 1000 }) }),
      1,
      /already expired/,
    ],
    [
      'a 404 with escapes in its words',
      (res) => json(res, 404, { error: 'user_not_found', error_description: ESC }),
      1,
      /User not found: user-alice in tenant acme-eu/,
    ],
    [
      'a 404 naming neither',
      (res) => json(res, 404, { error: ESC }),
      1,
      /neither user_not_found nor tenant_not_found/,
    ],
    [
      'a 401 with escapes',
      (res) => json(res, 401, { error: 'invalid_admin_key', error_description: ESC }),
      2,
      /refused the admin API key/,
    ],
    [
      'a 401 echoing the key',
      (res) => json(res, 401, { error: 'invalid_admin_key', error_description: `bad key ${KEY}` }),
      2,
      /bad key \[the admin API key\]/,
    ],
    ['a 500', (res) => json(res, 500, { error: 'server_error' }), 1, /HTTP 500 \(server_error\)/],
    ['a redirect', (res) => res.writeHead(302, { location: 'http://0.0.0.0:9/steal' }).end(), 1, /HTTP 302/],
  ];
  for (const [what, handler, code, words] of assumeCases) {
    it(`assume_user: ${what} → exit ${code}, a clear error, nothing stored`, async (t) => {
      const target = await home(t);
      answer['POST /cp/v1/auth/assume_user'] = handler;
      const before = diskState(target.home);
      const result = await runCli(ASSUME, { env: { ...target.env, KEYFOB_ADMIN_API_KEY: KEY } });
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, words);
      assertClean(result);
      assert.deepEqual(diskState(target.home), before);
    });
  }

  it('a machine secret stored with login --with-secret that the token endpoint now refuses (invalid_client): exit 2 naming it', async (t) => {
    let refuse = false;
    const server = await ownServer(t, (_req, res) => {
      if (refuse) json(res, 401, { error: 'invalid_client', error_description: 'client deleted' });
      else json(res, 200, { access_token: 'opaque-machine-token', token_type: 'Bearer', expires_in: 600 });
    });
    const target = makeHome(
      idp,
      [
        '  box:',
        '    type: client_credentials',
        `    token_endpoint: ${server.url}/token`,
        '    client_id: box-1',
      ].join('\n'),
    );
    const secret = 'stored-machine-secret-0123456789';
    const login = await runCli(['login', 'box', '--with-secret', '--profile', 'box'], {
      env: target.env,
      input: secret,
    });
    assert.equal(login.code, 0, login.stderr);
    refuse = true;
    const refreshed = await runCli(['refresh', '--profile', 'box'], { env: target.env });
    assert.equal(refreshed.code, 2, refreshed.stderr);
    assert.match(refreshed.stderr, /the stored secret of client box-1 was refused \(invalid_client\)/);
    assert.match(refreshed.stderr, /login box --with-secret/);
    assertClean(refreshed, [secret]);
  });

  it("a token without iat: its exp read on the control plane's clock (its Date header)", async (t) => {
    const target = await home(t);
    const now = Date.now();
    // The control plane's clock is an hour behind; its token is good for 10 minutes from its now.
    const serverNow = Math.floor((now - 3_600_000) / 1000);
    answer['POST /cp/v1/auth/assume_user'] = (res) =>
      json(
        res,
        200,
        { token: jwt({ sub: 'user-alice', exp: serverNow + 600 }) },
        {
          date: new Date(serverNow * 1000).toUTCString(),
        },
      );
    const result = await runCli(ASSUME, { env: { ...target.env, KEYFOB_ADMIN_API_KEY: KEY } });
    assert.equal(result.code, 0, result.stderr);
    const expires = Date.parse(/^Token expires: (\S+)$/m.exec(result.stderr)?.[1] ?? '');
    assert.ok(
      Math.abs(expires - (now + 600_000)) < 30_000,
      `expires in about 10 minutes: ${new Date(expires).toISOString()}`,
    );
  });

  it('users/me: escape sequences never reach the terminal or the JSON raw; 403 names the scope; a 401 re-assumes once, then exit 2', async (t) => {
    const target = await home(t);
    await assumeOk(target);
    answer['GET /cp/v1/users/me'] = (res) =>
      json(res, 200, { id: 'user-alice', email: `a${ESC}@x`, tenant_id: 'acme-eu' });
    const piped = await runCli(['whoami', '--json'], { env: target.env });
    assert.equal(piped.code, 0, piped.stderr);
    assertClean(piped);
    assert.equal(JSON.parse(piped.stdout).email, `a${ESC}@x`, 'the JSON keeps the value, escaped');
    const table = await inTerminal(['whoami'], { ...target.env, NO_COLOR: '1' });
    assert.equal(table.code, 0, table.output);
    assert.ok(!table.output.includes('\u001b'), 'no escape reached the terminal');

    answer['GET /cp/v1/users/me'] = (res) =>
      json(
        res,
        403,
        { error: 'insufficient_scope' },
        { 'www-authenticate': 'Bearer error="insufficient_scope", scope="tenant:admin"' },
      );
    const denied = await runCli(['whoami'], { env: target.env });
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /denied it \(HTTP 403 \(insufficient_scope\)\); it needs scope tenant:admin/);

    let assumed = 0;
    answer['POST /cp/v1/auth/assume_user'] = (res) => {
      assumed++;
      json(res, 200, { token: goodToken() });
    };
    answer['GET /cp/v1/users/me'] = (res) => json(res, 401, { error: 'invalid_token' });
    const before = diskState(target.home);
    const refused = await runCli(['whoami'], { env: target.env });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /refused the token \(HTTP 401 \(invalid_token\)\)/);
    assert.equal(assumed, 1, 'the token was assumed again once, with the stored key');
    assertClean(refused);
    assert.notDeepEqual(diskState(target.home), before, 'the re-assumed token was stored');
  });

  it('service principals: a create answer without a secret, or with an http token endpoint off loopback, saves nothing and prints no secret', async (t) => {
    const target = await home(t);
    await assumeOk(target);
    const secret = 'principal-secret-abcdefghijklmnop';
    const base = { client_id: 'sp-1', name: 'ci', description: '', tenant_id: 'acme-eu' };
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ ...base, token_endpoint: `${url}/cp/oauth/token` }, 1, /"client_secret" is missing/],
      [
        { ...base, client_secret: secret, token_endpoint: 'http://0.0.0.0:9/token' },
        1,
        /token_endpoint http:\/\/0\.0\.0\.0:9\/token must use https/,
      ],
      [
        { ...base, client_secret: secret, token_endpoint: `${url}/t`, token_endpoint_auth_method: ESC },
        1,
        /token_endpoint_auth_method/,
      ],
      [
        { ...base, client_secret: secret, token_endpoint: `http://0.0.0.0:9/${secret}` },
        1,
        /token_endpoint http:\/\/0\.0\.0\.0:9\/\[the secret\] must use https/,
      ],
      [
        { ...base, client_id: ESC, client_secret: secret, token_endpoint: `${url}/t` },
        1,
        /"client_id" is missing or not printable/,
      ],
      [
        { ...base, client_secret: `${secret}\u001b[2J`, token_endpoint: `${url}/t` },
        1,
        /"client_secret" is missing or not printable/,
      ],
    ];
    for (const [body, code, words] of cases) {
      answer['POST /cp/v1/service-principals'] = (res) => json(res, 201, body);
      const before = diskState(target.home);
      const result = await runCli(['service-principal', 'create', '--name', 'ci', '--save-profile', 'bot'], {
        env: target.env,
      });
      assert.equal(result.code, code, result.stderr);
      assert.match(result.stderr, words);
      assertClean(result, [KEY, secret]);
      assert.deepEqual(diskState(target.home), before);
    }
    // Escapes in a name are shown escaped (JSON) and replaced (terminal).
    answer['POST /cp/v1/service-principals'] = (res) =>
      json(res, 201, { ...base, name: `ci${ESC}`, client_secret: secret, token_endpoint: `${url}/t` });
    const shown = await runCli(['service-principal', 'create', '--name', 'ci'], { env: target.env });
    assert.equal(shown.code, 0, shown.stderr);
    assertClean(shown, [KEY]);
    answer['GET /cp/v1/service-principals'] = (res) =>
      json(res, 200, { service_principals: [{ ...base, name: 'x'.repeat(2 * 1024 * 1024) }] });
    const huge = await runCli(['service-principal', 'list'], { env: target.env });
    assert.equal(huge.code, 1, huge.stderr);
    assert.match(huge.stderr, /larger than|too large|MiB/i);
    answer['GET /cp/v1/service-principals'] = (res) => json(res, 200, { service_principals: [{ name: 1 }] });
    const malformed = await runCli(['service-principal', 'list'], { env: target.env });
    assert.equal(malformed.code, 1, malformed.stderr);
    assert.match(malformed.stderr, /item 0's "client_id" is missing/);
    answer['DELETE /cp/v1/service-principals/ID'] = (res) => json(res, 404, { error: ESC });
    const gone = await runCli(['service-principal', 'delete', 'sp-1'], { env: target.env });
    assert.equal(gone.code, 1, gone.stderr);
    assert.match(
      gone.stderr,
      /Service principal not found: sp-1 .*; `keyfob service-principal list` lists them/,
    );
    assertClean(gone);
  });
});
