/**
 * examples/warehouse, a data-warehouse vendor SDK (Snowflake/Komodo-like) re-created on
 * @keyfob/core, used as its users use it: the `warehouse` command as a process and the SDK's
 * `getConnection` imported in-process, in a fresh home per test, against dev-idp in-process (its
 * identity provider, control plane and regional APIs), with a real Chromium for web logins and a
 * pseudo-terminal where a person must be at the terminal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ConflictingCredentials, InvalidInput, TenantNotFound } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { launchBrowser, loopbackResult, signIn, type TestBrowser } from '../support/browser.js';
import { alice, filesUnder } from '../support/cli.js';
import { regionalHello } from '../support/control-plane.js';
import { exampleDir, runExample, startExample } from '../support/example.js';

const DIR = exampleDir('warehouse');
const BIN = 'bin/warehouse.js';

/** The SDK's library API, as its users import it (plain JavaScript: typed here for the test). */
interface Connection {
  accountId: string;
  whoami(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}
const { getConnection } = (await import(pathToFileURL(join(DIR, 'src/connection.js')).href)) as {
  getConnection(options: Record<string, unknown>): Promise<Connection>;
};

let idp: DevIdp;
let browser: TestBrowser;

before(async () => {
  [idp, browser] = await Promise.all([startDevIdp(), launchBrowser()]);
});
after(async () => {
  await Promise.all([idp?.close(), browser?.close()]);
});

/** A fresh user: HOME (where ~/.warehouse/credentials lives) and the SDK's variables. */
function freshUser(extra: Record<string, string> = {}): Record<string, string> {
  const home = mkdtempSync(join(tmpdir(), 'warehouse-home-'));
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    WAREHOUSE_HOME: join(home, '.config', 'warehouse'),
    WAREHOUSE_ISSUER: idp.issuer,
    ...extra,
  };
}

const credentials = (env: Record<string, string>) => join(env.HOME as string, '.warehouse', 'credentials');
const run = (args: string[], env: Record<string, string>) => runExample(DIR, BIN, args, { env });
const bob = () => idp.users.find((u) => u.email.startsWith('bob@')) as DevIdp['users'][number];

/** The INI section `[name]` as key → value. */
function section(text: string, name: string): Record<string, string> {
  const start = text.indexOf(`[${name}]\n`);
  assert.ok(start >= 0, `no [${name}] in the credentials file`);
  const body = text.slice(start + name.length + 3).split(/\n\[/)[0] ?? '';
  return Object.fromEntries(
    body
      .split('\n')
      .filter((line) => line.includes(' = '))
      .map((line) => [line.slice(0, line.indexOf(' = ')), line.slice(line.indexOf(' = ') + 3)]),
  );
}

/** `warehouse login --account ID` through a real Chromium, signed in as `user`. */
async function webLogin(env: Record<string, string>, account: string, user = alice(idp)) {
  const login = startExample(DIR, BIN, ['login', '--account', account], { env: { ...env, ...browser.env } });
  const page = await browser.open(await browser.nextUrl());
  await signIn(page, user);
  assert.equal((await loopbackResult(page)).ok, true);
  await page.close();
  const done = await login.done;
  assert.equal(done.code, 0, done.stderr);
  return done;
}

/** A user logged in to acme-eu with `[production]` saved from `service-principal create`. */
async function loggedInWithPrincipal(env: Record<string, string>) {
  await webLogin(env, 'acme-eu');
  const created = await run(
    ['service-principal', 'create', '--name', 'ci', '--save-profile', 'production'],
    env,
  );
  assert.equal(created.code, 0, created.stderr);
  return JSON.parse(created.stdout) as { client_id: string; account_id: string };
}

/** Runs the example's command in a pseudo-terminal (a person is there) to its end. */
function inTerminal(
  args: string[],
  env: Record<string, string>,
): Promise<{ output: string; code: number | null }> {
  const command = [process.execPath, '--import', 'tsx', `${DIR}${BIN}`, ...args]
    .map((a) => `'${a}'`)
    .join(' ');
  const child = spawn('/usr/bin/script', ['-qfec', command, '/dev/null'], {
    env: { ...env, TERM: 'xterm' },
    cwd: DIR,
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    }),
  );
}

const noToken = (text: string) =>
  assert.doesNotMatch(text, /eyJ[\w-]+\.[\w-]+|sps-[\w-]{8}/, 'no token or secret');

