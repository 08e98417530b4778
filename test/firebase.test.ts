/**
 * The `firebase` provider through the `keyfob` command, against the real Firebase Auth emulator
 * (firebase-tools, started once for this file), a hostile server of the test's own for what the
 * emulator never sends, and a recording proxy that refuses everything, to prove nothing goes to
 * Google.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createKeyfob, type LoginInteraction } from '@keyfob/core';
import { cliEnv, filesUnder, runCli } from './support/cli.js';
import { readSession, stored, writeSession } from './support/file-session.js';
import {
  FIREBASE_API_KEY,
  FIREBASE_PROJECT,
  type FirebaseEmulator,
  listen,
  refusingProxy,
  startFirebaseEmulator,
} from './support/firebase.js';

const ALICE = { email: 'alice@example.com', password: 'alice-firebase-pw-1' };
const BOB = { email: 'bob@example.com', password: 'bob-firebase-pw-1' };
const CAROL = { email: 'carol@example.com', password: 'carol-firebase-pw-1' };

let emulator: FirebaseEmulator;
let aliceId: string;

before(async () => {
  emulator = await startFirebaseEmulator();
  aliceId = await emulator.signUp(ALICE.email, ALICE.password);
});
after(async () => {
  await emulator?.stop();
});

/** A home whose config names a firebase provider; the emulator comes from the variable. */
function makeFirebaseHome(emulatorHost: string | null = null): { home: string; env: Record<string, string> } {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-fb-'));
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'default_provider: fb',
      'token_storage: file',
      'providers:',
      '  fb:',
      '    type: firebase',
      `    api_key: ${FIREBASE_API_KEY}`,
      `    project_id: ${FIREBASE_PROJECT}`,
      ...(emulatorHost ? [`    emulator_host: ${emulatorHost}`] : []),
      '',
    ].join('\n'),
  );
  return { home, env: cliEnv(home, emulatorHost ? {} : { FIREBASE_AUTH_EMULATOR_HOST: emulator.host }) };
}

function login(env: Record<string, string>, who: { email: string; password: string }) {
  return runCli(['login', '--email', who.email, '--password-stdin'], { env, input: `${who.password}\n` });
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
}

