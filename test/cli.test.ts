/**
 * The command line as a user meets it: help, bad input, config errors, exit codes, and what a
 * cached `keyfob token` does not load.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { cliEnv, filesUnder, makeHome, runCli } from './support/cli.js';
import { assertMatchesSchema } from './support/schemas.js';

const COMMANDS = ['login', 'logout', 'status', 'token', 'whoami', 'refresh', 'dev-idp'];

function emptyHome() {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-cli-'));
  return { home, env: cliEnv(home) };
}

describe('help and usage', () => {
  for (const command of COMMANDS) {
    it(`${command} --help describes the command and its flags`, async () => {
      const { env } = emptyHome();
      const result = await runCli([command, '--help'], { env });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, new RegExp(`Usage: keyfob ${command}`));
      assert.match(result.stdout, /--help/);
      if (command !== 'dev-idp') assert.match(result.stdout, /--profile NAME/);
    });
  }

  it('an unknown command or flag exits 1 with what to run, echoing nothing secret-looking', async () => {
    const { env } = emptyHome();
    const secretLooking = `eyJ${'a'.repeat(40)}.payload.signature`;
    const unknown = await runCli([secretLooking], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown command; run `keyfob --help`/);
    assert.doesNotMatch(unknown.stderr, /eyJ/);
    const badFlag = await runCli(['token', '--nope'], { env });
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /keyfob token --help/);
  });

  it('bad flag values are refused before anything is read or written', async () => {
    const { home, env } = emptyHome();
    const before = filesUnder(home);
    for (const args of [
      ['token', '--min-ttl', 'soon'],
      ['token', '--min-ttl', '-5'],
      ['token', '--profile', '../escape'],
      ['token', '--profile', ''],
      ['login', '--browser', '--device'],
      ['status', 'extra-argument'],
    ]) {
      const result = await runCli(args, { env });
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(
        result.stderr.trim().split('\n').length,
        1,
        `one line for ${args.join(' ')}: ${result.stderr}`,
      );
    }
    assert.deepEqual(filesUnder(home), before);
  });
});

describe('config errors', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['bad YAML', 'providers: [\n  - x\n', /config\.yaml: line \d+, column \d+/],
    [
      'an unknown provider type',
      'providers:\n  corp:\n    type: saml\n',
      /config\.yaml: providers\.corp\.type: .*oidc/,
    ],
    [
      'a missing issuer',
      'providers:\n  corp:\n    type: oidc\n    client_id: x\n',
      /config\.yaml: providers\.corp\.issuer: required/,
    ],
    [
      'a literal secret',
      'providers:\n  r:\n    type: client_credentials\n    issuer: https://sso.example.com\n    client_id: r\n    client_secret: hunter2-literal\n',
      /providers\.r\.client_secret: .*\$\{/,
    ],
    [
      'plain http off loopback',
      'providers:\n  corp:\n    type: oidc\n    issuer: http://sso.example.com\n    client_id: x\n',
      /providers\.corp\.issuer/,
    ],
  ];
  for (const [name, yaml, expected] of cases) {
    it(`${name}: one line naming the file and the key, exit 1, no stack, file untouched`, async () => {
      const { home, env } = emptyHome();
      writeFileSync(join(home, 'config.yaml'), yaml);
      const before = filesUnder(home);
      for (const command of [['status'], ['token'], ['login']]) {
        const result = await runCli(command, { env });
        assert.equal(result.code, 1, `${command}: ${result.stderr}`);
        const lines = result.stderr.trim().split('\n');
        assert.equal(lines.length, 1, result.stderr);
        assert.match(lines[0] ?? '', expected);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
        assert.doesNotMatch(result.stderr, /hunter2/, 'the secret is not echoed');
      }
      assert.deepEqual(filesUnder(home), before);
    });
  }

  it('--config names a file that does not exist: exit 1 naming it', async () => {
    const { env } = emptyHome();
    const result = await runCli(['status', '--config', '/nonexistent/keyfob.yaml'], { env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /\/nonexistent\/keyfob\.yaml/);
  });
});

describe('with dev-idp', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(async () => {
    await idp?.close();
  });

  it('token never starts a login: exit 2 naming the exact command', async () => {
    const home = makeHome(idp);
    const plain = await runCli(['token'], { env: home.env });
    assert.equal(plain.code, 2);
    assert.equal(plain.stdout, '');
    assert.match(plain.stderr, /not logged in \(profile default\); run `keyfob login`/);
    // A profile named explicitly that nothing knows of is PROFILE_NOT_FOUND (exit 1, DESIGN.md,
    // Integrators), still naming the login that creates it.
    const named = await runCli(['token', '--profile', 'work'], { env: home.env });
    assert.equal(named.code, 1);
    assert.match(named.stderr, /there is no profile work \(known: none\); run `keyfob login --profile work`/);
  });

  it('status on a fresh home says what to run, and its JSON matches the schema', async () => {
    const home = makeHome(idp);
    const text = await runCli(['status'], { env: home.env });
    assert.equal(text.code, 2, text.stderr);
    assert.match(text.stderr, /not logged in; run `keyfob login`/);
    const json = await runCli(['status', '--json'], { env: { ...home.env, KEYFOB_TOKEN: 'x' } });
    const report = JSON.parse(json.stdout);
    assertMatchesSchema('status', report);
    assert.equal(report.overridden_by, 'KEYFOB_TOKEN');
  });

  it('a cached token loads neither the OAuth client, undici, the lock library nor the server', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const first = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(first.code, 0, first.stderr);
    const trace = join(home.home, 'imports.txt');
    writeFileSync(trace, '');
    const hook = fileURLToPath(new URL('./support/trace-imports.mjs', import.meta.url));
    const cached = await runCli(['token', '--profile', 'ci'], {
      env: { ...home.env, KEYFOB_TEST_IMPORT_TRACE: trace },
      nodeArgs: ['--import', hook],
    });
    assert.equal(cached.code, 0, cached.stderr);
    assert.equal(cached.stdout, first.stdout);
    const loaded = readFileSync(trace, 'utf8');
    assert.match(loaded, /dist\/token-fast\.cjs/, 'the trace saw the CLI load');
    for (const heavy of [
      'openid-client',
      'oauth4webapi',
      'undici',
      'oidc-provider',
      'proper-lockfile',
      'jose',
      'yaml',
      'providers-',
      'login-',
      'dev-idp',
      'child_process',
      'node:http',
      'dist/main.js',
      'dist/token.cjs',
    ]) {
      assert.ok(!loaded.includes(heavy), `${heavy} was loaded for a cached token`);
    }
  });

  it('token --json matches the schema; --min-ttl beyond the lifetime still serves a fresh token', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const result = await runCli(['token', '--profile', 'ci', '--json', '--min-ttl', '999999'], {
      env: home.env,
    });
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout);
    assertMatchesSchema('token', parsed);
    assert.equal(parsed.profile, 'ci');
    assert.ok(Date.parse(parsed.expires_at) > Date.now());
  });
});

describe('npm start', () => {
  it('runs the whole demo with no terminal attached and exits 0', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'keyfob-demo-home-')) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, output);
    for (const step of [
      'keyfob login --device',
      'keyfob status',
      'keyfob whoami',
      '/api/hello',
      '"sub":"user-alice"',
      'keyfob refresh',
      'keyfob logout',
      'exit code 2',
      'Done.',
    ]) {
      assert.ok(output.includes(step), `the demo shows "${step}":\n${output}`);
    }
  });
});
