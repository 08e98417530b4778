/**
 * keyfob at a real terminal (a pseudo-terminal made by util-linux `script`): the spinner and
 * the provider choice appear only when a person is there.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, startCli } from './support/cli.js';
import { inTerminal } from './support/pty.js';

let idp: DevIdp;
before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  await idp?.close();
});

describe('at a terminal', () => {
  it('shows a spinner while waiting for the device approval; none when piped', async () => {
    const home = makeHome(idp);
    const tty = await inTerminal(['login', '--device'], home.env, { until: /Waiting for the device login/ });
    assert.match(tty.output, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for the device login/);

    const piped = startCli(['login', '--device'], { env: home.env });
    const stderr = await piped.waitForStderr(/code: \S+/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    piped.child.kill('SIGTERM');
    await piped.done;
    assert.doesNotMatch(stderr, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/);
  });

  it('asks which provider when several are configured and none is the default', async () => {
    const home = makeHome(idp);
    const noDefault = { ...home.env, KEYFOB_CONFIG: `${home.home}/config.yaml` };
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(
      `${home.home}/config.yaml`,
      readFileSync(`${home.home}/config.yaml`, 'utf8').replace('default_provider: dev\n', ''),
    );
    const result = await inTerminal(['login'], noDefault, { until: /Choose 1-2: /, answer: '2\r' });
    assert.match(result.output, /1\) dev\s+2\) robot/);
    assert.match(result.output, /Logged in to robot/);
    assert.equal(result.code, 0, result.output);

    const piped = await runCli(['login', '--profile', 'fresh'], { env: noDefault });
    assert.equal(piped.code, 1, 'no person: no question, exit 1 naming the providers');
    assert.match(piped.stderr, /more than one provider is configured: dev, robot/);
  });
});

describe('the encrypted-file passphrase at a terminal', () => {
  it('is asked without echo, creates the key, and unlocks it in a later process', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const env = { ...home.env, KEYFOB_STORAGE: 'encrypted-file' };
    const passphrase = 'correct horse battery';
    // A new passphrase is typed twice; a mismatch is asked again, not taken.
    const login = await inTerminal(['login', 'robot', '--profile', 'ci'], env, [
      { until: /New passphrase for the encrypted token store: /, answer: 'a typo\r' },
      { until: /The same passphrase again: /, answer: `${passphrase}\r` },
      { until: /The two passphrases differ; try again\.[\s\S]*New passphrase/, answer: `${passphrase}\r` },
      { until: /The same passphrase again: /, answer: `${passphrase}\r` },
    ]);
    assert.equal(login.code, 0, login.output);
    assert.match(login.output, /Logged in to robot/);
    assert.ok(!login.output.includes('a typo'), 'the mismatched passphrase is not echoed');
    const token = await inTerminal(['token', '--profile', 'ci'], env, {
      until: /Passphrase for the encrypted token store: /,
      answer: `${passphrase}\r`,
    });
    assert.equal(token.code, 0, token.output);
    assert.match(token.output, /eyJ/);
    for (const run of [login, token])
      assert.ok(!run.output.includes(passphrase), 'the passphrase is not echoed');
    const piped = await runCli(['token', '--profile', 'ci'], { env });
    assert.equal(piped.code, 1, 'no person, no passphrase: a clear error');
    assert.match(piped.stderr, /KEYFOB_PASSPHRASE/);
  });

  it('three mismatched new passphrases end the login with nothing created', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    const env = { ...home.env, KEYFOB_STORAGE: 'encrypted-file' };
    const before = readdirSync(home.home).sort();
    const mismatch = [
      { until: /New passphrase for the encrypted token store: /, answer: 'one\r' },
      { until: /The same passphrase again: /, answer: 'two\r' },
    ];
    const login = await inTerminal(['login', 'robot', '--profile', 'ci'], env, [
      ...mismatch,
      ...mismatch,
      ...mismatch,
    ]);
    assert.equal(login.code, 1, login.output);
    assert.match(login.output, /the two passphrases differed three times; nothing was created/);
    assert.equal(login.output.match(/The two passphrases differ; try again/g)?.length, 2);
    assert.ok(!existsSync(join(home.home, 'identity.age')), 'no identity was created');
    const encrypted = join(home.home, 'encrypted');
    assert.deepEqual(existsSync(encrypted) ? readdirSync(encrypted) : [], [], 'no session was stored');
    assert.deepEqual(
      readdirSync(home.home).filter(
        (name) => !before.includes(name) && !['cache', 'locks', 'encrypted'].includes(name),
      ),
      [],
      'nothing else either',
    );
  });
});
