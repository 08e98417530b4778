/**
 * Agent tools (`@keyfob/core/tools`): declared scopes, an executor that injects a credential the
 * agent never sees, and results instead of crashes, against dev-idp's registry API (issue #13).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, type Keyfob } from '@keyfob/core';
import { createToolExecutor, defineTool, type Tool } from '@keyfob/core/tools';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, robotApproving, type TestHome } from './support/cli.js';

let idp: DevIdp;
/** Logged in through the device flow with `registry:read` (not `registry:write`). */
let reader: TestHome;
let env: Record<string, string>;

/** The registry tool of the contract: a public search, a listing and an upload behind scopes. */
function registryTool(): Tool {
  return defineTool({
    id: 'registry',
    description: 'search and publish packages',
    actions: {
      search: { method: 'GET', url: '${REGISTRY_URL}/registry/search?q={query}' },
      list: { method: 'GET', url: '${REGISTRY_URL}/registry/packages' },
      upload: { method: 'PUT', url: '${REGISTRY_URL}/registry/packages/{name}' },
      echo: { method: 'GET', url: '${REGISTRY_URL}/registry/echo?chunk=7' },
      publicEcho: { method: 'GET', url: '${REGISTRY_URL}/registry/echo' },
    },
    scopes: {
      search: null,
      list: 'registry:read',
      upload: 'registry:write',
      echo: 'registry:read',
      publicEcho: null,
    },
  });
}

async function login(home: TestHome, scopes: string[]): Promise<void> {
  await createKeyfob({ environment: home.env }).login({
    flow: 'device',
    scopes: ['openid', 'offline_access', ...scopes],
    interaction: robotApproving(idp),
    persist: true,
  });
}

function executorOn(kf: Keyfob, lines: string[] = []) {
  return createToolExecutor({ keyfob: kf, tools: [registryTool()], log: (line) => lines.push(line) });
}

before(async () => {
  idp = await startDevIdp();
  reader = makeHome(idp);
  env = { ...reader.env, REGISTRY_URL: idp.api };
  reader.env = env;
  await login(reader, ['registry:read']);
});
after(async () => {
  await idp?.close();
});

