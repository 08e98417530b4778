/**
 * The three packages as an integrator gets them: `npm pack` tarballs, installed with one
 * `npm install` into a fresh project outside this repository, used from plain JavaScript
 * (ESM and CommonJS), from a strict TypeScript project, and through the installed `keyfob` bin.
 * Uses the dist that `node scripts/build.mjs` made (npm test builds before the tests; rebuilding
 * here would pull the CLI out from under the tests running beside this one).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = { core: 'packages/keyfob', cli: 'packages/cli', devIdp: 'packages/dev-idp' } as const;
type Name = keyof typeof PACKAGES;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The runner's environment without npm's and Node's own settings (`npm test` sets npm_config_*). */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^npm_/i.test(key) || key === 'NODE_OPTIONS' || key.startsWith('KEYFOB_'))
      continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; input?: string; timeoutMs?: number },
): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env ?? cleanEnv(),
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 1 << 24,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    // A child that exits without reading its input (most do) closes the pipe: EPIPE on this
    // side is not the test's failure; its exit code and output say how it went.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

function node(cwd: string, args: readonly string[], env?: Record<string, string>, input?: string) {
  return run(process.execPath, args, {
    cwd,
    ...(env ? { env } : {}),
    ...(input !== undefined ? { input } : {}),
  });
}

/** A project of its own in the temporary folder: the integrator's, not this repository's. */
async function consumer(dir: string, tarballs: readonly string[]): Promise<void> {
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true })}\n`,
  );
  const install = await run('npm', ['install', ...tarballs, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    timeoutMs: 240_000,
  });
  assert.equal(install.code, 0, `npm install failed:\n${install.stderr}`);
}

let work: string;
const tarball = {} as Record<Name, string>;
let app: string; // core + cli + dev-idp
let lean: string; // core + cli only
let idp: ChildProcess | undefined;
let ready: {
  issuer: string;
  api: string;
  clients: { machine: { client_id: string; client_secret: string } };
};
let idpExit: Promise<number | null>;
let idpStderr = '';

before(async () => {
  for (const dir of Object.values(PACKAGES)) {
    assert.ok(
      existsSync(join(ROOT, dir, 'dist')),
      `${dir}/dist is missing: run \`node scripts/build.mjs\` first`,
    );
  }
  // Outside the repository: no workspace link, no parent node_modules to fall back on.
  work = mkdtempSync(join(tmpdir(), 'keyfob-packaging-'));
  const pack = await run(
    'npm',
    ['pack', '--json', '--pack-destination', work, ...Object.values(PACKAGES).flatMap((dir) => ['-w', dir])],
    { cwd: ROOT },
  );
  assert.equal(pack.code, 0, pack.stderr);
  const packed = JSON.parse(pack.stdout) as { name: string; filename: string }[];
  for (const [name, dir] of Object.entries(PACKAGES) as [Name, string][]) {
    const { name: packageName } = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    const entry = packed.find((p) => p.name === packageName);
    assert.ok(entry, `npm pack made no tarball for ${packageName}`);
    tarball[name] = join(work, entry.filename);
  }
  app = join(work, 'app');
  lean = join(work, 'lean');
  await Promise.all([
    consumer(app, [tarball.core, tarball.cli, tarball.devIdp]),
    consumer(lean, [tarball.core, tarball.cli]),
  ]);
  // The installed `keyfob dev-idp`: the identity server every check below talks to (127.0.0.1).
  const child = spawn(
    process.execPath,
    [join(app, 'node_modules/.bin/keyfob'), 'dev-idp', '--port', '0', '--quiet'],
    {
      cwd: app,
      env: cleanEnv({ HOME: work }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  idp = child;
  idpExit = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    idpStderr += chunk;
  });
  ready = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line));
    });
    void idpExit.then((code) => reject(new Error(`keyfob dev-idp exited ${code}: ${idpStderr}`)));
  });
});

