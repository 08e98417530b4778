/**
 * A corrupt session of a profile that is not active (DESIGN.md, Stores: corrupt data is moved
 * aside and the user is told once what happened and what to run). Whichever command meets the
 * corrupt file first moves it; `status` then names it, where it went and the login to run, once;
 * `token --profile P` says the same instead of a bare "not logged in".
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';

describe('a corrupt session of a profile that is not active', () => {
  let idp: DevIdp;
  let home: TestHome;
  before(async () => {
    idp = await startDevIdp();
    home = makeHome(idp);
    assert.equal((await loginWithDevice(idp, home, ['--profile', 'work'])).code, 0);
    assert.equal((await loginWithDevice(idp, home, ['--profile', 'default'])).code, 0);
  });
  after(() => idp.close());

  for (const firstReader of ['status', 'token --profile work'] as const) {
    it(`is told once by status, with where it went and what to run (first met by ${firstReader})`, async () => {
      const sessions = join(home.home, 'sessions');
      if (firstReader === 'status') {
        writeFileSync(join(sessions, 'work.json'), '{not json', { mode: 0o600 });
      } else {
        // Another command meets it first; status must still tell, once.
        writeFileSync(join(sessions, 'work.json'), '{still not json', { mode: 0o600 });
        const silent = await runCli(['token', '--profile', 'work'], { env: home.env });
        assert.notEqual(silent.code, 0);
      }
      const moved = () => readdirSync(sessions).filter((f) => f.startsWith('work.json.corrupt-'));
      const status = await runCli(['status'], { env: home.env });
      assert.equal(status.code, 0, status.stderr);
      const movedNow = moved();
      assert.ok(movedNow.length >= 1, 'the corrupt file was moved aside');
      const newest = join(sessions, movedNow.sort().at(-1) as string);
      const told = `${status.stdout}${status.stderr}`;
      assert.match(told, /stored session of profile "work"/);
      assert.ok(told.includes(newest), `names where it went:\n${told}`);
      assert.match(told, /run `keyfob login --profile work`/);

      const again = await runCli(['status'], { env: home.env });
      assert.ok(!`${again.stdout}${again.stderr}`.includes('corrupt-'), 'not told twice');

      const token = await runCli(['token', '--profile', 'work'], { env: home.env });
      assert.equal(token.code, 2, token.stderr);
      assert.ok(token.stderr.includes(newest), token.stderr);
      assert.match(token.stderr, /run `keyfob login --profile work`/);
      // The active profile is untouched by it.
      assert.equal((await runCli(['token'], { env: home.env })).code, 0);
      // A new login of work forgets the move.
      assert.equal((await loginWithDevice(idp, home, ['--profile', 'work'])).code, 0);
      assert.ok(!readFileSync(join(home.home, 'moved-aside.json'), 'utf8').includes('"work"'));
      assert.equal((await runCli(['switch', 'default'], { env: home.env })).code, 0);
    });
  }
});