describe('examples/warehouse', () => {
  it('the example is its own package that depends on @keyfob/core by name, its auth in under 40 lines', () => {
    const pkg = JSON.parse(readFileSync(join(DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(pkg.dependencies, { '@keyfob/core': '0.1.0' });
    assert.equal(pkg.type, 'module');
    const root = JSON.parse(readFileSync(join(DIR, '../../package.json'), 'utf8'));
    assert.ok(!JSON.stringify(root.workspaces).includes('examples'), 'not a workspace of the repository');
    for (const file of ['src/auth.js', 'src/connection.js', 'bin/warehouse.js']) {
      const text = readFileSync(join(DIR, file), 'utf8');
      assert.doesNotMatch(text, /from '\.\.?\/(\.\.\/)*packages\//, `${file} imports keyfob by name only`);
    }
    const code = readFileSync(join(DIR, 'src/auth.js'), 'utf8')
      .split('\n')
      .filter((line) => !/^\s*($|\/\/|\/\*\*)/.test(line));
    assert.ok(code.length <= 40, `src/auth.js has ${code.length} lines of code`);
    assert.match(readFileSync(join(DIR, 'README.md'), 'utf8'), new RegExp(`${code.length} lines`));
  });

  it('login in Chromium writes [default] (token, epoch expiry, account_id) 0600 beside the vendor comments and keys; jwt, account get|set', async () => {
    const env = freshUser();
    const file = credentials(env);
    mkdirSync(join(env.HOME as string, '.warehouse'), { mode: 0o700 });
    const original = [
      '# warehouse credentials: do not share',
      '[default]',
      'warehouse_role = analyst',
      '',
      '; a section of another tool',
      '[other]',
      'color = blue',
      '',
    ].join('\n');
    writeFileSync(file, original, { mode: 0o600 });
    const login = await webLogin(env, 'acme-eu');
    assert.match(login.stderr, /Logged in as user-alice in account acme-eu\./);
    noToken(login.stdout + login.stderr);

    const text = readFileSync(file, 'utf8');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(text.startsWith('# warehouse credentials: do not share\n[default]\n'), text);
    assert.ok(text.includes('; a section of another tool\n[other]\ncolor = blue\n'));
    const person = section(text, 'default');
    assert.equal(person.warehouse_role, 'analyst', 'a foreign key kept');
    assert.equal(person.account_id, 'acme-eu');
    assert.ok((person.token ?? '').length > 10);
    const expiry = Number(person.token_expiration);
    assert.ok(
      Number.isInteger(expiry) && expiry > Date.now() / 1000 && expiry < Date.now() / 1000 + 86_400,
      `token_expiration in epoch seconds: ${person.token_expiration}`,
    );

    const account = await run(['account', 'get'], env);
    assert.equal(account.code, 0, account.stderr);
    assert.equal(account.stdout, 'acme-eu\n');

    // `jwt` prints a token for scripts: the account's token, accepted by its regional server.
    const jwt = await run(['jwt'], env);
    assert.equal(jwt.code, 0, jwt.stderr);
    const token = jwt.stdout.trim();
    const hello = await regionalHello(idp, 'acme-eu', token);
    assert.equal(hello.status, 200);
    assert.equal((hello.body as { sub: string }).sub, 'user-alice');

    const switched = await run(['account', 'set', 'acme-us'], env);
    assert.equal(switched.code, 0, switched.stderr);
    assert.match(switched.stderr, /The account of \[default\] is now acme-us\./);
    assert.equal((await run(['account', 'get'], env)).stdout, 'acme-us\n');
    assert.equal(section(readFileSync(file, 'utf8'), 'default').account_id, 'acme-us');
    const usJwt = (await run(['jwt'], env)).stdout.trim();
    assert.equal((await regionalHello(idp, 'acme-us', usJwt)).status, 200);

    // An account the user does not belong to: keyfob's TenantNotFound, the file untouched.
    const before = readFileSync(file, 'utf8');
    const unknown = await run(['account', 'set', 'acme-xx'], env);
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(
      unknown.stderr,
      /^warehouse: Tenant not found: acme-xx; you belong to: acme-eu \(Acme Europe\), acme-us \(Acme US\)/m,
    );
    assert.equal(unknown.stdout, '');
    noToken(unknown.stderr);
    assert.equal(readFileSync(file, 'utf8'), before);
    // An account id with terminal escapes: refused, nothing raw on the terminal, nothing written.
    const hostile = await run(['account', 'set', 'acme-\u001b[2J\u009b31m'], env);
    assert.equal(hostile.code, 1, hostile.stderr);
    assert.match(hostile.stderr, /^warehouse: /m);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching escape sequences is the point
    assert.doesNotMatch(hostile.stderr, /[\u001b\u009b]/);
    noToken(hostile.stderr);
    assert.equal(readFileSync(file, 'utf8'), before);
  });

  it('service principals: create --save-profile production writes [production] (client_id, client_secret, account_id), a [development] written by hand works; explicit credentials win over [default]', async () => {
    const env = freshUser();
    const principal = await loggedInWithPrincipal(env);
    assert.equal(principal.account_id, 'acme-eu');
    const shown = principal as Record<string, unknown>;
    assert.equal(shown.client_secret, undefined, 'the secret is not printed');
    const file = credentials(env);
    const text = readFileSync(file, 'utf8');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const production = section(text, 'production');
    assert.equal(production.client_id, principal.client_id);
    assert.match(production.client_secret ?? '', /^sps-/);
    assert.equal(production.account_id, 'acme-eu');

    // getConnection({ profile: 'production' }): client credentials at the control plane, no prompt.
    const before = idp.stats.controlPlane.servicePrincipalTokens;
    const connection = await getConnection({ profile: 'production', env });
    try {
      assert.equal(connection.accountId, 'acme-eu');
      const me = await connection.whoami();
      assert.equal(me.sub, principal.client_id);
      assert.equal(me.kind, 'service_principal');
      assert.equal(me.tenant_id, 'acme-eu');
    } finally {
      await connection.close();
    }
    assert.equal(idp.stats.controlPlane.servicePrincipalTokens, before + 1, 'one client-credentials call');

    // A principal whose secret is printed once, written by hand as [development] under a comment.
    const created = await run(['service-principal', 'create', '--name', 'dev'], env);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /The client secret is not shown again\./);
    const dev = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const handWritten = (secret: string) =>
      `\n# the dev robot\n[development]\nclient_id = ${dev.client_id}\nclient_secret = ${secret}\naccount_id = acme-eu\n`;
    writeFileSync(file, readFileSync(file, 'utf8') + handWritten(dev.client_secret));
    const who = await run(['whoami', '--profile', 'development'], env);
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(
      [JSON.parse(who.stdout).sub, JSON.parse(who.stdout).account_id],
      [dev.client_id, 'acme-eu'],
    );
    assert.ok(readFileSync(file, 'utf8').includes('\n# the dev robot\n[development]\n'), 'the comment kept');

    // Precedence: [default] (alice) when nothing explicit is given; explicit credentials win.
    const person = await getConnection({ env });
    try {
      assert.equal(person.accountId, 'acme-eu');
      assert.equal((await person.whoami()).sub, 'user-alice');
    } finally {
      await person.close();
    }
    const machine = await getConnection({
      clientId: dev.client_id,
      clientSecret: dev.client_secret,
      accountId: 'acme-eu',
      env,
    });
    try {
      assert.equal((await machine.whoami()).sub, dev.client_id);
    } finally {
      await machine.close();
    }
    const jwt = await run(['jwt', '--profile', 'production'], env);
    assert.equal(jwt.code, 0, jwt.stderr);
    const token = jwt.stdout.trim();
    const byJwt = await getConnection({ jwt: token, accountId: 'acme-eu', env });
    try {
      assert.equal((await byJwt.whoami()).sub, principal.client_id);
    } finally {
      await byJwt.close();
    }
    // The principal's JWT for an account it does not belong to: the vendor's words, keyfob's detail.
    await assert.rejects(
      getConnection({ jwt: token, accountId: 'acme-us', env }),
      (error: Error) =>
        error instanceof TenantNotFound &&
        error.message === 'Tenant not found: acme-us; you belong to: acme-eu' &&
        !error.message.includes(token),
    );

    // Invalid names: refused before anything is created, nothing written, nothing secret shown.
    const kept = readFileSync(file, 'utf8');
    const [bad, taken] = await Promise.all([
      run(['service-principal', 'create', '--name', 'x', '--save-profile', 'bad name'], env),
      run(['service-principal', 'create', '--name', 'x', '--save-profile', 'production'], env),
    ]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /^warehouse: profile names match/m);
    assert.equal(taken.code, 1, taken.stderr);
    assert.match(taken.stderr, /^warehouse: profile production already exists/m);
    assert.equal(readFileSync(file, 'utf8'), kept);
    noToken(bad.stderr + taken.stderr);

    // A section whose secret is wrong, in the file WAREHOUSE_CREDENTIALS_FILE names: refused
    // (exit 2) naming invalid_client, that file untouched, ~/.warehouse never made.
    const other = freshUser();
    const elsewhere = join(other.HOME as string, 'ci-credentials');
    writeFileSync(elsewhere, handWritten('sps-not-the-secret'), { mode: 0o600 });
    const refused = await run(['whoami', '--profile', 'development'], {
      ...other,
      WAREHOUSE_CREDENTIALS_FILE: elsewhere,
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^warehouse: .*invalid_client/m);
    assert.equal(refused.stdout, '');
    noToken(refused.stderr);
    assert.equal(readFileSync(elsewhere, 'utf8'), handWritten('sps-not-the-secret'));
    assert.ok(!existsSync(credentials(other)));
  });

  it('the invalid mixes raise their documented errors naming both things; nothing is sent and nothing written', async () => {
    const env = freshUser();
    // A [default] the vendor's own tool wrote.
    mkdirSync(join(env.HOME as string, '.warehouse'), { mode: 0o700 });
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const written = `[default]\ntoken = a-token-of-the-vendor\ntoken_expiration = ${expires}\naccount_id = acme-eu\n`;
    writeFileSync(credentials(env), written, { mode: 0o600 });
    const file = readFileSync(credentials(env), 'utf8');
    const counters = () => JSON.stringify([idp.stats.tokenRequests, idp.stats.controlPlane]);
    const sent = counters();
    const secret = 'sps-a-secret-never-shown';
    const cases: Array<[Record<string, string>, typeof InvalidInput, RegExp]> = [
      [
        { profile: 'production', clientId: 'sp-1', clientSecret: secret },
        ConflictingCredentials,
        /^profile production and a client id were both given; give one$/,
      ],
      [
        { profile: 'production', accountId: 'acme-eu' },
        ConflictingCredentials,
        /^profile production and an account id were both given; give one$/,
      ],
      [
        {
          jwt: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig',
          clientId: 'sp-1',
          clientSecret: secret,
          accountId: 'acme-eu',
        },
        ConflictingCredentials,
        /^a JWT and a client id were both given; give one$/,
      ],
      [{ jwt: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig' }, InvalidInput, /^a JWT needs an account id$/],
    ];
    for (const [options, kind, message] of cases) {
      await assert.rejects(getConnection({ ...options, env }), (error: Error & { code?: string }) => {
        assert.ok(error instanceof kind, `${error.name}: ${error.message}`);
        assert.equal(
          error.code,
          kind === ConflictingCredentials ? 'CONFLICTING_CREDENTIALS' : 'INVALID_INPUT',
        );
        assert.match(error.message, message);
        noToken(error.message);
        assert.ok(!error.message.includes(secret));
        return true;
      });
    }
    assert.equal(counters(), sent, 'nothing sent');
    assert.equal(readFileSync(credentials(env), 'utf8'), file, 'nothing written');
  });

  it('nobody at the terminal and no [default]: exit 2 naming `warehouse login`, nothing written', async () => {
    const env = freshUser();
    const commands = [
      ['whoami'],
      ['jwt'],
      ['service-principal', 'create', '--name', 'x'],
      ['account', 'get'],
    ];
    // Independent processes: run at once (each loads the library's sources).
    const results = await Promise.all(commands.map((args) => run(args, env)));
    for (const [i, result] of results.slice(0, 3).entries()) {
      assert.equal(result.code, 2, `${commands[i]?.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^warehouse: .*run `warehouse login/m);
      assert.equal(result.stdout, '');
    }
    const account = results[3] as (typeof results)[number];
    assert.equal(account.code, 2, account.stderr);
    assert.match(account.stderr, /^warehouse: no account: run `warehouse login --account ID`$/m);
    assert.ok(!existsSync(credentials(env)), 'no credentials file');
  });

  it('a person at the terminal and no [default]: getConnection logs in in the browser; that session is not written to disk', async () => {
    const env = freshUser(browser.env);
    const running = inTerminal(['whoami'], env);
    const url = await Promise.race([
      browser.nextUrl(),
      running.then((r) => Promise.reject(new Error(`no browser opened: exit ${r.code}\n${r.output}`))),
    ]);
    const page = await browser.open(url);
    await signIn(page, bob());
    assert.equal((await loopbackResult(page)).ok, true);
    await page.close();
    const { output, code } = await running;
    assert.equal(code, 0, output);
    assert.match(output, /"sub": "user-bob"/);
    assert.match(output, /"account_id": "acme-eu"/);
    noToken(output);
    assert.ok(!existsSync(credentials(env)), 'the web login is not in the credentials file');
    for (const [path, text] of Object.entries(filesUnder(env.HOME as string, 'latin1'))) {
      assert.doesNotMatch(text, /refresh|eyJ/, `${path} holds no session`);
    }
  });
});
