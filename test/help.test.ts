/**
 * Help a person can learn from, run as the real CLI from a fresh home: `keyfob` alone,
 * examples in every command's `--help`, `help COMMAND|environment|exit-codes`, and an
 * integrator's mounted command set with help and completion under its own name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { bashComplete, fixture, run } from './support/help-home.js';

/** DESIGN.md, Files and environment: every variable, by its suffix or whole name. */
const PREFIXED = [
  'TOKEN',
  'TOKEN_FILE',
  'CLIENT_ID',
  'CLIENT_SECRET',
  'PROVIDER',
  'PROFILE',
  'TENANT',
  'CONFIG',
  'HOME',
  'STORAGE',
  'PASSPHRASE',
  'CA_BUNDLE',
  'VERIFY_TLS',
  'NO_PROMPT',
  'DEBUG',
  'ADMIN_API_KEY',
  'FLEET_REDIS',
  'FLEET_KEY',
];
const UNPREFIXED = ['FIREBASE_AUTH_EMULATOR_HOST', 'BROWSER', 'NO_COLOR', 'CI'];

/** Nothing listens there: help and completion never need the issuer. */
const ISSUER = 'http://127.0.0.1:9';

/** The commands `keyfob --help` lists. */
function listedCommands(overview: string): string[] {
  const block = overview.split('Commands:\n')[1]?.split('\n\n')[0] ?? '';
  return block.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '');
}

describe('help', () => {
  it('`keyfob` alone prints the commands and where to learn more, and exits 0', async () => {
    const { env } = fixture(ISSUER);
    const alone = await runCli([], { env });
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stdout, /Usage: keyfob COMMAND/);
    assert.match(alone.stdout, /keyfob help environment/);
    const commands = listedCommands(alone.stdout);
    for (const name of ['login', 'status', 'token', 'help', 'completion', 'dev-idp']) {
      assert.ok(commands.includes(name), `${name} is listed: ${commands}`);
    }
    assert.ok(!commands.includes('__complete'), 'the completion callback is not advertised');
  });

  it('every command has examples in its --help, and `help COMMAND` is `COMMAND --help`', async () => {
    const { env } = fixture(ISSUER);
    const commands = listedCommands((await runCli(['--help'], { env })).stdout);
    assert.ok(commands.length >= 13, `${commands}`);
    for (const name of commands) {
      const viaFlag = await runCli([name, '--help'], { env });
      assert.equal(viaFlag.code, 0, `${name}: ${viaFlag.stderr}`);
      assert.match(viaFlag.stdout, /\nExamples:\n {2}# .+\n {2}\$ .*keyfob /, `${name} --help has examples`);
      const examples = viaFlag.stdout.split('Examples:\n')[1] ?? '';
      assert.match(examples, new RegExp(`\\$ .*keyfob ${name}\\b`), `${name}'s examples run ${name}`);
      if (['login', 'dev-idp', 'completion'].includes(name)) {
        // One dispatch for every command: three of them show it (fewer processes on a busy machine).
        const viaHelp = await runCli(['help', name], { env });
        assert.equal(viaHelp.code, 0, viaHelp.stderr);
        assert.equal(viaHelp.stdout, viaFlag.stdout, `help ${name}`);
      }
    }
  });

  it('`help environment` names every variable; `help exit-codes` every code', async () => {
    const { env } = fixture(ISSUER);
    const environment = await runCli(['help', 'environment'], { env });
    assert.equal(environment.code, 0, environment.stderr);
    for (const suffix of PREFIXED)
      assert.match(environment.stdout, new RegExp(`^ {2}KEYFOB_${suffix} `, 'm'));
    for (const name of UNPREFIXED) assert.match(environment.stdout, new RegExp(`^ {2}${name} `, 'm'));
    const codes = await runCli(['help', 'exit-codes'], { env });
    assert.equal(codes.code, 0, codes.stderr);
    for (const code of ['0', '1', '2', '3'])
      assert.match(codes.stdout, new RegExp(`^ {2}${code} {2}\\S`, 'm'));
    assert.match(codes.stdout, /2 {2}authentication required/);
    const unknown = await runCli(['help', 'nope'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no help topic "nope"; run `keyfob help`/);
  });
});

describe("an integrator's mounted command set", () => {
  it('has help, examples, help topics and bash completion under its own name', async () => {
    const { env } = fixture(ISSUER);
    const alone = await run('acme', ['auth'], env);
    assert.equal(alone.code, 0, alone.stderr);
    assert.match(alone.stdout, /Usage: acme auth COMMAND/);
    const login = await run('acme', ['auth', 'help', 'login'], env);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /\$ acme auth login --device/);
    assert.match(login.stdout, /\| acme auth login --with-token/);
    const environment = await run('acme', ['auth', 'help', 'environment'], env);
    assert.match(environment.stdout, /^ {2}ACME_TOKEN /m);
    for (const text of [alone.stdout, login.stdout, environment.stdout]) {
      assert.doesNotMatch(text, /keyfob(?!-)|KEYFOB/i, 'the word keyfob never shows');
    }
    const script = await run('acme', ['auth', 'completion', 'bash'], env);
    assert.match(script.stdout, /complete -o default -F \S+ acme/);
    const commands = await bashComplete(script.stdout, 'acme auth wh', env);
    assert.deepEqual(commands.reply, ['whoami']);
    const profiles = await bashComplete(script.stdout, 'acme auth token --profile c', env);
    assert.deepEqual(profiles.reply, ['ci']);
    const other = await bashComplete(script.stdout, 'acme deploy ', env);
    assert.deepEqual(other.reply, [], "acme's other commands are left alone");
  });
});
