import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, runDevIdpCli } from '../src/index.js';
import { browserLogin, deviceLogin, refresh, tokenRequest } from './helpers.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return () => text;
}

async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  const lines = createInterface({ input: stream });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  return line;
}

/** Runs the CLI in-process until it prints its ready line. */
async function runUntilReady(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  const err = collect(stderr);
  const controller = new AbortController();
  const ready = firstLine(stdout);
  const exit = runDevIdpCli(argv, { stdout, stderr, env }, controller.signal);
  const line = await Promise.race([
    ready,
    exit.then((code) => Promise.reject(new Error(`exited ${code}: ${err()}`))),
  ]);
  return { line, out, err, exit, stop: () => controller.abort() };
}

test('prints one JSON ready line, serves, and exits 0 on abort', async () => {
  const run = await runUntilReady(['--port', '0', '--quiet']);
  const ready = JSON.parse(run.line) as { issuer: string; api: string; clients: DevIdp['clients'] };
  assert.match(ready.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(ready.api, `${ready.issuer}/api`);
  assert.equal(ready.clients.cli.client_id, 'keyfob-cli');
  const discovery = await fetch(`${ready.issuer}/.well-known/openid-configuration`);
  assert.equal(discovery.status, 200);
  run.stop();
  assert.equal(await run.exit, 0);
  assert.equal(run.out(), `${run.line}\n`, 'stdout holds the ready line only');
  assert.equal(run.err(), '', '--quiet logs nothing');
  await assert.rejects(fetch(`${ready.issuer}/jwks`), 'the port is closed');
});

test('lifetimes come from flags, else from KEYFOB_DEV_IDP_* variables; requests are logged to stderr', async () => {
  const run = await runUntilReady(['--port=0', '--access-token-ttl', '33'], {
    KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL: '44',
    KEYFOB_DEV_IDP_REFRESH_TOKEN_TTL: '55',
  });
  try {
    const { issuer, api, clients } = JSON.parse(run.line) as {
      issuer: string;
      api: string;
      clients: DevIdp['clients'];
    };
    const idp = { issuer, api, clients } as DevIdp;
    const reply = await tokenRequest(
      idp,
      { grant_type: 'client_credentials', resource: api },
      { id: clients.machine.client_id, secret: clients.machine.client_secret },
    );
    assert.equal(reply.body.expires_in, 33, 'the flag wins over the variable');
    assert.match(run.err(), /dev-idp: POST \/token 200 \d+ms/);
    assert.equal(run.err().includes(String(reply.body.access_token)), false);
  } finally {
    run.stop();
    assert.equal(await run.exit, 0);
  }
});

test('bad flags and bad variables: one line on stderr, exit 1', async () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--bogus'], {}, /unknown option --bogus/],
    [['--port'], {}, /--port needs a value/],
    [['--port', 'abc'], {}, /--port needs a whole number/],
    [['--port', '70000'], {}, /--port is out of range/],
    [['--access-token-ttl', '0'], {}, /--access-token-ttl is out of range/],
    [['serve'], {}, /unexpected argument "serve"/],
    [[], { KEYFOB_DEV_IDP_REUSE_GRACE: 'soon' }, /KEYFOB_DEV_IDP_REUSE_GRACE: needs a whole number/],
    [['--control-plane-token-ttl', '0'], {}, /--control-plane-token-ttl is out of range/],
    [['--firebase-emulator-host', '127.0.0.1:9099'], {}, /--firebase-emulator-host needs --firebase-project/],
    [['--firebase-project', 'my-prod', '--firebase-emulator-host', '127.0.0.1:9099'], {}, /demo project/],
    [['--firebase-project', 'demo-x'], {}, /emulatorHost must be host:port on a loopback address/],
  ];
  for (const [argv, env, message] of cases) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    assert.equal(await runDevIdpCli(argv, { stdout, stderr, env }), 1, argv.join(' '));
    assert.match(err(), message);
    assert.equal(err().trimEnd().split('\n').length, 1, 'one line');
    assert.equal(out(), '');
  }
});