describe('agent tools: the executor against dev-idp', () => {
  it('a public action runs with no session at all, and sends no credential', async () => {
    const fresh = makeHome(idp);
    const kf = createKeyfob({ environment: { ...fresh.env, REGISTRY_URL: idp.api } });
    const result = await executorOn(kf).execute('registry', { action: 'search', query: 'pad' });
    assert.equal(result.success, true, result.error ?? '');
    assert.equal(result.status, 200);
    assert.deepEqual(result.data, {
      q: 'pad',
      results: [{ name: 'left-pad', description: 'the left-pad package' }],
    });
    assert.deepEqual(result.metadata, { tool: 'registry', action: 'search' });

    // Logged in, a public action still carries nothing of the session.
    const echoed = await executorOn(createKeyfob({ environment: env })).execute('registry', {
      action: 'publicEcho',
    });
    assert.equal(echoed.success, true, echoed.error ?? '');
    const headers = (echoed.data as { headers: Record<string, string> }).headers;
    assert.equal(headers.authorization, undefined);
    assert.equal(headers.cookie, undefined);
  });

  it('an action needing a scope the login holds gets the data; one it lacks is refused before any request', async () => {
    const kf = createKeyfob({ environment: env });
    const executor = executorOn(kf);
    const listed = await executor.execute('registry', { action: 'list' });
    assert.equal(listed.success, true, listed.error ?? '');
    assert.ok(
      (listed.data as { packages: Array<{ name: string }> }).packages.some((p) => p.name === 'keyfob-demo'),
    );

    const before = idp.stats.apiRequests;
    const upload = await executor.execute('registry', { action: 'upload', name: 'mine', content: 'x' });
    assert.equal(idp.stats.apiRequests, before, 'nothing reached the API');
    assert.equal(upload.success, false);
    assert.equal(upload.status, null);
    assert.equal(upload.metadata.required_scope, 'registry:write');
    assert.equal(upload.metadata.command, 'keyfob refresh --scopes registry:write');
    assert.match(upload.error ?? '', /not granted registry:write/);
  });

  it('kf.fetch({ scopes }) is InsufficientScope before any request', async () => {
    const kf = createKeyfob({ environment: env });
    const before = idp.stats.apiRequests;
    await assert.rejects(
      kf.fetch(`${idp.api}/registry/packages/x`, { method: 'PUT', body: 'x', scopes: ['registry:write'] }),
      (e: Error & { code?: string; missingScopes?: string[] }) =>
        e.code === 'INSUFFICIENT_SCOPE' &&
        e.missingScopes?.join() === 'registry:write' &&
        /keyfob refresh --scopes registry:write/.test(e.message),
    );
    assert.equal(idp.stats.apiRequests, before);
    const ok = await kf.fetch(`${idp.api}/registry/packages`, { scopes: 'registry:read' });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });

  it("a server's 403 names the scope from its challenge; params outside the URL go as a JSON body", async () => {
    // The credential is sent with no scope declared: the server decides, and says what it needs.
    const put = defineTool({
      id: 'put',
      description: 'upload, scope left to the server',
      request: { method: 'PUT', url: '${REGISTRY_URL}/registry/packages/{name}' },
    });
    const kf = createKeyfob({ environment: env });
    const result = await createToolExecutor({ keyfob: kf, tools: [put] }).execute('put', {
      name: 'x',
      content: 'y',
    });
    assert.equal(result.success, false);
    assert.equal(result.status, 403);
    assert.equal(result.metadata.required_scope, 'registry:write');
    assert.equal(result.metadata.command, 'keyfob refresh --scopes registry:write');

    // A machine with registry:write uploads; the unused parameter is the JSON body.
    const machine = createKeyfob({
      environment: {
        ...env,
        KEYFOB_CLIENT_ID: idp.clients.machine.client_id,
        KEYFOB_CLIENT_SECRET: idp.clients.machine.client_secret,
      },
    });
    const uploaded = await executorOn(machine).execute('registry', {
      action: 'upload',
      name: 'agent-made',
      content: 'hello',
    });
    assert.equal(uploaded.success, true, uploaded.error ?? '');
    assert.equal(uploaded.status, 201);
    assert.deepEqual(uploaded.data, {
      name: 'agent-made',
      size: JSON.stringify({ content: 'hello' }).length,
    });
  });

  it('an expired token is refreshed inside execute, and the call succeeds', async () => {
    const kf = createKeyfob({ environment: env, now: () => new Date(Date.now() + 2 * 3600_000) });
    const refreshes = idp.stats.refreshRequests;
    const result = await executorOn(kf).execute('registry', { action: 'list' });
    assert.equal(result.success, true, result.error ?? '');
    assert.equal(idp.stats.refreshRequests, refreshes + 1);
  });

  it('a credential a server echoes is [REDACTED] in data and log lines, counted in metadata', async () => {
    const kf = createKeyfob({ environment: env });
    const lines: string[] = [];
    const token = (await kf.getToken({ scopes: ['registry:read'] })).access_token;
    const result = await executorOn(kf, lines).execute('registry', { action: 'echo' });
    assert.equal(result.success, true, result.error ?? '');
    const headers = (result.data as { headers: Record<string, string> }).headers;
    assert.equal(headers.authorization, 'Bearer [REDACTED]');
    assert.ok((result.metadata.redacted ?? 0) >= 1);
    assert.ok(!JSON.stringify(result).includes(token), 'the token is not in the result');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /^tool=registry action=echo success=true status=200 redacted=\d+ ms=\d+$/);
    assert.ok(!lines.join('\n').includes(token));
  });
});

