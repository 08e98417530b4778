/**
 * The `password` provider (resource-owner password grant) against dev-idp, through the real
 * CLI: the terminal login of a vendor SDK (email, then a hidden password), the scripted one
 * (`--email E --password-stdin`), wrong credentials, and the session then used, refreshed and
 * renewed without a prompt. The password never reaches argv, a child's environment, the screen
 * or a debug line.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuthenticationRequired, createKeyfob, LoginFailed } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { alice, filesUnder, KEYFOB_BIN, makeHome, runCli, type TestHome } from './support/cli.js';
import { inTerminal } from './support/pty.js';

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp({ accessTokenTtl: 600 });
});
after(async () => {
  await idp?.close();
});

/** A home whose config has the `password` provider `pw` next to dev-idp's `dev` and `robot`. */
function passwordHome(): TestHome {
  return makeHome(
    idp,
    [
      '  pw:',
      '    type: password',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.cli.client_id}`,
      `    api_base: ${idp.api}`,
      `    resource: ${idp.api}`,
    ].join('\n'),
  );
}

/** What is stored: every file but the parsed-config cache. */
function stored(home: TestHome): Record<string, string> {
  const files = filesUnder(home.home);
  for (const path of Object.keys(files)) if (path.startsWith(join(home.home, 'cache'))) delete files[path];
  return files;
}

function pipedLogin(home: TestHome, email: string, password: string, extra: string[] = []) {
  return runCli(['login', 'pw', '--email', email, '--password-stdin', ...extra], {
    env: home.env,
    input: `${password}\n`,
  });
}

/** The session works without any prompt: token, whoami, refresh, fetch of the API. */
async function assertUsable(home: TestHome) {
  const token = await runCli(['token'], { env: home.env });
  assert.equal(token.code, 0, token.stderr);
  assert.match(token.stdout, /^eyJ/);
  const whoami = await runCli(['whoami', '--json'], { env: home.env });
  assert.equal(whoami.code, 0, whoami.stderr);
  assert.equal(JSON.parse(whoami.stdout).email, alice(idp).email);
  const refresh = await runCli(['refresh'], { env: home.env });
  assert.equal(refresh.code, 0, refresh.stderr);
  const fetched = await runCli(['fetch', `${idp.api}/hello`], { env: home.env });
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.equal(JSON.parse(fetched.stdout).sub, alice(idp).sub);
}

describe('the password provider', () => {
  it('at a terminal asks the email, then the password without echo; the session then needs no prompt', async () => {
    const home = passwordHome();
    const { email, password } = alice(idp);
    const run = await inTerminal(['login', 'pw'], home.env, [
      { until: /Email: /, answer: `${email}\r` },
      { until: /Password: /, answer: `${password}\r` },
    ]);
    assert.equal(run.code, 0, run.output);
    assert.ok(run.output.includes(email), 'the email is shown as typed');
    assert.match(run.output, /Logged in to pw as user-alice/);
    for (const piece of [password, password.slice(0, 6), password.slice(-6)]) {
      assert.ok(!run.output.includes(piece), 'no part of the password reaches the terminal');
    }
    const session = JSON.parse(readFileSync(join(home.home, 'sessions', 'default.json'), 'utf8')).session;
    assert.equal(session.obtained_by, 'password');
    assert.equal(session.bound_to.issuer, idp.issuer);
    assert.equal(session.bound_to.client_id, idp.clients.cli.client_id);
    assert.ok(!JSON.stringify(session).includes(password), 'the password is not stored');
    await assertUsable(home);
  });

  it('from a script: --email E --password-stdin; the password is in no argv, environment or debug line', async () => {
    const home = passwordHome();
    const { email, password } = alice(idp);
    const child = spawn(process.execPath, [KEYFOB_BIN, 'login', 'pw', '--email', email, '--password-stdin'], {
      env: { ...home.env, KEYFOB_DEBUG: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    let sawKeyfob = false;
    let leaked = '';
    const scan = () => {
      for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        for (const file of ['cmdline', 'environ']) {
          let text: string;
          try {
            text = readFileSync(`/proc/${pid}/${file}`, 'latin1');
          } catch {
            continue; // gone, or another user's
          }
          if (file === 'cmdline' && text.includes(KEYFOB_BIN)) sawKeyfob = true;
          if (text.includes(password)) leaked = `/proc/${pid}/${file}`;
        }
      }
    };
    // The process waits for its password on stdin: scan while it does, then while it logs in.
    await new Promise((resolve) => setTimeout(resolve, 300));
    scan();
    child.stdin.end(`${password}\n`);
    const scanning = setInterval(scan, 5);
    const code = await closed;
    clearInterval(scanning);
    assert.equal(code, 0, output);
    assert.ok(sawKeyfob, 'the scan saw the login process');
    assert.equal(leaked, '', 'the password is in no process argv or environment');
    assert.match(output, /Logged in to pw as user-alice/);
    assert.match(output, /debug/i, 'debug lines were written');
    assert.ok(!output.includes(password), 'no debug line holds the password');
    await assertUsable(home);
  });

  it('wrong password or unknown email: exit 1 "wrong email or password" naming the command; the existing session stays', async () => {
    const home = passwordHome();
    const { email, password } = alice(idp);
    const first = await pipedLogin(home, email, password);
    assert.equal(first.code, 0, first.stderr);
    const token = (await runCli(['token'], { env: home.env })).stdout;
    const before = stored(home);
    for (const [tryEmail, tryPassword] of [
      [email, 'not-alices-password'],
      ['nobody@example.com', password],
    ] as const) {
      const wrong = await pipedLogin(home, tryEmail, tryPassword);
      assert.equal(wrong.code, 1, wrong.stderr);
      assert.match(wrong.stderr, /wrong email or password/);
      assert.match(wrong.stderr, /keyfob login pw/);
      assert.equal(wrong.stderr.trim().split('\n').length, 1, wrong.stderr);
      assert.ok(!wrong.stderr.includes(tryPassword), 'the refused password is not echoed');
      assert.deepEqual(stored(home), before, 'nothing stored, nothing overwritten');
    }
    const still = await runCli(['token'], { env: home.env });
    assert.equal(still.code, 0, still.stderr);
    assert.equal(still.stdout, token, 'the previous session of the profile is untouched');
  });

  it('with nobody there and no --password-stdin: exit 2 naming --email E --password-stdin, nothing sent', async () => {
    const home = passwordHome();
    const requests = idp.stats.tokenRequests.password ?? 0;
    for (const args of [
      ['login', 'pw'],
      ['login', 'pw', '--email', alice(idp).email],
    ]) {
      const result = await runCli(args, { env: home.env });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--email E --password-stdin/);
    }
    const alone = await runCli(['login', 'pw', '--password-stdin'], { env: home.env, input: 'x\n' });
    assert.equal(alone.code, 1, alone.stderr);
    assert.match(alone.stderr, /--password-stdin needs --email/);
    const other = await pipedLogin(home, alice(idp).email, alice(idp).password, []);
    assert.equal(other.code, 0, other.stderr);
    const wrongProvider = await runCli(['login', 'dev', '--email', alice(idp).email, '--password-stdin'], {
      env: home.env,
      input: `${alice(idp).password}\n`,
    });
    assert.equal(wrongProvider.code, 1, wrongProvider.stderr);
    assert.match(wrongProvider.stderr, /dev is oidc/);
    assert.equal((idp.stats.tokenRequests.password ?? 0) - requests, 1, 'only the complete login asked');
  });

  it('an expired access token is renewed with the refresh token, without a prompt', async () => {
    const home = passwordHome();
    const { email, password } = alice(idp);
    let offset = 0;
    const kf = createKeyfob({ environment: home.env, now: () => new Date(Date.now() + offset) });
    const result = await kf.login({
      provider: 'pw',
      email,
      password,
      interaction: failingInteraction(),
      persist: true,
    });
    assert.equal(result.subject, alice(idp).sub);
    const first = await kf.getToken();
    offset += 601_000;
    const before = idp.stats.refreshRequests;
    const later = await kf.getToken();
    assert.notEqual(later.access_token, first.access_token, 'renewed once expired');
    assert.equal(idp.stats.refreshRequests - before, 1);
    const hello = await fetch(`${idp.api}/hello`, {
      headers: { authorization: `Bearer ${later.access_token}` },
    });
    assert.equal(hello.status, 200);
  });

  it('in the library: kf.login({ provider, email, password }); a wrong password is LoginFailed without it', async () => {
    const home = passwordHome();
    const kf = createKeyfob({ environment: home.env });
    const wrong = 'not-alices-password-42';
    await assert.rejects(
      kf.login({
        provider: 'pw',
        email: alice(idp).email,
        password: wrong,
        interaction: failingInteraction(),
      }),
      (error: unknown) => {
        assert.ok(error instanceof LoginFailed, String(error));
        assert.equal(error.code, 'LOGIN_FAILED');
        assert.match(error.message, /wrong email or password/);
        assert.ok(!error.message.includes(wrong));
        return true;
      },
    );
    await assert.rejects(
      kf.login({ provider: 'pw', email: alice(idp).email, interaction: failingInteraction() }),
      (error: unknown) => error instanceof AuthenticationRequired && /--password-stdin/.test(error.message),
    );
    const ok = await kf.login({
      provider: 'pw',
      email: alice(idp).email,
      password: alice(idp).password,
      interaction: failingInteraction(),
    });
    assert.equal(ok.store, 'memory');
    const token = await kf.getToken();
    const hello = await kf.fetch(`${idp.api}/hello`);
    assert.equal(hello.status, 200);
    assert.ok(token.access_token.startsWith('eyJ'));
  });
});

/** A password login shows nothing and opens nothing: any call is a failure. */
function failingInteraction() {
  const fail = () => {
    throw new Error('a password login must not use the browser or device interaction');
  };
  return { showAuthorizationUrl: fail, showDeviceCode: fail, openBrowser: fail, waiting: fail, notice: fail };
}