after(() => {
  idp?.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A keyfob home with dev-idp's providers: `dev` (a person, the default) and `robot` (a machine). */
function home(name: string): { dir: string; env: Record<string, string> } {
  const dir = join(work, name);
  mkdirSync(dir, { mode: 0o700 });
  const provider = (type: string, clientId: string) => [
    `  ${type === 'oidc' ? 'dev' : 'robot'}:`,
    `    type: ${type}`,
    `    issuer: ${ready.issuer}`,
    `    client_id: ${clientId}`,
    `    api_base: ${ready.api}`,
    `    resource: ${ready.api}`,
  ];
  writeFileSync(
    join(dir, 'config.yaml'),
    [
      'default_provider: dev',
      'providers:',
      ...provider('oidc', 'keyfob-cli'),
      '    scopes: [openid, profile, email, offline_access]',
      ...provider('client_credentials', ready.clients.machine.client_id),
      '    client_secret: ${ROBOT_SECRET}',
      'profiles:',
      '  ci:',
      '    provider: robot',
      '',
    ].join('\n'),
  );
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    KEYFOB_HOME: dir,
    ROBOT_SECRET: ready.clients.machine.client_secret,
    NO_COLOR: '1',
  };
  return { dir, env };
}

describe('the npm tarballs', () => {
  it('hold only what a package needs: dist, bin, types, README, LICENSE; no sources or tests', async () => {
    const expected: Record<Name, string[]> = {
      core: [
        'dist/index.js',
        'dist/index.d.ts',
        'dist/lifecycle/cached-token.d.ts',
        'dist/config/names.js',
        'dist/tools/index.js',
        'dist/tools/index.d.ts',
        'dist/testing/index.js',
        'dist/testing/index.d.ts',
      ],
      cli: [
        'bin/keyfob.cjs',
        'dist/main.js',
        'dist/mount.js',
        'dist/token-fast.cjs',
        'dist/types/mount.d.ts',
      ],
      devIdp: ['dist/index.js', 'dist/index.d.ts'],
    };
    for (const name of Object.keys(PACKAGES) as Name[]) {
      const list = await run('tar', ['-tzf', tarball[name]], { cwd: work });
      assert.equal(list.code, 0, list.stderr);
      const files = list.stdout
        .split('\n')
        .filter(Boolean)
        .map((f) => f.replace(/^package\//, ''));
      for (const file of ['package.json', 'README.md', 'LICENSE', ...expected[name]]) {
        assert.ok(files.includes(file), `${name}: ${file} is missing from the tarball`);
      }
      for (const file of files) {
        assert.ok(!/(^|\/)(src|test|tests|fixtures)\//.test(file), `${name}: ${file} is not for users`);
        assert.ok(!/\.test\.|\.map$|tsconfig|tsbuildinfo/.test(file), `${name}: ${file} is not for users`);
        assert.ok(
          !/\.[cm]?ts$/.test(file) || file.endsWith('.d.ts'),
          `${name}: ${file} is a TypeScript source`,
        );
      }
      const manifest = JSON.parse(readFileSync(join(ROOT, PACKAGES[name], 'package.json'), 'utf8'));
      assert.equal(manifest.license, 'MIT');
      assert.equal(manifest.engines?.node, '>=20.19');
    }
  });
});

/** The fenced blocks of `lang` in the README's section `heading`. */
function readmeBlocks(heading: string, lang: string): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith(heading));
  assert.ok(section, `README has a section "${heading}"`);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
}

describe('the README\'s "Use keyfob in your SDK" and "… in your CLI", in the installed project', () => {
  it('its auth.js and acme.js work as written: not logged in exits 2 naming the login, a machine login, the API call, status', async () => {
    const fill = (code: string) =>
      code
        .replaceAll('https://sso.acme.example', ready.issuer)
        .replaceAll('https://api.acme.example', ready.api);
    const [sdk] = readmeBlocks('Use keyfob in your SDK', 'js');
    const [cli] = readmeBlocks('Use keyfob in your CLI', 'js');
    const [lines] = readmeBlocks('Use keyfob in your CLI', 'sh');
    assert.ok(sdk && cli && lines, 'both sections have their code and the lines to run');
    const project = join(app, 'readme-acme'); // under the installed project: its node_modules
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), '{ "name": "acme", "private": true, "type": "module" }\n');
    writeFileSync(join(project, 'auth.js'), fill(sdk));
    writeFileSync(join(project, 'acme.js'), fill(cli));
    const user = join(work, 'readme-user');
    mkdirSync(user, { mode: 0o700 });
    const env = cleanEnv({ HOME: user, ACME_CI_SECRET: ready.clients.machine.client_secret });
    delete env.XDG_CONFIG_HOME;
    const commands = lines.split('\n').map((l) => l.replace(/\s+#.*$/, '').trim());
    const at = (prefix: string) => {
      const line = commands.find((l) => l.startsWith(prefix));
      assert.ok(line, `the README runs \`${prefix}…\``);
      return line;
    };
    assert.ok(commands.includes('npm install @keyfob/core @keyfob/cli'), 'the install line');
    const sh = (line: string) => run('bash', ['--norc', '--noprofile', '-c', line], { cwd: project, env });

    const before = await sh(at('node acme.js hello'));
    assert.equal(before.code, 2, before.stderr);
    assert.match(before.stderr, /acme: .*`acme auth login`/);
    const login = await sh(at('printenv ACME_CI_SECRET | node acme.js auth login robots'));
    assert.equal(login.code, 0, login.stderr);
    assert.doesNotMatch(login.stderr + login.stdout, new RegExp(ready.clients.machine.client_secret));
    const hello = await sh(at('node acme.js hello ci'));
    assert.equal(hello.code, 0, hello.stderr);
    assert.equal(
      JSON.parse(hello.stdout).client_id,
      ready.clients.machine.client_id,
      "the API answered the machine's token",
    );
    const status = await sh(at('node acme.js auth status'));
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /\bci\b.*robots/);
    // The files are the app's: ~/.config/acme, and no trace of keyfob's own home.
    assert.ok(existsSync(join(user, '.config/acme')), 'the home is ~/.config/acme');
    assert.ok(!existsSync(join(user, '.config/keyfob')), 'nothing under ~/.config/keyfob');
  });
});

describe('an integrator project with the three tarballs', () => {
  it('imports @keyfob/core as ESM: an instance serves its token, checkToken and fetch work against dev-idp', async () => {
    const robot = home('esm-robot');
    const minted = await node(app, ['node_modules/.bin/keyfob', 'token', '--profile', 'ci'], robot.env);
    assert.equal(minted.code, 0, minted.stderr);
    const token = minted.stdout.trim();
    writeFileSync(
      join(app, 'index.mjs'),
      [
        "import { AuthenticationRequired, checkToken, createAuthStore, createKeyfob } from '@keyfob/core';",
        "import { createTestKeychain, createTestKeychainStore } from '@keyfob/core/testing';",
        'const [issuer, api, token, home, empty, kept] = process.argv.slice(2);',
        "const kf = createKeyfob({ appName: 'acme', home, environment: {}, token });",
        'const served = (await kf.getToken()).access_token === token;',
        'const report = await checkToken(token, { issuer, audience: api, fetch: kf.http });',
        'const hello = (await kf.fetch(`${api}/hello`, { allowOrigins: [new URL(api).origin] })).status;',
        "const none = createKeyfob({ appName: 'acme', home: empty, environment: {} });",
        'const refused = await none.getToken().then(() => null, (e) => e instanceof AuthenticationRequired && e.code);',
        '// The test keychain of @keyfob/core/testing under the installed keychain store.',
        'const keychain = createTestKeychain();',
        "const store = createTestKeychainStore({ home: kept, keychain, appName: 'acme' });",
        "const config = { providers: { corp: { type: 'oidc', issuer, client_id: 'keyfob-cli' } } };",
        "const auth = createAuthStore({ keyfob: createKeyfob({ appName: 'acme', home: kept, environment: {}, config, store }) });",
        "await auth.setToken('svc', { accessToken: token, expiresIn: 600 });",
        "const testing = (await auth.getToken('svc')) === token && keychain.entries().length;",
        'console.log(JSON.stringify({ served, valid: report.valid, hello, refused, testing }));',
      ].join('\n'),
    );
    mkdirSync(join(work, 'esm-home'));
    mkdirSync(join(work, 'esm-empty'));
    mkdirSync(join(work, 'esm-kept'));
    const result = await node(app, [
      'index.mjs',
      ready.issuer,
      ready.api,
      token,
      join(work, 'esm-home'),
      join(work, 'esm-empty'),
      join(work, 'esm-kept'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), {
      served: true,
      valid: true,
      hello: 200,
      refused: 'AUTHENTICATION_REQUIRED',
      testing: 1,
    });
  });

  it('importing @keyfob/core and creating an instance loads no protocol library (openid-client, jose, undici)', async () => {
    writeFileSync(
      join(app, 'light.mjs'),
      [
        "import { createKeyfob } from '@keyfob/core';",
        "import { createToolExecutor, defineTool } from '@keyfob/core/tools';",
        "const kf = createKeyfob({ appName: 'acme', home: process.argv[2], environment: {} });",
        // The agent tools too: declaring a tool and making its executor load nothing heavy.
        "const tool = defineTool({ id: 't', description: 'd', request: { method: 'GET', url: 'https://api.acme.example/x/{id}' }, requiredScope: null });",
        'createToolExecutor({ keyfob: kf, tools: [tool] });',
      ].join('\n'),
    );
    mkdirSync(join(work, 'light-home'));
    const trace = join(work, 'light-imports.txt');
    writeFileSync(trace, '');
    const hook = join(ROOT, 'test/support/trace-imports.mjs');
    const result = await node(app, ['--import', hook, 'light.mjs', join(work, 'light-home')], {
      ...cleanEnv(),
      KEYFOB_TEST_IMPORT_TRACE: trace,
    });
    assert.equal(result.code, 0, result.stderr);
    const loaded = readFileSync(trace, 'utf8');
    assert.match(loaded, /node_modules\/@keyfob\/core\/dist\/index\.js/, 'the trace saw the library load');
    assert.match(
      loaded,
      /node_modules\/@keyfob\/core\/dist\/tools\/index\.js/,
      'the trace saw the tools load',
    );
    for (const heavy of ['openid-client', 'oauth4webapi', '/jose/', 'undici', 'yaml']) {
      assert.ok(!loaded.includes(heavy), `${heavy} was loaded by importing the library`);
    }
  });

  it('requires @keyfob/core from CommonJS: one copy of the library, no top-level await in any of its modules', async () => {
    writeFileSync(
      join(app, 'index.cjs'),
      [
        "const { readdirSync } = require('node:fs');",
        "const path = require('node:path');",
        "const core = require('@keyfob/core');",
        "const { createAuthCommands } = require('@keyfob/cli');",
        '// require() refuses a module graph with a top-level await: load every module the library',
        '// ships, the lazily imported ones too.',
        "const dist = path.dirname(require.resolve('@keyfob/core'));",
        'let modules = 0;',
        'for (const entry of readdirSync(dist, { recursive: true })) {',
        "  if (String(entry).endsWith('.js')) { require(path.join(dist, String(entry))); modules++; }",
        '}',
        "const cliCore = require.resolve('@keyfob/core', { paths: [path.dirname(require.resolve('@keyfob/cli'))] });",
        "import('@keyfob/core').then((esm) => {",
        '  console.log(JSON.stringify({',
        '    same: esm.AuthenticationRequired === core.AuthenticationRequired && esm.createKeyfob === core.createKeyfob,',
        "    oneCopy: cliCore === require.resolve('@keyfob/core'),",
        "    commands: createAuthCommands({ appName: 'acme' }).commands.includes('login'),",
        '    modules,',
        '  }));',
        '});',
      ].join('\n'),
    );
    const result = await node(app, ['index.cjs']);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.equal(out.same, true, 'require and import give the same classes');
    assert.equal(out.oneCopy, true, '@keyfob/cli resolves the very @keyfob/core the integrator has');
    assert.equal(out.commands, true);
    assert.ok(out.modules > 50, `only ${out.modules} library modules were required`);
    // The CLI's own JavaScript imports the library, it does not carry a copy of it (the token
    // fast path alone bundles the few small files it reads).
    const cliDist = join(app, 'node_modules/@keyfob/cli/dist');
    const copies = await run(
      'grep',
      ['-rl', '--include=*.js', '--include=*.cjs', 'class AuthenticationRequired', cliDist],
      {
        cwd: app,
      },
    );
    assert.equal(copies.stdout, '', `a private copy of the library's errors in ${copies.stdout}`);
    const mount = readFileSync(join(cliDist, 'mount.js'), 'utf8');
    assert.match(mount, /from "@keyfob\/core"/);
  });

  it('type-checks a strict nodenext TypeScript project against the shipped .d.ts', async () => {
    const dir = join(app, 'typed');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          skipLibCheck: true,
          // The integrator's own @types/node (here: this repository's copy, by absolute path).
          typeRoots: [join(ROOT, 'node_modules/@types')],
          types: ['node'],
        },
        files: ['check.mts', 'check.cts'],
      }),
    );
    writeFileSync(
      join(dir, 'check.mts'),
      [
        "import { AuthenticationRequired, createKeyfob, isKeyfobError, type Keyfob, type KeyfobOptions } from '@keyfob/core';",
        "import { cachedToken } from '@keyfob/core/cached-token';",
        "import { appNames } from '@keyfob/core/config-names';",
        "import { createToolExecutor, defineTool, type ToolResult } from '@keyfob/core/tools';",
        "import { createTestKeychain, createTestKeychainStore, type TestKeychain } from '@keyfob/core/testing';",
        "import { type AuthCommands, createAuthCommands } from '@keyfob/cli';",
        "import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';",
        "const options: KeyfobOptions = { appName: 'acme', token: 'x' };",
        'const kf: Keyfob = createKeyfob(options);',
        "const auth: AuthCommands = createAuthCommands({ appName: 'acme', commandPrefix: 'acme auth' });",
        'export async function main(): Promise<string | number> {',
        '  try {',
        '    return (await kf.getToken()).access_token;',
        '  } catch (error) {',
        '    if (error instanceof AuthenticationRequired) return error.code;',
        '    if (isKeyfobError(error)) return error.exitCode;',
        '    return auth.run([]);',
        '  }',
        '}',
        "export const prefix: string = appNames('acme').envPrefix;",
        'export const cached: typeof cachedToken = cachedToken;',
        "const search = defineTool({ id: 'search', description: 'd', request: { method: 'GET', url: 'https://x.example/s?q={q}' }, requiredScope: null });",
        "export const run: () => Promise<ToolResult> = () => createToolExecutor({ keyfob: kf, tools: [search] }).execute('search', { q: 'a' });",
        'export const idp: () => Promise<DevIdp> = () => startDevIdp();',
        'const keychain: TestKeychain = createTestKeychain();',
        "export const stored: Keyfob = createKeyfob({ store: createTestKeychainStore({ home: '/tmp/x', keychain }) });",
        '// The types are real, not `any`: a misspelt option and a wrong type are refused.',
        '// @ts-expect-error',
        "createKeyfob({ appNme: 'acme' });",
        '// @ts-expect-error',
        'export const wrong: number = kf.names.app;',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'check.cts'),
      [
        "import core = require('@keyfob/core');",
        "export const made: core.Keyfob = core.createKeyfob({ appName: 'acme' });",
      ].join('\n'),
    );
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      cwd: dir,
    });
    assert.equal(tsc.code, 0, `tsc:\n${tsc.stdout}${tsc.stderr}`);
  });

  it('runs the keyfob bin: --version, and token served from disk by the fast path after login --with-token', async () => {
    const version = await node(app, ['node_modules/.bin/keyfob', '--version'], cleanEnv());
    assert.equal(version.code, 0, version.stderr);
    const manifest = JSON.parse(readFileSync(join(ROOT, PACKAGES.cli, 'package.json'), 'utf8'));
    assert.equal(version.stdout.trim(), manifest.version);

    const person = home('bin-person');
    const machine = home('bin-machine');
    const minted = await node(app, ['node_modules/.bin/keyfob', 'token', '--profile', 'ci'], machine.env);
    assert.equal(minted.code, 0, minted.stderr);
    const secret = minted.stdout.trim();
    const login = await node(
      app,
      ['node_modules/.bin/keyfob', 'login', '--with-token'],
      person.env,
      `${secret}\n`,
    );
    assert.equal(login.code, 0, login.stderr);
    const trace = join(person.dir, 'imports.txt');
    writeFileSync(trace, '');
    const hook = join(ROOT, 'test/support/trace-imports.mjs');
    const token = await node(app, ['--import', hook, 'node_modules/.bin/keyfob', 'token'], {
      ...person.env,
      KEYFOB_TEST_IMPORT_TRACE: trace,
    });
    assert.equal(token.code, 0, token.stderr);
    assert.equal(token.stdout, `${secret}\n`);
    const loaded = readFileSync(trace, 'utf8');
    assert.match(loaded, /node_modules\/@keyfob\/cli\/dist\/token-fast\.cjs/);
    for (const heavy of ['dist/main.js', 'openid-client', 'undici', 'oidc-provider']) {
      assert.ok(!loaded.includes(heavy), `${heavy} was loaded for a cached token`);
    }
  });

  it('runs keyfob dev-idp: its ready line named the issuer, and SIGTERM stops it with 0', async () => {
    assert.match(ready.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const discovery = await fetch(`${ready.issuer}/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200);
    idp?.kill('SIGTERM');
    assert.equal(await idpExit, 0, idpStderr);
  });
});

describe('an integrator project with @keyfob/core and @keyfob/cli only', () => {
  it('has no oidc-provider, and keyfob dev-idp says which package to install', async () => {
    assert.ok(!existsSync(join(lean, 'node_modules/oidc-provider')), 'oidc-provider was installed');
    assert.ok(!existsSync(join(lean, 'node_modules/@keyfob/dev-idp')), '@keyfob/dev-idp was installed');
    const version = await node(lean, ['node_modules/.bin/keyfob', '--version'], cleanEnv());
    assert.equal(version.code, 0, version.stderr);
    const result = await node(
      lean,
      ['node_modules/.bin/keyfob', 'dev-idp', '--port', '0'],
      cleanEnv({ HOME: work }),
    );
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /npm install @keyfob\/dev-idp/);
    assert.doesNotMatch(result.stderr, /network|ERR_MODULE_NOT_FOUND/);
  });
});
