/**
 * examples/agent-tools, a vendor's agent runtime (Registry) on @keyfob/core, used as its users
 * use it: `registry auth signin --email` (the password on stdin), `status`, `logout`, and the
 * scripted agent (`registry agent PLAN.json`) calling the registry's tools through keyfob's
 * executor and a subprocess tool through the credential proxy, against dev-idp's registry API.
 * The canary: no credential keyfob holds reaches the agent's view (its tool list, calls,
 * results, errors, debug log) or the subprocess tool (its environment and argv), even when the
 * registry echoes the request back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { alice } from '../support/cli.js';
import { exampleDir, runExample } from '../support/example.js';
import { commandInTerminal } from '../support/pty.js';

const DIR = exampleDir('agent-tools');
const BIN = 'bin/registry.js';
const SIGNIN = 'registry auth signin';
const ALL_SCOPES = 'openid email offline_access registry:read registry:write';

interface ToolResult {
  success: boolean;
  status: number | null;
  data: unknown;
  error: string | null;
  metadata: {
    tool: string;
    action?: string;
    auth_required?: true;
    command?: string;
    required_scope?: string;
  };
}
interface AgentView {
  tools: { id: string; actions: { name: string; scope: string | null; params: string[] }[] }[];
  results: ToolResult[];
  /** Everything the agent process printed: stdout (its view) and stderr (its log). */
  text: string;
}

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 600 });
});
after(async () => {
  await idp?.close();
});

/** A fresh user: a home of their own and the variables that point the runtime at dev-idp. */
function freshUser(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'registry-home-'));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    REGISTRY_ISSUER: idp.issuer,
    REGISTRY_URL: idp.api,
    REGISTRY_LOGIN_CLIENT: idp.clients.cli.client_id,
    ...extra,
  };
}

const run = (args: string[], env: Record<string, string>, input?: string) =>
  runExample(DIR, BIN, args, { env, ...(input !== undefined ? { input } : {}) });

/** `registry auth signin --email E --password-stdin [--scopes S]`. */
async function signin(env: Record<string, string>, scopes?: string) {
  const { email, password } = alice(idp);
  const extra = scopes ? ['--scopes', scopes] : [];
  const result = await run(
    ['auth', 'signin', '--email', email, '--password-stdin', ...extra],
    env,
    `${password}\n`,
  );
  assert.equal(result.code, 0, result.stderr);
  return result;
}

