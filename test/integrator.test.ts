/**
 * An integrator's CLI (`acme auth …`, built with createAuthCommands) and stdin-only secrets:
 * its users see acme's name, home and variables, never keyfob's; `--with-token` and
 * `--with-secret` read from stdin and the value is in no process's argv.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { type CliResult, makeHome, runCli } from './support/cli.js';

const ACME = fileURLToPath(new URL('./fixtures/acme.ts', import.meta.url));
let idp: DevIdp;

before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

/** The vendor's CLI (a fixture run through tsx) as its users run it. */
function acme(args: string[], env: Record<string, string>, input = ''): Promise<CliResult> {
  return runCli(args, { env, input, script: ACME, nodeArgs: ['--import', 'tsx'] });
}

describe("an integrator's CLI", () => {
  it('uses its own name, home and environment prefix everywhere', async () => {
    const home = mkdtempSync(join(tmpdir(), 'acme-home-'));
    writeFileSync(
      join(home, 'config.yaml'),
      [
        'providers:',
        '  robot:',
        '    type: client_credentials',
        `    issuer: ${idp.issuer}`,
        `    client_id: ${idp.clients.machine.client_id}`,
        '    client_secret: ${ACME_ROBOT_SECRET}',
        `    api_base: ${idp.api}`,
        'profiles:',
        '  default:',
        '    provider: robot',
        '',
      ].join('\n'),
    );
    const env = { PATH: process.env.PATH ?? '', HOME: home, ACME_HOME: home };
    const help = await acme(['auth', 'token', '--help'], env);
    assert.match(help.stdout, /Usage: acme auth token/);
    const missing = await acme(['auth', 'token'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^acme: .*ACME_ROBOT_SECRET/m);
    const token = await acme(['auth', 'token'], {
      ...env,
      ACME_ROBOT_SECRET: idp.clients.machine.client_secret,
    });
    assert.equal(token.code, 0, token.stderr);
    assert.ok(existsSync(join(home, 'sessions', 'default.json')), 'files live in ACME_HOME');
    const viaEnv = await acme(['auth', 'explain'], { ...env, ACME_TOKEN: token.stdout.trim() });
    assert.match(viaEnv.stdout, /Using ACME_TOKEN/);
    const notLoggedIn = await acme(['auth', 'token', '--profile', 'other'], env);
    assert.match(notLoggedIn.stderr, /run `acme auth login --profile other`/);
    for (const out of [help, missing, token, viaEnv, notLoggedIn]) {
      assert.doesNotMatch(out.stdout + out.stderr, /keyfob/i, 'the word keyfob never shows');
    }
  });
});

describe('secrets on stdin only', () => {
  it('--with-token stores a token read from stdin; it is in no argv, and is served by token', async () => {
    const home = makeHome(idp);
    const machine = await runCli(['token', '--profile', 'ci'], {
      env: { ...makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n').env },
    });
    const secretToken = machine.stdout.trim();
    assert.ok(secretToken.length > 20);
    const seen: string[] = [];
    const sampler = setInterval(() => {
      try {
        seen.push(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }));
      } catch {
        // ignore a failed sample
      }
    }, 20);
    const login = await runCli(['login', '--with-token'], { env: home.env, input: `${secretToken}\n` });
    clearInterval(sampler);
    assert.equal(login.code, 0, login.stderr);
    assert.ok(!login.stderr.includes(secretToken) && !login.stdout.includes(secretToken));
    assert.ok(seen.length > 0 && seen.every((snapshot) => !snapshot.includes(secretToken)), 'never in argv');
    const token = await runCli(['token'], { env: home.env });
    assert.equal(token.stdout.trim(), secretToken);
    const api = await runCli(['fetch', `${idp.api}/hello`], { env: home.env });
    assert.equal(api.code, 0, api.stderr);
  });

  it('--with-secret stores a machine secret read from stdin, then token needs no environment', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const env = { PATH: home.env.PATH as string, HOME: home.home, KEYFOB_HOME: home.home };
    const login = await runCli(['login', 'robot', '--profile', 'ci', '--with-secret'], {
      env,
      input: `${idp.clients.machine.client_secret}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    const token = await runCli(['token', '--profile', 'ci', '--min-ttl', '999999'], { env });
    assert.equal(token.code, 0, token.stderr);
    const refreshed = await runCli(['refresh', '--profile', 'ci'], { env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
  });

  it('refuses an empty, multi-line or oversized stdin without writing anything', async () => {
    const home = makeHome(idp);
    for (const input of ['', '\n', 'a\nb\n', 'x'.repeat(70 * 1024)]) {
      const result = await runCli(['login', '--with-token'], { env: home.env, input });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    }
    assert.ok(
      !existsSync(join(home.home, 'sessions')) || readdirSync(join(home.home, 'sessions')).length === 0,
    );
  });
});
