/**
 * The `keyfob token` fast path answers exactly as the full command would, and steps aside
 * whenever it cannot be sure: a changed variable the config refers to, a corrupt state file, a
 * token to renew, a credential in the environment.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, type TestHome } from './support/cli.js';

let idp: DevIdp;
let home: TestHome;

before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
  // The issuer through a variable, so that a change of the environment matters to the config.
  const file = join(home.home, 'config.yaml');
  writeFileSync(
    file,
    readFileSync(file, 'utf8').replaceAll(`issuer: ${idp.issuer}`, 'issuer: ${TEST_ISSUER}'),
  );
  home.env.TEST_ISSUER = idp.issuer;
  assert.equal((await runCli(['token', '--profile', 'ci'], { env: home.env })).code, 0);
});

after(async () => {
  await idp?.close();
});

describe('the token fast path', () => {
  it('prints what the full command prints, text and JSON', async () => {
    const fast = await runCli(['token', '--profile', 'ci', '--json'], { env: home.env });
    // --config sends the same request through the full command.
    const full = await runCli(
      ['token', '--profile', 'ci', '--json', '--config', join(home.home, 'config.yaml')],
      {
        env: home.env,
      },
    );
    assert.equal(fast.code, 0, fast.stderr);
    assert.equal(full.code, 0, full.stderr);
    assert.deepEqual(JSON.parse(fast.stdout), JSON.parse(full.stdout));
    const plain = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(plain.stdout, `${JSON.parse(fast.stdout).access_token}\n`);
  });

  it('steps aside when a variable the config refers to changed', async () => {
    const broken = await runCli(['token', '--profile', 'ci'], {
      env: { ...home.env, TEST_ISSUER: 'not a url' },
    });
    assert.equal(broken.code, 1, 'the full command validated the config and refused it');
    assert.match(broken.stderr, /providers\.\w+\.issuer/);
    const unset = { ...home.env };
    delete unset.TEST_ISSUER;
    const missing = await runCli(['token', '--profile', 'ci'], { env: unset });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TEST_ISSUER/);
  });

  it('steps aside for a token that is not fresh enough, and the full command renews it', async () => {
    const before = idp.stats.tokenRequests.client_credentials ?? 0;
    const result = await runCli(['token', '--profile', 'ci', '--min-ttl', '999999'], { env: home.env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      (idp.stats.tokenRequests.client_credentials ?? 0) - before,
      0,
      'half its lifetime is left: fresh',
    );
  });

  it('steps aside for a corrupt state file, which the full command moves aside and reports', async () => {
    const local = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    assert.equal((await runCli(['token', '--profile', 'ci'], { env: local.env })).code, 0);
    writeFileSync(join(local.home, 'state.json'), '{ not json');
    const result = await runCli(['token', '--profile', 'ci'], { env: local.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /could not be read .* moved to/);
    assert.ok(readdirSync(local.home).some((n) => n.startsWith('state.json.corrupt-')));
  });

  it('steps aside for a credential in the environment', async () => {
    const result = await runCli(['token', '--json'], {
      env: { ...home.env, KEYFOB_TOKEN: 'opaque-env-token' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).profile, 'KEYFOB_TOKEN');
  });
});