describe('firebase provider against the Auth emulator', () => {
  test('login --email E --password-stdin stores the ID token, expiry and refresh token; whoami shows the claims', async () => {
    const { home, env } = makeFirebaseHome();
    const result = await login(env, ALICE);
    assert.equal(result.code, 0, result.stderr);

    const session = readSession(home);
    assert.ok(session.refresh_token.length > 0);
    assert.deepEqual(session.bound_to.emulator_host, emulator.host);
    const [access] = Object.values(session.access_tokens);
    assert.ok(access);
    assert.equal(access.token, session.id_token);
    // `expiresIn` arrives as the string "3600": the expiry is an hour after receipt.
    const lifetime = Date.parse(access.expires_at) - Date.parse(access.obtained_at);
    assert.equal(lifetime, 3600_000);
    const disk = JSON.stringify(filesUnder(home, 'latin1'));
    assert.ok(!disk.includes(ALICE.password), 'the password is never stored');

    const token = await runCli(['token'], { env });
    assert.equal(token.code, 0, token.stderr);
    const claims = claimsOf(token.stdout.trim());
    assert.equal(claims.iss, `https://securetoken.google.com/${FIREBASE_PROJECT}`);
    assert.equal(claims.aud, FIREBASE_PROJECT);

    const whoami = await runCli(['whoami', '--json'], { env });
    assert.equal(whoami.code, 0, whoami.stderr);
    const shown = JSON.parse(whoami.stdout) as Record<string, unknown>;
    assert.equal(shown.email, ALICE.email);
    assert.equal(shown.user_id, aliceId);
  });

  test('a wrong password exits 1 with "wrong email or password" and overwrites nothing', async () => {
    const { home, env } = makeFirebaseHome();
    assert.equal((await login(env, ALICE)).code, 0);
    const before = stored(home);
    const result = await login(env, { email: ALICE.email, password: 'not-her-password' });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /wrong email or password/);
    assert.ok(!result.stderr.includes('not-her-password'));
    assert.deepEqual(stored(home), before);
  });

  test('an unknown email is "wrong email or password" (exit 1) and stores nothing', async () => {
    const { home, env } = makeFirebaseHome();
    const before = stored(home);
    const result = await login(env, { email: 'nobody@example.com', password: 'whatever-pw-1' });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /wrong email or password/);
    assert.deepEqual(stored(home), before);
  });

  test('a disabled user is told the account is disabled (USER_DISABLED)', async () => {
    const bobId = await emulator.signUp(BOB.email, BOB.password);
    await emulator.disable(bobId);
    const { home, env } = makeFirebaseHome();
    const before = stored(home);
    const result = await login(env, BOB);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /account is disabled \(USER_DISABLED\)/);
    assert.deepEqual(stored(home), before);
  });

  test('a throttled answer (TOO_MANY_ATTEMPTS_TRY_LATER : detail) is named, nothing stored', async () => {
    const seen: string[] = [];
    const hostile = createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            code: 400,
            message:
              'TOO_MANY_ATTEMPTS_TRY_LATER : Access to this account has been temporarily disabled\u001b[31m',
          },
        }),
      );
    });
    const host = await listen(hostile);
    try {
      const { home, env } = makeFirebaseHome(host);
      const before = stored(home);
      const result = await login(env, ALICE);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /too many attempts; try again later \(TOO_MANY_ATTEMPTS_TRY_LATER\)/);
      assert.ok(!result.stderr.includes('\u001b'), 'no raw control characters from the server');
      assert.ok(!result.stderr.includes(ALICE.password));
      assert.deepEqual(stored(home), before);
      assert.ok(seen[0]?.startsWith('/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key='));
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  test('hostile answers: no Firebase error shape is exit 1 storing nothing; no expiresIn takes the exp claim', async () => {
    const exp = Math.floor(Date.now() / 1000) + 1800;
    const claims = Buffer.from(JSON.stringify({ sub: 'u1', exp })).toString('base64url');
    const answers = [
      { status: 502, body: '<html>bad gateway\u001b[2J</html>' },
      { status: 200, body: JSON.stringify({ idToken: `e30.${claims}.`, refreshToken: 'r1', localId: 'u1' }) },
    ];
    const hostile = createServer((req, res) => {
      req.resume();
      const answer = answers.shift() ?? { status: 500, body: '' };
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
    const host = await listen(hostile);
    try {
      const { home, env } = makeFirebaseHome(host);
      const before = stored(home);
      const bad = await login(env, ALICE);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stderr, /answered HTTP 502 without a Firebase answer/);
      assert.ok(!bad.stderr.includes('\u001b'));
      assert.deepEqual(stored(home), before);
      assert.equal((await login(env, ALICE)).code, 0);
      const [access] = Object.values(readSession(home).access_tokens);
      assert.equal(access?.expires_at, new Date(exp * 1000).toISOString());
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  test('refresh gets a new ID token; the old refresh token still works, as Firebase does', async () => {
    const { home, env } = makeFirebaseHome();
    assert.equal((await login(env, ALICE)).code, 0);
    const first = readSession(home);
    // The emulator's `iat` has a resolution of one second.
    await new Promise((r) => setTimeout(r, 1100));
    const refreshed = await runCli(['refresh'], { env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const second = readSession(home);
    assert.notEqual(second.id_token, first.id_token);
    assert.ok((claimsOf(second.id_token).iat as number) > (claimsOf(first.id_token).iat as number));
    const token = await runCli(['token'], { env });
    assert.equal(token.stdout.trim(), second.id_token);

    const again = await fetch(
      `http://${emulator.host}/securetoken.googleapis.com/v1/token?key=${FIREBASE_API_KEY}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token }),
      },
    );
    assert.equal(again.status, 200);
  });

  test('an expired session is renewed by `token` without a prompt', async () => {
    const { home, env } = makeFirebaseHome();
    assert.equal((await login(env, ALICE)).code, 0);
    const session = readSession(home);
    for (const access of Object.values(session.access_tokens)) {
      access.obtained_at = new Date(Date.now() - 7200_000).toISOString();
      access.expires_at = new Date(Date.now() - 3600_000).toISOString();
    }
    writeSession(home, session);
    await new Promise((r) => setTimeout(r, 1100));
    const token = await runCli(['token'], { env: { ...env, KEYFOB_NO_PROMPT: '1' } });
    assert.equal(token.code, 0, token.stderr);
    assert.notEqual(token.stdout.trim(), session.id_token);
    assert.equal(claimsOf(token.stdout.trim()).email, ALICE.email);
    const renewed = Object.values(readSession(home).access_tokens)[0];
    assert.ok(renewed && Date.parse(renewed.expires_at) > Date.now() + 3000_000);
  });

  test('logout removes the session and says Firebase cannot revoke the refresh token', async () => {
    const { home, env } = makeFirebaseHome();
    assert.equal((await login(env, ALICE)).code, 0);
    const out = await runCli(['logout'], { env });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr + out.stdout, /no refresh-token revocation endpoint/);
    assert.deepEqual(
      readdirSync(join(home, 'sessions')).filter((f) => f.endsWith('.json')),
      [],
    );
    const token = await runCli(['token'], { env });
    assert.equal(token.code, 2);
  });

  test('with the emulator variable unset after login, nothing goes to Google: exit 2 naming both places', async () => {
    const { home, env } = makeFirebaseHome();
    assert.equal((await login(env, ALICE)).code, 0);
    const proxy = await refusingProxy();
    try {
      const { FIREBASE_AUTH_EMULATOR_HOST: _unset, ...rest } = env;
      const noEmulator = { ...rest, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
      // An expired ID token: `token` must renew it, and `refresh` renews in any case.
      const session = readSession(home);
      for (const access of Object.values(session.access_tokens)) {
        access.obtained_at = new Date(Date.now() - 7200_000).toISOString();
        access.expires_at = new Date(Date.now() - 3600_000).toISOString();
      }
      writeSession(home, session);
      const before = stored(home);
      for (const args of [['refresh'], ['token']]) {
        const result = await runCli(args, { env: noEmulator });
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, new RegExp(`Auth emulator at ${emulator.host}`));
        assert.match(result.stderr, /Google's servers/);
        assert.match(result.stderr, /keyfob login/);
      }
      assert.deepEqual(proxy.seen, [], 'nothing reached the proxy');
      assert.deepEqual(stored(home), before);

      // The proxy does see what keyfob would send to Google: a login without any emulator.
      const fresh = makeFirebaseHome();
      const { FIREBASE_AUTH_EMULATOR_HOST: _none, ...freshRest } = fresh.env;
      const control = await login({ ...freshRest, HTTPS_PROXY: proxy.url }, ALICE);
      assert.notEqual(control.code, 0);
      assert.deepEqual(proxy.seen, ['CONNECT identitytoolkit.googleapis.com:443']);
    } finally {
      await proxy.close();
    }
  });

  test('check refuses the emulator token (alg none) and fetches nothing from Google', async () => {
    const { env } = makeFirebaseHome();
    assert.equal((await login(env, ALICE)).code, 0);
    const idToken = (await runCli(['token'], { env })).stdout.trim();
    const proxy = await refusingProxy();
    try {
      const proxied = { ...env, HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url };
      const checked = await runCli(['check', '-', '--provider', 'fb'], { env: proxied, input: idToken });
      assert.equal(checked.code, 1, checked.stderr);
      assert.match(checked.stdout + checked.stderr, /alg none/);

      // A signed-looking token claiming the same project is not verified against Google either.
      const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT' })).toString(
        'base64url',
      );
      const forged = `${header}.${idToken.split('.')[1]}.${Buffer.from('sig').toString('base64url')}`;
      const signed = await runCli(['check', '-', '--provider', 'fb'], { env: proxied, input: forged });
      assert.equal(signed.code, 1, signed.stderr);
      assert.match(signed.stdout + signed.stderr, /bound to the Firebase Auth emulator/);
      assert.deepEqual(proxy.seen, []);
    } finally {
      await proxy.close();
    }
  });
  test('a session whose user was disabled after login: refresh exits 2 naming the login', async () => {
    const carolId = await emulator.signUp(CAROL.email, CAROL.password);
    const { home, env } = makeFirebaseHome();
    assert.equal((await login(env, CAROL)).code, 0);
    await emulator.disable(carolId);
    const refreshed = await runCli(['refresh'], { env });
    assert.equal(refreshed.code, 2, refreshed.stderr);
    assert.match(refreshed.stderr, /USER_DISABLED/);
    assert.match(refreshed.stderr, /keyfob login/);
    assert.ok(!refreshed.stderr.includes(readSession(home).refresh_token));
  });

  test('FIREBASE_AUTH_EMULATOR_HOST off loopback is refused before anything is sent', async () => {
    let connections = 0;
    const server = createServer((_req, res) => res.end());
    server.on('connection', () => {
      connections += 1;
    });
    const host = await listen(server);
    try {
      const { home, env } = makeFirebaseHome();
      const before = stored(home);
      // 0.0.0.0 reaches this 127.0.0.1 listener on Linux: a connection would show.
      const port = host.split(':')[1];
      const result = await login({ ...env, FIREBASE_AUTH_EMULATOR_HOST: `0.0.0.0:${port}` }, ALICE);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /FIREBASE_AUTH_EMULATOR_HOST: .*only on loopback/);
      assert.equal(connections, 0);
      assert.deepEqual(stored(home), before);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('library: kf.login with email and password, then kf.fetch sends the ID token as the bearer', async () => {
    const seen: string[] = [];
    const api = createServer((req, res) => {
      seen.push(req.headers.authorization ?? '');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    const apiHost = await listen(api);
    try {
      const home = mkdtempSync(join(tmpdir(), 'keyfob-fb-lib-'));
      const kf = createKeyfob({
        appName: 'acme',
        home,
        environment: {},
        config: {
          providers: {
            fb: {
              type: 'firebase',
              api_key: FIREBASE_API_KEY,
              project_id: FIREBASE_PROJECT,
              emulator_host: emulator.host,
              api_base: `http://${apiHost}`,
            },
          },
        },
      });
      const silent: LoginInteraction = {
        showAuthorizationUrl: () => undefined,
        showDeviceCode: () => undefined,
        openBrowser: async () => false,
        waiting: () => () => undefined,
        notice: () => undefined,
      };
      const result = await kf.login({ provider: 'fb', ...ALICE, interaction: silent });
      assert.equal(result.subject, aliceId);
      const { access_token } = await kf.getToken();
      assert.equal(claimsOf(access_token).email, ALICE.email);
      const res = await kf.fetch(`http://${apiHost}/v1/me`);
      assert.equal(res.status, 200);
      assert.deepEqual(seen, [`Bearer ${access_token}`]);
    } finally {
      await new Promise<void>((resolve) => api.close(() => resolve()));
    }
  });
});
