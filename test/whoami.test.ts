/**
 * `keyfob whoami` for a person (userinfo after a device login) and for a machine (the client
 * credentials token's claims): JSON when piped or with --json, a key/value table at a terminal,
 * without colour codes under NO_COLOR.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { inTerminal } from './support/pty.js';

let idp: DevIdp;
let home: TestHome;

before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
  assert.equal((await loginWithDevice(idp, home)).code, 0);
});
after(async () => {
  await idp?.close();
});

describe('keyfob whoami', () => {
  it("a person: the provider's userinfo, as JSON when piped", async () => {
    const user = idp.users[0];
    const piped = await runCli(['whoami'], { env: home.env });
    assert.equal(piped.code, 0, piped.stderr);
    const claims = JSON.parse(piped.stdout);
    assert.equal(claims.sub, user?.sub);
    assert.equal(claims.email, user?.email);
    const json = await runCli(['whoami', '--json'], { env: home.env });
    assert.deepEqual(JSON.parse(json.stdout), claims);
  });

  it('a machine: the client id (and what its token says) without any login', async () => {
    const result = await runCli(['whoami', '--profile', 'ci', '--json'], { env: home.env });
    assert.equal(result.code, 0, result.stderr);
    const claims = JSON.parse(result.stdout);
    assert.equal(claims.client_id, idp.clients.machine.client_id);
    assert.equal(claims.iss, idp.issuer);
  });

  it('at a terminal: a key/value table, times readable; colour only without NO_COLOR', async () => {
    const plain = await inTerminal(['whoami', '--profile', 'ci'], { ...home.env, NO_COLOR: '1' });
    assert.equal(plain.code, 0, plain.output);
    assert.match(plain.output, /client_id\s+keyfob-machine|client_id\s+\S+/);
    assert.match(plain.output, /exp\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+\)/);
    assert.ok(!plain.output.includes('\u001b['), 'no escape codes with NO_COLOR');
    assert.doesNotMatch(plain.output, /^\{/m, 'not JSON');
    const coloured = await inTerminal(['whoami', '--profile', 'ci'], home.env);
    assert.equal(coloured.code, 0, coloured.output);
    assert.ok(coloured.output.includes('\u001b[1m'), 'keys in bold at a terminal');
  });

  it('a profile nothing knows: PROFILE_NOT_FOUND (exit 1) naming the login, nothing on stdout', async () => {
    const result = await runCli(['whoami', '--profile', 'nobody'], { env: home.env });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /there is no profile nobody/);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /keyfob login --profile nobody/);
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });
});