/** Runs `registry agent PLAN.json` with `plan`; returns what the agent saw. */
async function agent(env: Record<string, string>, plan: unknown[]): Promise<AgentView> {
  const file = join(env.HOME as string, `plan-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(plan));
  const result = await run(['agent', file], env);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  assert.ok(lines[0].tools, 'the tool list first');
  return {
    tools: lines[0].tools,
    results: lines.slice(1).map((line: { result: ToolResult }) => line.result),
    text: result.stdout + result.stderr,
  };
}

/** Every credential in the user's stored session: access tokens, refresh token, ID token. */
function storedSecrets(env: Record<string, string>): string[] {
  const file = join(env.HOME as string, '.config/registry/sessions/default.json');
  const { session } = JSON.parse(readFileSync(file, 'utf8'));
  const access = Object.values(session.access_tokens as Record<string, { token: string }>).map(
    (t) => t.token,
  );
  return [...access, session.refresh_token, session.id_token].filter((s) => typeof s === 'string');
}

/** Asserts no secret (or its first 24 characters, a cut-off copy) is in `text`. */
function assertNoSecret(text: string, secrets: readonly string[], where: string) {
  for (const secret of secrets) {
    assert.ok(secret.length >= 24, 'a real secret');
    assert.ok(!text.includes(secret.slice(0, 24)), `${where} holds a credential (${secret.slice(0, 6)}…)`);
  }
}

/**
 * `registry auth proxy -- node src/subprocess-tool.js --dump-env FILE diagnose`: the tool run by
 * the vendor's CLI behind a proxy; returns the run after checking the echo came back redacted.
 */
async function proxyRun(env: Record<string, string>, dump: string) {
  const tool = [process.execPath, join(DIR, 'src/subprocess-tool.js'), '--dump-env', dump, 'diagnose'];
  const result = await run(['auth', 'proxy', '--', ...tool], env);
  assert.equal(result.code, 0, result.stderr);
  const answer = JSON.parse(result.stdout) as { status: number; headers: Record<string, string> };
  assert.equal(answer.status, 200);
  assert.equal(answer.headers['x-echo-authorization'], '[REDACTED]', 'the echoed header redacted');
  assert.match(JSON.stringify(answer), /"authorization":"\[REDACTED\]"/, 'and the echoed body');
  assert.equal(answer.headers['set-cookie'], undefined, 'Set-Cookie dropped');
  const seen = JSON.parse(readFileSync(dump, 'utf8')) as { env: Record<string, string> };
  assert.ok(seen.env.REGISTRY_PROXY_URL && seen.env.REGISTRY_PROXY_KEY, 'the proxy’s URL and key');
  return result;
}

const LIST = { tool: 'packages', params: { action: 'list' } };
const upload = (name: string) => ({
  tool: 'packages',
  params: { action: 'upload', name, content: 'console.log(1)' },
});

describe('examples/agent-tools (Registry)', () => {
  it('is its own package depending on @keyfob/core and @keyfob/cli by name, its auth in under 40 lines', () => {
    const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8'));
    assert.deepEqual(pkg.dependencies, { '@keyfob/core': '0.1.0', '@keyfob/cli': '0.1.0' });
    assert.equal(pkg.type, 'module');
    for (const file of ['src/auth.js', 'src/tools.js', 'src/agent.js', 'src/subprocess-tool.js', BIN]) {
      assert.doesNotMatch(
        readFileSync(join(DIR, file), 'utf8'),
        /from '(\.\.\/\.\.\/|[^']*packages\/)/,
        file,
      );
    }
    const code = readFileSync(join(DIR, 'src/auth.js'), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*($|\/\/|\/\*\*)/.test(line));
    assert.ok(code.length <= 40, `src/auth.js has ${code.length} lines of code`);
    assert.match(readFileSync(join(DIR, 'README.md'), 'utf8'), new RegExp(`${code.length} lines`));
  });

  it('the README’s Agent tools section shows src/tools.js’s declarations as they are', () => {
    const readme = readFileSync(join(DIR, '../../README.md'), 'utf8');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Agent tools'));
    assert.ok(section, 'the README has an Agent tools section');
    const block = section.match(/```js\n(import \{ defineTool \}[\s\S]*?)```/)?.[1];
    assert.ok(block, 'with the declarations');
    assert.ok(readFileSync(join(DIR, 'src/tools.js'), 'utf8').includes(block), 'as src/tools.js has them');
  });

  it('registry auth signin --email (password on stdin), status, logout; `login` is the vendor’s `signin`', async () => {
    const env = freshUser();
    const { password } = alice(idp);
    const done = await signin(env);
    assert.match(done.stderr, /Logged in to registry as user-alice \(profile default/);
    const status = await run(['auth', 'status'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /\* default +registry +user-alice .*registry:read/);
    const help = await run(['auth', '--help'], env);
    assert.match(help.stdout, /^ {2}signin /m);
    assert.match(help.stdout, /\$ registry auth signin$/m);
    assert.doesNotMatch(help.stdout, /auth login/);
    const old = await run(['auth', 'login', '--email', 'x@example.com'], env);
    assert.notEqual(old.code, 0);
    assert.match(old.stderr, /unknown command "login"/);
    const logout = await run(['auth', 'logout'], env);
    assert.equal(logout.code, 0, logout.stderr);
    const after = await run(['auth', 'status'], env);
    assert.doesNotMatch(after.stdout, /user-alice/);
    for (const result of [done, status, logout])
      assert.ok(!(result.stdout + result.stderr).includes(password), 'the password is never printed');
  });

  it('without a session: the public tool answers; the others say auth_required with `registry auth signin`', async () => {
    const env = freshUser();
    const view = await agent(env, [
      { tool: 'search', params: { query: 'pad' } },
      LIST,
      { subprocess: ['list'] },
    ]);
    const [search, list, sub] = view.results as [ToolResult, ToolResult, ToolResult];
    assert.equal(search.success, true, JSON.stringify(search));
    assert.deepEqual(
      (search.data as { results: { name: string }[] }).results.map((r) => r.name),
      ['left-pad'],
    );
    for (const result of [list, sub]) {
      assert.equal(result.success, false);
      assert.equal(result.metadata.auth_required, true, JSON.stringify(result));
      assert.match(result.metadata.command ?? '', new RegExp(`^${SIGNIN}`));
      assert.doesNotMatch(JSON.stringify(result), /auth login/, 'the vendor’s name for it, everywhere');
    }
    // The agent's tool list: names, scopes and parameters; no URL, no address.
    const packages = view.tools.find((t) => t.id === 'packages');
    assert.deepEqual(
      packages?.actions.map((a) => [a.name, a.scope]),
      [
        ['list', 'registry:read'],
        ['upload', 'registry:write'],
      ],
    );
    assert.deepEqual(
      view.tools.map((t) => t.id),
      ['search', 'packages', 'diagnose'],
    );
    assert.ok(!JSON.stringify(view.tools).includes(idp.api), 'no URL in the tool list');
  });

  it('signed in with registry:read: list works, upload says required_scope and sends nothing; after the step-up the agent was told to run, it uploads', async () => {
    const env = freshUser();
    await signin(env);
    const read = await agent(env, [LIST, upload('agent-readonly'), LIST, { subprocess: ['list'] }]);
    const [list, refused, again, sub] = read.results as [ToolResult, ToolResult, ToolResult, ToolResult];
    assert.equal(list.success, true, JSON.stringify(list));
    assert.ok((list.data as { packages: { name: string }[] }).packages.some((p) => p.name === 'left-pad'));
    assert.equal(refused.success, false);
    assert.equal(refused.metadata.required_scope, 'registry:write', JSON.stringify(refused));
    assert.equal(refused.status, null, 'no request was made');
    const names = (again.data as { packages: { name: string }[] }).packages.map((p) => p.name);
    assert.ok(!names.includes('agent-readonly'), 'nothing was uploaded');
    // The subprocess tool, through the proxy, with only the proxy's URL and key.
    assert.equal(sub.success, true, JSON.stringify(sub));
    assert.equal((sub.data as { status: number }).status, 200);

    // The command the agent was given, run by a person at a terminal (a step-up: a new login
    // with the email and the hidden password, which a password provider needs).
    const command = refused.metadata.command ?? '';
    assert.match(command, /^registry auth \S+ --scopes registry:write$/);
    const stepUp = await commandInTerminal(
      [process.execPath, join(DIR, BIN), ...command.split(' ').slice(1)],
      env,
      [
        { until: /Email: /, answer: `${alice(idp).email}\r` },
        { until: /Password: /, answer: `${alice(idp).password}\r` },
      ],
    );
    assert.equal(stepUp.code, 0, stepUp.output);
    assert.match(stepUp.output, /now has: .*registry:read registry:write/);
    assert.ok(!stepUp.output.includes(alice(idp).password), 'the password is not echoed');
    const write = await agent(env, [upload('agent-upload'), LIST]);
    const [uploaded, listed] = write.results as [ToolResult, ToolResult];
    assert.equal(uploaded.success, true, JSON.stringify(uploaded));
    assert.equal(uploaded.status, 201);
    assert.equal((uploaded.data as { name: string }).name, 'agent-upload');
    assert.ok(
      (listed.data as { packages: { name: string }[] }).packages.some((p) => p.name === 'agent-upload'),
    );
  });

  it('the canary: no credential keyfob holds reaches the agent’s view, log or the subprocess tool, though the registry echoes it', async () => {
    const env = freshUser({ REGISTRY_DEBUG: '1' });
    await signin(env, ALL_SCOPES);
    const dump = join(env.HOME as string, 'subprocess-env.json');
    const view = await agent(env, [
      { tool: 'search', params: { query: 'pad' } },
      LIST,
      upload('agent-canary'),
      { tool: 'diagnose', params: { chunk: '7' } },
      { subprocess: ['--dump-env', dump, 'diagnose'] },
    ]);
    const secrets = storedSecrets(env);
    assert.ok(secrets.length >= 3, 'the session holds an API token, a refresh token and an ID token');
    assert.match(view.text, /registry debug: /, 'the debug log was on');
    assertNoSecret(view.text, secrets, 'the agent’s view');

    // The echo reached the registry with the credential and came back redacted, in-process…
    const echoed = view.results[3] as ToolResult;
    assert.equal(echoed.status, 200, JSON.stringify(echoed));
    assert.match(JSON.stringify(echoed.data), /REDACTED/);
    // …and through the proxy.
    const proxied = view.results[4] as ToolResult;
    assert.equal(proxied.status, 200, JSON.stringify(proxied));
    assert.match(JSON.stringify(proxied.data), /REDACTED/);
    assert.ok(!JSON.stringify(proxied.data).includes('registry_session='), 'Set-Cookie dropped');

    // The subprocess tool had PATH and the proxy's URL and key: nothing of the session.
    const seen = JSON.parse(readFileSync(dump, 'utf8')) as { env: Record<string, string>; argv: string[] };
    assert.deepEqual(Object.keys(seen.env).sort(), ['PATH', 'REGISTRY_PROXY_KEY', 'REGISTRY_PROXY_URL']);
    assertNoSecret(JSON.stringify(seen), secrets, 'the subprocess’s environment and argv');

    // The same tool under `registry auth proxy -- TOOL` (the vendor's CLI): the echo redacted.
    const cliDump = join(env.HOME as string, 'cli-proxy-env.json');
    const cli = await proxyRun(env, cliDump);
    assertNoSecret(
      cli.stdout + cli.stderr,
      storedSecrets(env),
      'the proxied tool’s output and the CLI’s log',
    );
    assertNoSecret(
      readFileSync(cliDump, 'utf8'),
      storedSecrets(env),
      'the proxied tool’s environment and argv',
    );
  });

  it('the canary in REGISTRY_TOKEN: injected by the executor, echoed by the registry, never seen by the agent', async () => {
    const canary = `canary-${'c4n4ry'.repeat(6)}-${process.pid}`;
    const env = freshUser({ REGISTRY_DEBUG: '1', REGISTRY_TOKEN: canary });
    const view = await agent(env, [
      { tool: 'diagnose', params: { chunk: '5' } },
      LIST,
      { subprocess: ['diagnose'] },
    ]);
    const [echoed, list, proxied] = view.results as [ToolResult, ToolResult, ToolResult];
    assert.equal(echoed.status, 200, JSON.stringify(echoed));
    assert.match(JSON.stringify(echoed.data), /REDACTED/, 'the registry got it and echoed it');
    assert.equal(list.success, false, 'the registry refuses a token it did not issue');
    assert.equal(proxied.status, 200, JSON.stringify(proxied));
    assertNoSecret(view.text, [canary], 'the agent’s view');
    // `registry auth proxy -- TOOL`: the proxy injects the canary; the tool gets neither it nor
    // REGISTRY_TOKEN, and sees it echoed only as [REDACTED].
    const dump = join(env.HOME as string, 'cli-proxy-env.json');
    const cli = await proxyRun(env, dump);
    assertNoSecret(cli.stdout + cli.stderr, [canary], 'the proxied tool’s output and the CLI’s log');
    const seen = readFileSync(dump, 'utf8');
    assertNoSecret(seen, [canary], 'the proxied tool’s environment and argv');
    assert.ok(!('REGISTRY_TOKEN' in JSON.parse(seen).env), 'REGISTRY_TOKEN is not passed on');
    // A tool given a credential as a parameter is refused, and the refusal does not repeat it.
    const handed = await agent(env, [{ tool: 'search', params: { query: canary } }]);
    assert.equal((handed.results[0] as ToolResult).success, false);
    assertNoSecret(handed.text.replace(JSON.stringify({ query: canary }), ''), [canary], 'the refusal');
  });

  it('after logout the agent is told to sign in, with the command', async () => {
    const env = freshUser();
    await signin(env);
    const before = await agent(env, [LIST]);
    assert.equal((before.results[0] as ToolResult).success, true);
    const logout = await run(['auth', 'logout'], env);
    assert.equal(logout.code, 0, logout.stderr);
    const view = await agent(env, [LIST, { subprocess: ['list'] }]);
    for (const result of view.results) {
      assert.equal(result.success, false);
      assert.equal(result.metadata.auth_required, true, JSON.stringify(result));
      assert.match(result.metadata.command ?? '', new RegExp(`^${SIGNIN}`));
      assert.doesNotMatch(JSON.stringify(result), /auth login/);
    }
    // A tool run under `registry auth proxy --` is not started at all: the proxy needs a session.
    const proxied = await run(
      ['auth', 'proxy', '--', process.execPath, join(DIR, 'src/subprocess-tool.js'), 'list'],
      env,
    );
    assert.equal(proxied.code, 2, proxied.stderr);
    assert.match(proxied.stderr, /not logged in .*registry auth signin/);
    assert.equal(proxied.stdout, '');
  });
});