describe('agent tools: parameters that hold a credential are refused, nothing sent', () => {
  const jwtShaped = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2lnbmF0dXJl`;

  it('the injected token, a secret from the environment, a JWT-shaped value, nested or not', async () => {
    const secret = 'canary-passphrase-0123456789';
    const kf = createKeyfob({ environment: { ...env, KEYFOB_PASSPHRASE: secret } });
    const token = (await kf.getToken({ scopes: ['registry:read'] })).access_token;
    const executor = executorOn(kf);
    const attempts: Array<Record<string, unknown>> = [
      { action: 'search', query: token },
      { action: 'search', query: `Bearer ${token}` },
      { action: 'search', query: `abc ${secret} def` },
      { action: 'search', query: jwtShaped },
      { action: 'upload', name: 'x', content: { deep: [{ note: `see ${jwtShaped}` }] } },
      { action: 'upload', name: 'x', [token]: 'key' },
    ];
    const before = idp.stats.apiRequests;
    for (const params of attempts) {
      const result = await executor.execute('registry', params);
      assert.equal(result.success, false);
      assert.equal(result.status, null);
      assert.match(result.error ?? '', /credential|JWT/);
      const shown = JSON.stringify(result);
      for (const value of [token, secret, jwtShaped])
        assert.ok(!shown.includes(value), 'the value is not echoed');
    }
    assert.equal(idp.stats.apiRequests, before, 'nothing reached the API');
  });
});

describe('agent tools: templates', () => {
  it('a parameter cannot change the path or the query structure (encoded, single pass)', async () => {
    const seen: string[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const files = defineTool({
        id: 'files',
        description: 'a file by name',
        request: { method: 'GET', url: 'http://127.0.0.1:${FILES_PORT}/files/{name}?tag={tag}' },
        requiredScope: null,
      });
      const kf = createKeyfob({ environment: { ...env, FILES_PORT: String(port) } });
      const executor = createToolExecutor({ keyfob: kf, tools: [files] });
      const call = (name: string, tag = 't') => executor.execute('files', { name, tag });
      assert.equal((await call('../admin')).success, true);
      assert.equal((await call('a/b?c#d', 'x&admin=1')).success, true);
      assert.equal((await call('%2e%2e')).success, true);
      assert.equal((await call('{tag}', '{name}')).success, true);
      assert.deepEqual(seen, [
        '/files/..%2Fadmin?tag=t',
        '/files/a%2Fb%3Fc%23d?tag=x%26admin%3D1',
        '/files/%252e%252e?tag=t',
        '/files/%7Btag%7D?tag=%7Bname%7D',
      ]);
      for (const dots of ['..', '.']) {
        const refused = await call(dots);
        assert.equal(refused.success, false);
        assert.match(refused.error ?? '', /change the path/);
      }
      assert.match((await call('')).error ?? '', /parameter name is empty/);
      assert.equal(seen.length, 4, 'the refused calls sent nothing');
    } finally {
      server.close();
    }
  });

  it('parameters never fill the scheme, host, port, userinfo, fragment or a query key; variables never hold a credential', () => {
    const tool = (url: string) => () =>
      defineTool({ id: 't', description: 'd', request: { method: 'GET', url }, requiredScope: null });
    for (const url of [
      'http://{host}/x',
      '{scheme}://h.example/x',
      'https://h.example:{port}/x',
      'https://{user}@h.example/x',
      'https://h.example/x#{frag}',
      'https://h.example/x?{key}=v',
      'https://h.example/{a}/{a}',
      'https://h.example/{action}',
    ]) {
      assert.throws(tool(url), { code: 'INVALID_INPUT' }, url);
    }
    const kf = createKeyfob({
      environment: {
        ...env,
        KEYFOB_TOKEN: 'x',
        ACME_ADMIN_API_KEY: 'k',
        BASE: 'http://127.0.0.1:1',
        SIGNED: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig',
      },
    });
    const bind = (url: string) => () => createToolExecutor({ keyfob: kf, tools: [tool(url)()] });
    // A parameter right after a base URL from a variable would be the host or port.
    assert.throws(bind('${BASE}{rest}'), /scheme, host or port|not an http/);
    assert.throws(bind('${BASE}/x?token=${KEYFOB_TOKEN}'), /KEYFOB_TOKEN\} holds a credential/);
    assert.throws(bind('${BASE}/x?k=${ACME_ADMIN_API_KEY}'), /holds a credential/);
    assert.throws(bind('${BASE}/x?k=${SIGNED}'), /holds a JWT/);
    assert.throws(bind('${UNSET_VARIABLE}/x'), /is not set/);
    assert.doesNotThrow(bind('${BASE}/x/{rest}'));
  });
});

describe('agent tools: declarations', () => {
  const request = { method: 'GET' as const, url: 'https://h.example/x' };
  it('refuses malformed declarations naming what is wrong', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ id: 'Bad Id', description: 'd', request }, /tool id/],
      [{ id: 't', description: '', request }, /description/],
      [{ id: 't', description: 'd' }, /either request .* or actions/],
      [{ id: 't', description: 'd', request, actions: { a: request }, scopes: { a: null } }, /exactly one/],
      [
        { id: 't', description: 'd', actions: { a: request }, requiredScope: 'x', scopes: { a: null } },
        /requiredScope goes with request/,
      ],
      [{ id: 't', description: 'd', request, scopes: {} }, /scopes go with actions/],
      [
        { id: 't', description: 'd', actions: { a: request, b: request }, scopes: { a: null } },
        /action b is missing from scopes/,
      ],
      [
        { id: 't', description: 'd', actions: { a: request }, scopes: { a: null, c: 'x' } },
        /names c, which is not an action/,
      ],
      [{ id: 't', description: 'd', actions: { a: request }, scopes: { a: 'two scopes' } }, /one scope name/],
      [
        { id: 't', description: 'd', request: { ...request, headers: { 'X-Id': '{id}' } } },
        /parameters may fill only/,
      ],
      [
        { id: 't', description: 'd', request: { ...request, headers: { Authorization: 'x' } } },
        /may not set Authorization/,
      ],
      [
        { id: 't', description: 'd', request: { ...request, headers: { cookie: 'x' } } },
        /may not set cookie/,
      ],
      [{ id: 't', description: 'd', request: { ...request, method: 'TRACE' } }, /method must be/],
    ];
    for (const [declaration, message] of cases) {
      assert.throws(() => defineTool(declaration as never), message, JSON.stringify(declaration));
    }
  });

  it('an unknown tool throws; an unknown action, a GET with a stray parameter and a missing one are results', async () => {
    const kf = createKeyfob({ environment: env });
    const executor = executorOn(kf);
    await assert.rejects(executor.execute('nope', {}), { code: 'INVALID_INPUT' });
    const before = idp.stats.apiRequests;
    const unknown = await executor.execute('registry', { action: 'delete-everything' });
    assert.equal(unknown.success, false);
    assert.match(
      unknown.error ?? '',
      /unknown action; tool registry has: search, list, upload, echo, publicEcho/,
    );
    const stray = await executor.execute('registry', { action: 'search', query: 'a', extra: 1 });
    assert.match(stray.error ?? '', /GET takes no body: unknown parameter\(s\) extra/);
    const missing = await executor.execute('registry', { action: 'search' });
    assert.match(missing.error ?? '', /parameter query is missing/);
    assert.equal(idp.stats.apiRequests, before);
  });

  it('list() shows actions, scopes and parameters, and no URL or credential', () => {
    const listed = executorOn(createKeyfob({ environment: env })).list();
    assert.deepEqual(listed[0]?.actions.slice(0, 3), [
      { name: 'search', method: 'GET', scope: null, authenticated: false, params: ['query'] },
      { name: 'list', method: 'GET', scope: 'registry:read', authenticated: true, params: [] },
      { name: 'upload', method: 'PUT', scope: 'registry:write', authenticated: true, params: ['name'] },
    ]);
    assert.ok(!JSON.stringify(listed).includes(idp.api));
  });
});

describe('agent tools: answers', () => {
  it('a network failure keeps NetworkError words; a body over 1 MiB is refused, naming the bound', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(2 * 1024 * 1024));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const tool = (id: string, url: string) =>
      defineTool({ id, description: 'd', request: { method: 'GET', url }, requiredScope: null });
    const executor = createToolExecutor({
      keyfob: createKeyfob({ environment: env }),
      tools: [tool('big', `http://127.0.0.1:${port}/big`), tool('down', `http://127.0.0.1:${port}/down`)],
    });
    try {
      const big = await executor.execute('big', {});
      assert.equal(big.success, false);
      assert.equal(big.data, null);
      assert.match(big.error ?? '', /1 MiB|1048576/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    const down = await executor.execute('down', {});
    assert.equal(down.success, false);
    assert.equal(down.status, null);
    assert.match(
      down.error ?? '',
      new RegExp(`could not connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  });
});

// Last: revoking the user's grants ends the session every test above uses.
describe('agent tools: a session the provider ended', () => {
  it('a refresh the provider refuses is auth_required with the login command, not a crash', async () => {
    const user = idp.users[0];
    assert.ok(user);
    await idp.revokeGrantsOf(user.sub);
    // Later than every token refreshed above (one test ran its clock 2 hours ahead).
    const kf = createKeyfob({ environment: env, now: () => new Date(Date.now() + 10 * 3600_000) });
    const before = idp.stats.apiRequests;
    const result = await executorOn(kf).execute('registry', { action: 'list' });
    assert.equal(result.success, false);
    assert.equal(result.status, null);
    assert.equal(result.metadata.auth_required, true);
    assert.equal(result.metadata.command, 'keyfob login');
    assert.match(result.error ?? '', /can no longer be renewed/);
    assert.equal(idp.stats.apiRequests, before, 'nothing reached the API');
  });
});
