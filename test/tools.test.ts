/**
 * Agent tools (`@keyfob/core/tools`): declared scopes, an executor that injects a credential the
 * agent never sees, and results instead of crashes, against dev-idp's registry API (issue #13).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, type Keyfob } from '@keyfob/core';
import { createToolExecutor, defineTool } from '@keyfob/core/tools';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder, makeHome, robotApproving, type TestHome } from './support/cli.js';
import { readSession } from './support/file-session.js';
import { registryTool } from './support/tools.js';

let idp: DevIdp;
/** Logged in through the device flow with `registry:read` (not `registry:write`). */
let reader: TestHome;
let env: Record<string, string>;

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

  it('kf.fetch({ scopes }) is InsufficientScope before any request; a token the API refuses is auth_required with its 401', async () => {
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

    // A token from outside (KEYFOB_TOKEN) is judged by its own `scope` claim.
    const token = (await kf.getToken({ scopes: ['registry:read'] })).access_token;
    const outside = createKeyfob({ environment: { ...env, KEYFOB_TOKEN: token } });
    await assert.rejects(
      outside.fetch(`${idp.api}/registry/packages`, { scopes: ['registry:write'] }),
      /does not hold registry:write; use a credential granted registry:write/,
    );
    assert.equal(idp.stats.apiRequests, before + 1, 'only the allowed request reached the API');

    // A token the API refuses (not renewable: from outside) is auth_required with the 401 kept.
    const refused = await createToolExecutor({
      keyfob: createKeyfob({ environment: { ...env, KEYFOB_TOKEN: 'not-a-token-the-api-knows' } }),
      tools: [registryTool()],
    }).execute('registry', { action: 'list' });
    assert.equal(refused.success, false);
    assert.equal(refused.status, 401);
    assert.equal(refused.metadata.auth_required, true);
    assert.match(refused.error ?? '', /refused the credential \(HTTP 401\)/);
    assert.ok(!JSON.stringify(refused).includes('not-a-token-the-api-knows'));
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

    // A provider that places the token in a cookie: the echoed cookie is redacted the same way.
    const cookieKf = createKeyfob({
      environment: env,
      config: {
        default_provider: 'dev',
        providers: {
          dev: {
            type: 'oidc',
            issuer: idp.issuer,
            client_id: idp.clients.cli.client_id,
            scopes: ['openid', 'profile', 'email', 'offline_access'],
            api_base: idp.api,
            resource: idp.api,
            credential: { cookie: 'reg_token' },
          },
        },
      },
    });
    const viaCookie = await executorOn(cookieKf).execute('registry', { action: 'echo' });
    assert.equal(viaCookie.success, true, viaCookie.error ?? '');
    const sent = (viaCookie.data as { headers: Record<string, string> }).headers;
    assert.equal(sent.cookie, 'reg_token=[REDACTED]');
    assert.equal(sent.authorization, undefined);
    assert.ok(!JSON.stringify(viaCookie).includes(token));
  });
});

describe('agent tools: parameters that hold a credential are refused, nothing sent', () => {
  const jwtShaped = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2lnbmF0dXJl`;

  it('the injected token, a secret from the environment, a JWT-shaped value, nested or not', async () => {
    const secret = 'canary-passphrase-0123456789';
    const kf = createKeyfob({ environment: { ...env, KEYFOB_PASSPHRASE: secret } });
    const token = (await kf.getToken({ scopes: ['registry:read'] })).access_token;
    // The refresh token is opaque: only knowing it is keyfob's tells it apart.
    const refreshToken = readSession(reader.home).refresh_token;
    assert.ok(refreshToken && !refreshToken.includes('.'));
    const executor = executorOn(kf);
    const disk = filesUnder(reader.home);
    const attempts: Array<Record<string, unknown>> = [
      { action: 'search', query: token },
      { action: 'search', query: refreshToken },
      { action: 'upload', name: 'x', content: { note: `rt=${refreshToken}` } },
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
      for (const value of [token, refreshToken, secret, jwtShaped]) {
        assert.ok(!shown.includes(value), 'the value is not echoed');
      }
    }
    assert.equal(idp.stats.apiRequests, before, 'nothing reached the API');
    assert.deepEqual(filesUnder(reader.home), disk, 'nothing on disk changed');
  });

  it('a variable holding a client secret the config refers to (${ROBOT_SECRET}) never goes out', async () => {
    const leak = defineTool({
      id: 'leak',
      description: 'a declaration that would send a secret',
      request: { method: 'GET', url: '${REGISTRY_URL}/registry/echo?k=${ROBOT_SECRET}' },
      requiredScope: null,
    });
    const before = idp.stats.apiRequests;
    const result = await createToolExecutor({
      keyfob: createKeyfob({ environment: env }),
      tools: [leak],
    }).execute('leak', {});
    assert.equal(result.success, false);
    assert.match(result.error ?? '', /would carry a credential in its URL or headers/);
    assert.ok(!JSON.stringify(result).includes(idp.clients.machine.client_secret));
    assert.equal(idp.stats.apiRequests, before, 'nothing reached the API');
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
