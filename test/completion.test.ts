/**
 * Shell completion that really completes: the bash function run as bash runs it on TAB, fish's
 * `complete -C`, zsh's script loaded and registered; commands, flags, profile and provider
 * names, with nothing sent to the issuer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { bashComplete, fixture, run } from './support/help-home.js';

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

describe('completion', () => {
  it('bash: commands, flags, profile and provider names, with no request to the issuer', async () => {
    const { env } = fixture(issuerUrl);
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
    // A command's own words for its first argument, and nothing after it.
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob agent ', env)).reply, [
      'start',
      'stop',
      'status',
    ]);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob agent sta', env)).reply, ['start', 'status']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob agent start ', env)).reply, []);
    // After flags and their values too.
    assert.deepEqual(
      (await bashComplete(script.stdout, 'keyfob agent --json --config c.yaml s', env)).reply,
      ['start', 'stop', 'status'],
    );
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob service-principal l', env)).reply, ['list']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob fleet ', env)).reply, ['status']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob agent status --j', env)).reply, ['--json']);
    assert.deepEqual((await bashComplete(script.stdout, 'keyfob completion ', env)).reply, [
      'bash',
      'zsh',
      'fish',
    ]);
    assert.equal(requests, seen, 'completing sent nothing to the issuer');
  });

  it('fish completes commands, flags and profiles; zsh loads the script and registers it', async () => {
    const { home, env } = fixture(issuerUrl);
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
