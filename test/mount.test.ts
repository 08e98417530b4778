/**
 * Mounting (DESIGN.md, Integrators): createAuthCommands takes every createKeyfob option (the
 * vendor's envPrefix and renamed variables reach dispatch, help and messages), renames commands
 * for the vendor's users, and can share the instance the vendor's SDK already made.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createAuthCommands } from '@keyfob/cli';
import { AuthenticationRequired, createKeyfob, InsufficientScope, InvalidInput } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { type CliResult, makeHome, runCli } from './support/cli.js';

const KUMIHO = fileURLToPath(new URL('./fixtures/kumiho.ts', import.meta.url));
let idp: DevIdp;
before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

/** The vendor's CLI (a fixture run through tsx) as its users run it. */
function kumiho(args: string[], env: Record<string, string>, input = ''): Promise<CliResult> {
  return runCli(args, { env, input, script: KUMIHO, nodeArgs: ['--import', 'tsx'] });
}

const PW = [
  '  pw:',
  '    type: password',
  '    issuer: ISSUER',
  '    client_id: CLIENT',
  '    scopes: [openid, profile, email, offline_access]',
].join('\n');

function kumihoHome() {
  const home = makeHome(idp, PW.replace('ISSUER', idp.issuer).replace('CLIENT', idp.clients.cli.client_id));
  const env = { PATH: process.env.PATH ?? '', HOME: home.home, KUMIHO_AUTH_HOME: home.home };
  return { home: home.home, env };
}

