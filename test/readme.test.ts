/**
 * The README works as written: its config block and its machine-login and fetch lines run
 * unchanged (PORT and 9400 become dev-idp's port) against dev-idp, through bash, with `keyfob`
 * on the PATH as the README says to put it; and "Two commands" is two commands.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { cliEnv, KEYFOB_BIN, passwordTokens, runCli } from './support/cli.js';

const README = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

/** The fenced blocks of `lang` in the README's section `heading`. */
function blocks(heading: string, lang: string): string[] {
  const section = README.split(/^## /m).find((s) => s.startsWith(heading));
  assert.ok(section, `README has a section "${heading}"`);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
}

/** `<home>/bin/keyfob`, the built CLI, as the README says to put it on the PATH; returns the folder. */
function keyfobOnPath(home: string): string {
  const bin = join(home, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'keyfob'), `#!/bin/sh\nexec '${process.execPath}' '${KEYFOB_BIN}' "$@"\n`);
  chmodSync(join(bin, 'keyfob'), 0o755);
  return bin;
}

/** Runs `script` in bash. Not spawnSync: dev-idp answers from this very process. */
function bash(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--norc', '--noprofile', '-c', script], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

describe('the README', () => {
  it('its config and its machine-login and fetch lines work against dev-idp as written', async () => {
    const port = new URL(idp.issuer).port;
    const config = blocks('The CLI', 'yaml').find((b) => b.includes('type: client_credentials'));
    assert.ok(config, 'the CLI section has the config block');
    const byHand = blocks('The CLI', 'sh').find((b) => b.includes('export ROBOT_SECRET='));
    assert.ok(byHand, 'the CLI section has the lines to run by hand');
    const machineLogins = blocks('The CLI', 'sh').flatMap((b) =>
      b.split('\n').filter((l) => / keyfob login \S+ --with-secret/.test(l)),
    );
    assert.equal(new Set(machineLogins).size, 1, `one machine-login line, as run here: ${machineLogins}`);
    const lines = byHand.split('\n');
    const run = [
      lines.find((l) => l.startsWith('export ROBOT_SECRET=')),
      lines.find((l) => / keyfob login \S+ --with-secret/.test(l)),
      lines.find((l) => l.startsWith('keyfob fetch --profile ci ')),
    ];
    assert.ok(run.every(Boolean), `the three lines are there:\n${byHand}`);
    // dev-idp's seeded secret is what the README exports.
    assert.match(run[0] ?? '', new RegExp(`=${idp.clients.machine.client_secret}(\\s|$)`));

    const home = mkdtempSync(join(tmpdir(), 'keyfob-readme-'));
    writeFileSync(join(home, 'config.yaml'), config.replaceAll('PORT', port));
    const bin = keyfobOnPath(home);
    const script = ['set -e', ...run.map((l) => (l ?? '').replaceAll('9400', port))].join('\n');
    const env = { ...cliEnv(home), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    const result = await bash(script, env);
    assert.equal(result.code, 0, `${script}\n${result.stderr}`);
    assert.match(result.stderr, /Logged in to robot .*profile ci/);
    const body = JSON.parse(result.stdout) as { client_id: string; aud: string };
    assert.equal(body.client_id, idp.clients.machine.client_id, 'the API answered the machine token');
  });

  it('its Control planes config and lines work against dev-idp as written', async () => {
    const port = new URL(idp.issuer).port;
    const [config] = blocks('Control planes', 'yaml');
    const [lines] = blocks('Control planes', 'sh');
    assert.ok(config && lines, 'the Control planes section has a config and the lines to run');
    const euPort = new URL(idp.regions['eu-west-1'] ?? '').port;
    const home = mkdtempSync(join(tmpdir(), 'keyfob-readme-'));
    writeFileSync(join(home, 'config.yaml'), config.replaceAll('EU_PORT', euPort).replaceAll('PORT', port));
    const bin = keyfobOnPath(home);
    const script = ['set -e', ...lines.split('\n').filter((l) => l.trim() !== '')].join('\n');
    const env = {
      ...cliEnv(home),
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      PASSWORD: idp.users[0]?.password ?? '',
    };
    const result = await bash(script, env);
    assert.equal(result.code, 0, `${script}\n${result.stderr}`);
    assert.match(result.stderr, /Logged in to cloud .*tenant acme-eu/);
    assert.match(result.stdout, /^\* acme-eu/m);
    assert.match(result.stdout, /"tenant_id":"acme-eu"/);
    assert.match(result.stderr, /Current tenant of profile default: acme-us/);
  });

  it('every provider its commands name is in its config', () => {
    const config = ['The CLI', 'Control planes']
      .flatMap((section) => blocks(section, 'yaml').filter((b) => b.includes('providers:')))
      .join('\n');
    const providers = [...config.matchAll(/^ {2}([a-z][\w-]*):$/gm)].map((m) => m[1]);
    const named = [...README.matchAll(/keyfob login ([a-z][\w-]*) /g)].map((m) => m[1]);
    assert.ok(named.length > 0);
    for (const name of named)
      assert.ok(providers.includes(name), `login ${name}: configured as ${providers}`);
  });

  it('"Two commands" is the setup line and npm start; the tests are named apart', () => {
    const [block] = blocks('Two commands', 'sh');
    const commands = (block ?? '').split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
    assert.equal(commands.length, 2, `${commands}`);
    assert.match(commands[0] ?? '', /^npm ci && npm run build\s/);
    assert.match(commands[1] ?? '', /^npm start\s/);
    assert.match(README, /`npm test` runs/);
  });
  it("its examples table counts each example's auth lines, and every file:line it cites exists", () => {
    const section = README.split(/^### /m).find((s) => s.startsWith('Vendor SDKs re-created in examples/'));
    assert.ok(section, 'the README has the examples table');
    const counts = [...section.matchAll(/^\| `examples\/([\w-]+)` \| [^|]+ \| (\d+) lines \|$/gm)];
    assert.equal(counts.length, 5, 'five examples with their auth lines');
    for (const [, name, lines] of counts) {
      const code = readFileSync(
        fileURLToPath(new URL(`../examples/${name}/src/auth.js`, import.meta.url)),
        'utf8',
      )
        .split('\n')
        .filter((l) => !/^\s*($|\/\/|\/\*\*)/.test(l));
      assert.equal(code.length, Number(lines), `examples/${name}/src/auth.js`);
      assert.ok(code.length <= 40, `examples/${name}: about 40 lines at most`);
    }
    const rows = [...section.matchAll(/^\| .+ \| `examples\/([\w-]+)` \| (.+) \|$/gm)];
    assert.ok(rows.length >= 20, `${rows.length} feature rows`);
    for (const [, name, where] of rows) {
      for (const ref of (where ?? '').matchAll(/`([\w./-]+\.(?:js|yaml))(?::([\d, ;.a-z/-]+))?`/g)) {
        const file = fileURLToPath(new URL(`../examples/${name}/${ref[1]}`, import.meta.url));
        const length = readFileSync(file, 'utf8').split('\n').length;
        for (const n of (ref[2] ?? '').match(/\d+/g) ?? []) {
          assert.ok(Number(n) <= length, `examples/${name}/${ref[1]}:${n} is past its ${length} lines`);
        }
      }
    }
  });

  it('its AuthStore and test keychain block runs as written against dev-idp', async () => {
    const [block] = blocks('The library', 'js').filter((b) => b.includes('createAuthStore'));
    assert.ok(block, 'The library has the AuthStore block');
    const user = idp.users[0];
    assert.ok(user);
    const { access_token, refresh_token } = await passwordTokens(idp, user, 'openid offline_access');
    assert.ok(refresh_token, 'offline_access gives a refresh token');
    const tokens = { access_token, refresh_token };
    // Inside the repository, so that `@keyfob/core` resolves by name as in a project of its own.
    const dir = fileURLToPath(new URL('../.tmp/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const script = join(dir, `readme-authstore-${process.pid}.mjs`);
    writeFileSync(script, block);
    const home = mkdtempSync(join(tmpdir(), 'keyfob-readme-authstore-'));
    const revocations = idp.stats.revocations;
    const result = await runCli([], {
      script,
      nodeArgs: ['--conditions=@keyfob/source', '--import', 'tsx'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        HOME_DIR: home,
        ISSUER: idp.issuer,
        ACCESS_TOKEN: tokens.access_token,
        REFRESH_TOKEN: tokens.refresh_token,
      },
    });
    rmSync(script, { force: true });
    rmSync(home, { recursive: true, force: true });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines[0], 'true');
    assert.match(lines[1] ?? '', /^true \{/);
    assert.match(result.stdout, /service: 'registry'/);
    assert.match(result.stdout, /provider: 'corp'/);
    assert.equal(lines.at(-1), 'true', 'revoked');
    assert.equal(idp.stats.revocations - revocations, 1);
    for (const secret of [tokens.access_token, tokens.refresh_token]) {
      assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'no token printed');
    }
  });
});
