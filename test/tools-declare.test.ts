/**
 * Agent tools (`@keyfob/core/tools`) without an identity provider: what a declaration may say,
 * where a parameter may go (and how it is encoded), and answers that are not data (a network
 * failure, a body past the bound). A counting server of the test's own on 127.0.0.1 stands for
 * the API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import { createToolExecutor, defineTool } from '@keyfob/core/tools';
import { registryTool } from './support/tools.js';

let api: Server;
/** Every request target the API received. */
const seen: string[] = [];
let env: Record<string, string>;

before(async () => {
  api = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url?.startsWith('/big')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(2 * 1024 * 1024));
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    }
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const port = (api.address() as { port: number }).port;
  const home = mkdtempSync(join(tmpdir(), 'keyfob-tools-'));
  env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    KEYFOB_HOME: home,
    API_PORT: String(port),
    REGISTRY_URL: `http://127.0.0.1:${port}`,
  };
});
after(() => {
  api?.close();
});

describe('agent tools: templates', () => {
  it('a parameter cannot change the path or the query structure (encoded, single pass)', async () => {
    seen.length = 0;
    try {
      const files = defineTool({
        id: 'files',
        description: 'a file by name',
        request: { method: 'GET', url: 'http://127.0.0.1:${API_PORT}/files/{name}?tag={tag}' },
        requiredScope: null,
      });
      const kf = createKeyfob({ environment: env });
      const executor = createToolExecutor({ keyfob: kf, tools: [files] });
      const call = (name: string, tag = 't') => executor.execute('files', { name, tag });
      assert.equal((await call('../admin')).success, true);
      assert.equal((await call('a/b?c#d', 'x&admin=1')).success, true);
      assert.equal((await call('%2e%2e')).success, true);
      assert.equal((await call('{tag}', '{name}')).success, true);
      // Single pass: a value that looks like a variable is not expanded either.
      assert.equal((await call('${REGISTRY_URL}', '${API_PORT}')).success, true);
      assert.deepEqual(seen, [
        '/files/..%2Fadmin?tag=t',
        '/files/a%2Fb%3Fc%23d?tag=x%26admin%3D1',
        '/files/%252e%252e?tag=t',
        '/files/%7Btag%7D?tag=%7Bname%7D',
        '/files/%24%7BREGISTRY_URL%7D?tag=%24%7BAPI_PORT%7D',
      ]);
      for (const dots of ['..', '.']) {
        const refused = await call(dots);
        assert.equal(refused.success, false);
        assert.match(refused.error ?? '', /change the path/);
      }
      assert.match((await call('')).error ?? '', /parameter name is empty/);
      assert.equal(seen.length, 5, 'the refused calls sent nothing');
    } finally {
      seen.length = 0;
    }
  });

  it('parameters never fill the scheme, host, port, userinfo, fragment or a query key; variables never hold a credential', async () => {
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
    // A variable's value is text, never a template: its braces are not a parameter.
    const braces = createKeyfob({ environment: { ...env, PART: '{name}' } });
    const braced = createToolExecutor({
      keyfob: braces,
      tools: [
        defineTool({
          id: 'b',
          description: 'd',
          request: { method: 'GET', url: '${REGISTRY_URL}/x/${PART}' },
          requiredScope: null,
        }),
      ],
    });
    assert.deepEqual(braced.list()[0]?.actions[0]?.params, []);
    seen.length = 0;
    assert.equal((await braced.execute('b', {})).success, true);
    assert.deepEqual(seen, ['/x/%7Bname%7D']);
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
    const executor = createToolExecutor({ keyfob: kf, tools: [registryTool()] });
    await assert.rejects(executor.execute('nope', {}), { code: 'INVALID_INPUT' });
    const before = seen.length;
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
    assert.equal(seen.length, before, 'nothing was sent');
  });

  it('list() shows actions, scopes and parameters, and no URL or credential', () => {
    const listed = createToolExecutor({
      keyfob: createKeyfob({ environment: env }),
      tools: [registryTool()],
    }).list();
    assert.deepEqual(listed[0]?.actions.slice(0, 3), [
      { name: 'search', method: 'GET', scope: null, authenticated: false, params: ['query'] },
      { name: 'list', method: 'GET', scope: 'registry:read', authenticated: true, params: [] },
      { name: 'upload', method: 'PUT', scope: 'registry:write', authenticated: true, params: ['name'] },
    ]);
    assert.ok(!JSON.stringify(listed).includes(env.REGISTRY_URL ?? '?'));
  });
});

describe('agent tools: answers', () => {
  it('a network failure keeps NetworkError words; a body over 1 MiB is refused, naming the bound', async () => {
    // A port that was just free: nothing listens there.
    const spare = createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const port = (spare.address() as { port: number }).port;
    await new Promise((resolve) => spare.close(resolve));
    const tool = (id: string, url: string) =>
      defineTool({ id, description: 'd', request: { method: 'GET', url }, requiredScope: null });
    const executor = createToolExecutor({
      keyfob: createKeyfob({ environment: env }),
      tools: [tool('big', '${REGISTRY_URL}/big'), tool('down', `http://127.0.0.1:${port}/down`)],
    });
    const big = await executor.execute('big', {});
    assert.equal(big.success, false);
    assert.equal(big.data, null);
    assert.match(big.error ?? '', /1 MiB|1048576/);
    const down = await executor.execute('down', {});
    assert.equal(down.success, false);
    assert.equal(down.status, null);
    assert.match(
      down.error ?? '',
      new RegExp(`could not connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  });
});