describe('createAuthCommands with createKeyfob options and command names', () => {
  it("the vendor's prefix, renamed variables and command names are what its users see", async () => {
    const { env } = kumihoHome();
    const overview = await kumiho(['auth', '--help'], env);
    assert.match(overview.stdout, /\bsignin\b/);
    assert.doesNotMatch(overview.stdout, /^\s+login\b/m);
    const help = await kumiho(['auth', 'signin', '--help'], env);
    assert.match(help.stdout, /Usage: kumiho auth signin/);
    assert.match(help.stdout, /\$ kumiho auth signin/, 'examples use the new name');
    const old = await kumiho(['auth', 'login'], env);
    assert.equal(old.code, 1);
    const environment = await kumiho(['auth', 'help', 'environment'], env);
    assert.match(environment.stdout, /KUMIHO_AUTH_TOKEN/);
    assert.match(environment.stdout, /KSCLI_VERIFY_SSL/);
    assert.match(environment.stdout, /KSCLI_CA_BUNDLE/);
    assert.doesNotMatch(environment.stdout, /KUMIHO_AUTH_VERIFY_TLS|KUMIHO_AUTH_CA_BUNDLE/);
    const missing = await kumiho(['auth', 'token'], env);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /run `kumiho auth signin/);
    const completion = await kumiho(['auth', 'completion', 'bash'], env);
    assert.equal(completion.code, 0, completion.stderr);
    const words = await kumiho(['auth', '__complete', ''], env);
    assert.match(words.stdout, /\bsignin\b/);
    assert.doesNotMatch(words.stdout, /^login$/m);
    for (const out of [overview, help, environment, missing]) {
      assert.doesNotMatch(out.stdout + out.stderr, /keyfob|KEYFOB/);
    }
  });

  it('offers assume-user and service-principal only when a configured provider has a control plane', async () => {
    const { env } = kumihoHome(); // dev-idp's oidc and machine providers, and a password one
    const overview = await kumiho(['auth', '--help'], env);
    assert.match(overview.stdout, /\btenants\b/);
    assert.doesNotMatch(overview.stdout, /assume-user|service-principal/);
    const refused = await kumiho(['auth', 'assume-user', '--tenant-id', 't', '--user-id', 'u'], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /assume-user/);
    const words = await kumiho(['auth', '__complete', ''], env);
    assert.doesNotMatch(words.stdout, /assume-user|service-principal/);

    const withPlane = makeHome(
      idp,
      [
        PW.replace('ISSUER', idp.issuer).replace('CLIENT', idp.clients.cli.client_id),
        '  cloud:',
        '    type: exchange',
        '    login: pw',
        `    control_plane: ${idp.controlPlane}`,
      ].join('\n'),
    );
    const planeEnv = { PATH: process.env.PATH ?? '', HOME: withPlane.home, KUMIHO_AUTH_HOME: withPlane.home };
    const offered = await kumiho(['auth', '--help'], planeEnv);
    assert.match(offered.stdout, /\bassume-user\b/);
    assert.match(offered.stdout, /\bservice-principal\b/);
  });

  it('reads KUMIHO_AUTH_TOKEN (the envPrefix) and a renamed CA bundle', async () => {
    const { env } = kumihoHome();
    const machine = await runCli(['token', '--profile', 'ci'], {
      env: makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n').env,
    });
    const token = machine.stdout.trim();
    const explained = await kumiho(['auth', 'explain'], { ...env, KUMIHO_AUTH_TOKEN: token });
    assert.match(explained.stdout, /Using KUMIHO_AUTH_TOKEN/);
    const unrenamed = await kumiho(['auth', 'explain'], { ...env, KUMIHO_TOKEN: token });
    assert.doesNotMatch(unrenamed.stdout, /Using KUMIHO_TOKEN/);
    const bundle = await kumiho(
      ['auth', 'signin', 'pw', '--email', 'alice@example.com', '--password-stdin'],
      {
        ...env,
        KSCLI_CA_BUNDLE: '/nonexistent/ca.pem',
      },
      'alice-password-1\n',
    );
    assert.equal(bundle.code, 1);
    assert.match(bundle.stderr, /KSCLI_CA_BUNDLE/);
  });

  it("shares the SDK's instance: a signin through the commands is the SDK's session", async () => {
    const { env, home } = kumihoHome();
    const result = await kumiho(
      ['shared', 'signin', 'pw', '--email', 'alice@example.com', '--password-stdin'],
      env,
      'alice-password-1\n',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /sdk sees the session: true/);
    assert.match(result.stderr, /in memory only/);
    const { existsSync, readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const sessions = join(home, 'sessions');
    assert.ok(!existsSync(sessions) || readdirSync(sessions).length === 0);
  });
});

describe("the library's hints under the vendor's command names (createKeyfob({ commandNames }))", () => {
  const config = () => ({
    providers: {
      pw: {
        type: 'password',
        issuer: idp.issuer,
        client_id: idp.clients.cli.client_id,
        scopes: ['openid', 'profile', 'email', 'offline_access'],
      },
    },
  });

  it('getToken names `acme auth signin` and `acme auth renew --scopes`, never login or refresh', async () => {
    const home = mkdtempSync(join(tmpdir(), 'keyfob-names-'));
    const kf = createKeyfob({
      appName: 'acme',
      cliName: 'acme auth',
      commandNames: { login: 'signin', refresh: 'renew' },
      home,
      environment: {},
      config: config(),
    });
    try {
      const missing = await kf.getToken().then(
        () => assert.fail('not logged in'),
        (error: unknown) => error,
      );
      assert.ok(missing instanceof AuthenticationRequired, String(missing));
      assert.match(missing.hint ?? '', /run `acme auth signin`/);
      await kf.importSession({
        profile: 'work',
        provider: 'pw',
        accessToken: 'header.payload.signature',
        expiresIn: 3600,
        scopes: 'openid profile',
      });
      const scope = await kf.getToken({ profile: 'work', scopes: 'registry:write' }).then(
        () => assert.fail('the scope was not granted'),
        (error: unknown) => error,
      );
      assert.ok(scope instanceof InsufficientScope, String(scope));
      assert.match(scope.hint ?? '', /run `acme auth renew --profile work --scopes registry:write`/);
      for (const error of [missing, scope]) {
        assert.doesNotMatch(`${error.message} ${error.hint}`, /acme auth (login|refresh)\b|keyfob/);
      }
      assert.deepEqual(kf.commandNames, { login: 'signin', refresh: 'renew' });
    } finally {
      await kf.close();
    }
  });

  it('refuses an unknown command or a name that is not a command word, naming the key', () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ signin: 'login' }, /commandNames\.signin/],
      [{ login: 'Sign In' }, /commandNames\.login/],
      [{ refresh: '' }, /commandNames\.refresh/],
    ];
    for (const [commandNames, message] of bad) {
      assert.throws(
        () => createKeyfob({ commandNames: commandNames as Record<string, string>, environment: {} }),
        (error: unknown) => error instanceof InvalidInput && message.test(error.message),
        JSON.stringify(commandNames),
      );
    }
  });

  it("createAuthCommands({ keyfob }) takes the instance's names and refuses others", () => {
    const home = mkdtempSync(join(tmpdir(), 'keyfob-names-'));
    const kf = createKeyfob({ appName: 'acme', commandNames: { login: 'signin' }, home, environment: {} });
    const auth = createAuthCommands({ commandPrefix: 'acme auth', keyfob: kf });
    assert.ok(auth.commands.includes('signin'), auth.commands.join(' '));
    assert.ok(!auth.commands.includes('login'));
    assert.throws(
      () => createAuthCommands({ commandPrefix: 'acme auth', keyfob: kf, names: { login: 'enter' } }),
      (error: unknown) => error instanceof InvalidInput && /commandNames/.test(error.message),
    );
    // The same names again are no conflict.
    createAuthCommands({ commandPrefix: 'acme auth', keyfob: kf, names: { login: 'signin' } });
    assert.deepEqual(readdirSync(home), [], 'nothing written');
  });

  it("the vendor's CLI says `kumiho auth refresh --scopes …` for a scope its session lacks", async () => {
    const { env } = kumihoHome();
    const signin = await kumiho(
      ['auth', 'signin', 'pw', '--email', 'alice@example.com', '--password-stdin'],
      env,
      'alice-password-1\n',
    );
    assert.equal(signin.code, 0, signin.stderr);
    const scoped = await kumiho(['auth', 'token', '--scopes', 'registry:write'], env);
    assert.notEqual(scoped.code, 0);
    assert.match(scoped.stderr, /kumiho auth refresh --scopes registry:write/);
    const out = await kumiho(['auth', 'logout'], env);
    assert.equal(out.code, 0, out.stderr);
    const again = await kumiho(['auth', 'token'], env);
    assert.match(again.stderr, /run `kumiho auth signin`/);
    assert.doesNotMatch(scoped.stderr + again.stderr, /auth login\b|keyfob/);
  });
});