test('--help prints usage with the seeded values and exits 0', async () => {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out = collect(stdout);
  assert.equal(await runDevIdpCli(['--help'], { stdout, stderr, env: {} }), 0);
  assert.match(out(), /^Usage: keyfob dev-idp/);
  assert.match(out(), /alice@example\.com \/ alice-password-1/);
  assert.match(out(), /--reuse-grace S/);
  for (const text of [
    '<issuer>/cp',
    'acme-eu "Acme Europe", region eu-west-1',
    'acme-us "Acme US", region us-east-1',
    'bob@example.com in acme-eu',
    'keyfob-machine (machine) in acme-us (default)',
    'dev-admin-key-not-secret',
    '--control-plane-token-ttl S',
    '--assume-user-token-ttl S',
    '--firebase-project demo-X',
    '--firebase-emulator-host H:P',
  ]) {
    assert.ok(out().includes(text), text);
  }
});

test('the control plane in the ready line; its token lifetimes from flags and variables', async () => {
  const run = await runUntilReady(['--port=0', '--quiet', '--control-plane-token-ttl', '42'], {
    KEYFOB_DEV_IDP_ASSUME_USER_TOKEN_TTL: '17',
    // Without --firebase-project the usual emulator variable changes nothing.
    FIREBASE_AUTH_EMULATOR_HOST: '127.0.0.1:1',
  });
  try {
    const ready = JSON.parse(run.line) as Record<string, unknown> & { issuer: string; control_plane: string };
    assert.equal(ready.control_plane, `${ready.issuer}/cp`);
    assert.equal(ready.admin_api_key, 'dev-admin-key-not-secret');
    assert.deepEqual(
      (ready.tenants as Array<{ tenant_id: string }>).map((t) => t.tenant_id),
      ['acme-eu', 'acme-us'],
    );
    const password = await tokenRequest({ issuer: ready.issuer } as DevIdp, {
      grant_type: 'password',
      client_id: 'keyfob-cli',
      username: 'alice@example.com',
      password: 'alice-password-1',
      scope: 'openid',
    });
    const exchanged = await fetch(`${ready.control_plane}/v1/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: String(password.body.id_token),
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
        audience: 'acme-eu',
      }),
    });
    assert.equal(((await exchanged.json()) as Record<string, unknown>).expires_in, 42);
    const assumed = await fetch(`${ready.control_plane}/v1/auth/assume_user`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-admin-api-key': String(ready.admin_api_key) },
      body: JSON.stringify({ tenant_id: 'acme-eu', user_id: 'user-bob' }),
    });
    const token = String(((await assumed.json()) as Record<string, unknown>).token);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      iat: number;
      exp: number;
    };
    assert.equal(claims.exp - claims.iat, 17);
  } finally {
    run.stop();
    await run.exit;
  }
});

test('as its own process: no warning, stdout stays one line through every flow, SIGTERM exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const line = await firstLine(child.stdout);
    const ready = JSON.parse(line) as { issuer: string; api: string; clients: DevIdp['clients'] };
    const idp = { ...ready, clients: ready.clients } as DevIdp;
    // Exercise every hook whose oidc-provider default would print a notice to stdout.
    const tokens = await browserLogin(t, idp);
    await refresh(idp, String(tokens.refresh_token), { resource: idp.api });
    await deviceLogin(idp);
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const body = new URLSearchParams({ client_id: 'keyfob-cli', token: String(tokens.access_token) });
    await fetch(`${idp.issuer}/token/introspection`, { method: 'POST', headers: form, body });
    await fetch(`${idp.issuer}/token/revocation`, { method: 'POST', headers: form, body });
    await fetch(`${idp.issuer}/auth?client_id=nope`, { headers: { accept: 'text/html' } });
    await fetch(`${idp.issuer}/token`, { method: 'OPTIONS', headers: { origin: 'http://evil.example' } });
  } finally {
    child.kill('SIGTERM');
  }
  const [code, signal] = await exited;
  assert.equal(signal, null);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trimEnd().split('\n').length, 1, `stdout: ${stdout}`);
  assert.equal(stderr.includes('Unsupported runtime'), false);
  assert.equal(/NOTICE|WARNING/.test(stderr), false, stderr);
});
