/**
 * Mounting (DESIGN.md, Integrators): createAuthCommands takes every createKeyfob option (the
 * vendor's envPrefix and renamed variables reach dispatch, help and messages), renames commands
 * for the vendor's users, and can share the instance the vendor's SDK already made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
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
