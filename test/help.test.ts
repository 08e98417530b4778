/**
 * Help a person can learn from, run as the real CLI from a fresh home: `keyfob` alone,
 * examples in every command's `--help`, `help COMMAND|environment|exit-codes`, shell completion
 * that really completes in bash and fish (zsh: loaded and registered), and an integrator's
 * mounted command set with all of it under its own name.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliEnv, KEYFOB_BIN, runCli } from './support/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ACME = fileURLToPath(new URL('./fixtures/acme.ts', import.meta.url));

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

/** An issuer that counts requests: completion must send none. */
let requests = 0;
const issuer = createServer((_req, res) => {
  requests += 1;
  res.writeHead(500).end();
});
let issuerUrl = '';
before(async () => {
  await new Promise<void>((resolve) => issuer.listen(0, '127.0.0.1', resolve));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => issuer.close(() => resolve())));

/** A fresh home with two providers and a `ci` profile; and a bin directory holding the CLIs. */
function fixture() {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-help-'));
  const config = [
    'default_provider: dev',
    'providers:',
    '  dev:',
    '    type: oidc',
    `    issuer: ${issuerUrl}`,
    '    client_id: keyfob-cli',
    '  robot:',
    '    type: client_credentials',
    `    issuer: ${issuerUrl}`,
    '    client_id: keyfob-machine',
    '    client_secret: ${ROBOT_SECRET}',
    'profiles:',
    '  ci:',
    '    provider: robot',
    '  staging:',
    '    provider: dev',
    '',
  ].join('\n');
  writeFileSync(join(home, 'config.yaml'), config);
  const bin = join(home, 'bin');
  mkdirSync(bin);
  // What `npm link` puts on the PATH: the completion scripts call the command back by its name.
  writeFileSync(join(bin, 'keyfob'), `#!/bin/sh\nexec '${process.execPath}' '${KEYFOB_BIN}' "$@"\n`);
  writeFileSync(
    join(bin, 'acme'),
    `#!/bin/sh\ncd '${ROOT}' && exec '${process.execPath}' --import tsx '${ACME}' "$@"\n`,
  );
  chmodSync(join(bin, 'keyfob'), 0o755);
  chmodSync(join(bin, 'acme'), 0o755);
  writeFileSync(join(home, 'acme-config.yaml'), config);
  const env = {
    ...cliEnv(home),
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    ACME_HOME: home,
    ACME_CONFIG: join(home, 'acme-config.yaml'),
  };
  return { home, env };
}

function run(command: string, args: string[], env: Record<string, string>, input = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The commands `keyfob --help` lists. */
function listedCommands(overview: string): string[] {
  const block = overview.split('Commands:\n')[1]?.split('\n\n')[0] ?? '';
  return block.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '');
}

describe('help', () => {
  it('`keyfob` alone prints the commands and where to learn more, and exits 0', async () => {
    const { env } = fixture();
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
    const { env } = fixture();
    const commands = listedCommands((await runCli(['--help'], { env })).stdout);
    assert.ok(commands.length >= 13, `${commands}`);
    for (const name of commands) {
      const viaFlag = await runCli([name, '--help'], { env });
      assert.equal(viaFlag.code, 0, `${name}: ${viaFlag.stderr}`);
      assert.match(viaFlag.stdout, /\nExamples:\n {2}# .+\n {2}\$ .*keyfob /, `${name} --help has examples`);
      const examples = viaFlag.stdout.split('Examples:\n')[1] ?? '';
      assert.match(examples, new RegExp(`\\$ .*keyfob ${name}\\b`), `${name}'s examples run ${name}`);
      const viaHelp = await runCli(['help', name], { env });
      assert.equal(viaHelp.code, 0, viaHelp.stderr);
      assert.equal(viaHelp.stdout, viaFlag.stdout, `help ${name}`);
    }
  });

  it('`help environment` names every variable; `help exit-codes` every code', async () => {
    const { env } = fixture();
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

/** Runs the bash completion function as bash does on TAB after `line`. */
async function bashComplete(script: string, line: string, env: Record<string, string>) {
  const program = [
    script,
    'complete -p keyfob acme 2>&1',
    `read -ra COMP_WORDS <<<${JSON.stringify(line)}`,
    `[[ ${JSON.stringify(line)} == *" " ]] && COMP_WORDS+=("")`,
    'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))',
    'fn=$(complete -p "${COMP_WORDS[0]}" | sed -E "s/.* -F ([^ ]+) .*/\\1/")',
    '"$fn"',
    'for r in "${COMPREPLY[@]}"; do printf "reply:%s\\n" "$r"; done',
  ].join('\n');
  const result = await run('bash', ['--norc', '--noprofile', '-c', program], env);
  assert.equal(result.code, 0, result.stderr);
  return {
    registered: result.stdout,
    reply: result.stdout.split('\n').flatMap((l) => (l.startsWith('reply:') ? [l.slice(6)] : [])),
  };
}

describe('completion', () => {
  it('bash: commands, flags, profile and provider names, with no request to the issuer', async () => {
    const { env } = fixture();
    const script = await runCli(['completion', 'bash'], { env });
    assert.equal(script.code, 0, script.stderr);
    const seen = requests;
    const commands = await bashComplete(script.stdout, 'keyfob lo', env);
    assert.match(commands.registered, /complete -o default -F \S+ keyfob/);
    assert.deepEqual(commands.reply, ['login', 'logout']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob login --de', env)).reply, ['--device']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob login ', env)).reply, ['dev', 'robot']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob token --profile ', env)).reply, [
      'ci',
      'staging',
    ]);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob switch s', env)).reply, ['staging']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob help exi', env)).reply, ['exit-codes']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob completion ', env)).reply, [
      'bash',
      'zsh',
      'fish',
    ]);
    assert.equal(requests, seen, 'completing sent nothing to the issuer');
  });

  it('fish completes commands, flags and profiles; zsh loads the script and registers it', async () => {
    const { home, env } = fixture();
    const fish = await runCli(['completion', 'fish'], { env });
    writeFileSync(join(home, 'keyfob.fish'), fish.stdout);
    execFileSync('fish', ['-n', join(home, 'keyfob.fish')]);
    const fished = await run(
      'fish',
      [
        '--no-config',
        '-c',
        `source ${join(home, 'keyfob.fish')}; complete -C 'keyfob lo'; complete -C 'keyfob login --dev'; complete -C 'keyfob token --profile '`,
      ],
      env,
    );
    assert.equal(fished.code, 0, fished.stderr);
    assert.deepEqual(fished.stdout.trim().split('\n'), ['login', 'logout', '--device', 'ci', 'staging']);

    const zsh = await runCli(['completion', 'zsh'], { env });
    writeFileSync(join(home, 'keyfob.zsh'), zsh.stdout);
    execFileSync('zsh', ['-n', join(home, 'keyfob.zsh')]);
    const loaded = await run(
      'zsh',
      [
        '-f',
        '-c',
        `autoload -U compinit && compinit -u -D && source ${join(home, 'keyfob.zsh')} && print -r -- $_comps[keyfob]`,
      ],
      env,
    );
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /^__keyfob_complete$/m);
    const unknown = await runCli(['completion', 'tcsh'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /keyfob completion bash\|zsh\|fish/);
  });
});

describe("an integrator's mounted command set", () => {
  it('has help, examples, help topics and bash completion under its own name', async () => {
    const { env } = fixture();
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
