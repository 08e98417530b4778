import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { emptyState, type KeyfobState, readState, statePath, updateState } from '../src/config/state.js';
import { InvalidInput, UnsupportedSchemaVersion } from '../src/errors.js';
import { stateLockPath } from '../src/lifecycle/lock.js';
import { FileStore } from '../src/stores/file.js';
import { spawnFixture } from './fixtures/children.js';
import { keyfobError, modeOf, tempDir, withUmask } from './fixtures/helpers.js';

async function newHome(): Promise<string> {
  return path.join(await tempDir('keyfob-state-'), 'home');
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

function register(state: KeyfobState, name: string): void {
  const now = '2026-01-02T03:04:05.000Z';
  state.profiles[name] = { provider: 'corp', store: 'file', tenant: null, created_at: now, updated_at: now };
}

describe('the state file', () => {
  test('is empty when missing, and reading it creates nothing', async () => {
    const home = await newHome();
    assert.deepEqual(await readState(home), { state: emptyState(), warning: null });
    assert.equal(await exists(home), false);
  });

  test('updateState writes <home>/state.json 0600 in a 0700 home under umask 000, and returns it', async () => {
    const home = await newHome();
    const result = await withUmask(0, () =>
      updateState(home, (state) => {
        register(state, 'work');
        state.active_profile = 'work';
      }),
    );
    assert.equal(result.warning, null);
    assert.equal(result.state.active_profile, 'work');
    assert.equal(statePath(home), path.join(home, 'state.json'));
    assert.equal(await modeOf(home), 0o700);
    assert.equal(await modeOf(statePath(home)), 0o600);
    assert.deepEqual((await readState(home)).state, result.state);
    assert.equal(await exists(stateLockPath(home)), false, 'the state lock is released');
  });

  test('a corrupt file is moved aside and read as empty, with one warning that says what to run', async () => {
    const home = await newHome();
    await mkdir(home, { mode: 0o700 });
    await writeFile(statePath(home), '{"schema_version": 1, "active_profile": ');

    const { state, warning } = await readState(home);
    assert.deepEqual(state, emptyState());
    assert.ok(warning?.includes(statePath(home)), 'names the file');
    assert.match(warning ?? '', /moved to .*state\.json\.corrupt-\d{8}T\d{6}Z/);
    assert.match(warning ?? '', /keyfob switch PROFILE/);
    const aside = (await readdir(home)).filter((n) => n.startsWith('state.json.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(
      await readFile(path.join(home, aside[0]!), 'utf8'),
      '{"schema_version": 1, "active_profile": ',
    );
    assert.deepEqual(await readState(home), { state: emptyState(), warning: null }, 'warned once');
  });

  test('a file of the wrong shape counts as corrupt too', async () => {
    const home = await newHome();
    await mkdir(home, { mode: 0o700 });
    await writeFile(
      statePath(home),
      JSON.stringify({ schema_version: 1, active_profile: '../x', profiles: {} }),
    );
    const { warning } = await readState(home);
    assert.match(warning ?? '', /active_profile/);
  });

  test('a newer schema is refused by read and update, and the file stays byte-identical', async () => {
    const home = await newHome();
    await mkdir(home, { mode: 0o700 });
    const newer = `${JSON.stringify({ schema_version: 2, whatever: [1, 2, 3] }, null, 2)}\n`;
    await writeFile(statePath(home), newer);

    await assert.rejects(
      readState(home),
      keyfobError(UnsupportedSchemaVersion, 'schema_version 2', 'untouched'),
    );
    let mutated = false;
    await assert.rejects(
      updateState(home, () => {
        mutated = true;
      }),
      UnsupportedSchemaVersion,
    );
    assert.equal(mutated, false);
    assert.equal(await readFile(statePath(home), 'utf8'), newer);
    assert.deepEqual((await readdir(home)).sort(), ['locks', 'state.json']);
  });

  test('a mutation that throws or leaves a malformed state writes nothing and frees the lock', async () => {
    const home = await newHome();
    await updateState(home, (state) => register(state, 'work'));
    const before = await readFile(statePath(home), 'utf8');

    await assert.rejects(
      updateState(home, () => {
        throw new Error('changed my mind');
      }),
      /changed my mind/,
    );
    await assert.rejects(
      updateState(home, (state) => {
        register(state, 'bad/name');
      }),
      keyfobError(InvalidInput, 'bad/name'),
    );
    await assert.rejects(
      updateState(home, (state) => {
        state.active_profile = 42 as unknown as string;
      }),
      keyfobError(InvalidInput, 'active_profile'),
    );
    assert.equal(await readFile(statePath(home), 'utf8'), before);
    const after = await updateState(home, (state) => register(state, 'second'));
    assert.deepEqual(Object.keys(after.state.profiles).sort(), ['second', 'work']);
  });

  test('24 processes logging in to 24 profiles at the same moment all end up stored and registered', async () => {
    const home = await newHome();
    const names = Array.from({ length: 24 }, (_, i) => `p${i}`);
    const children = await withUmask(0, async () =>
      names.map((name) => spawnFixture('register-profile.ts', [home, name])),
    );
    await Promise.all(children.map((c) => c.waitForLine('ready', 90_000)));
    for (const c of children) c.child.stdin.end('go\n');
    await Promise.all(children.map((c) => c.succeeded()));

    const store = new FileStore({ home });
    assert.deepEqual(await store.list(), [...names].sort());
    for (const name of names) assert.equal((await store.read(name))?.subject, `user-${name}`);
    const { state, warning } = await readState(home);
    assert.equal(warning, null);
    assert.deepEqual(Object.keys(state.profiles).sort(), [...names].sort());
    assert.ok(state.active_profile !== null && names.includes(state.active_profile));
    assert.equal(await modeOf(statePath(home)), 0o600, 'children ran under umask 000 too');
    assert.equal(await modeOf(path.join(home, 'sessions')), 0o700);
    assert.equal(await modeOf(path.join(home, 'sessions', 'p0.json')), 0o600);
    const leftovers = (await readdir(home)).filter((n) => n.endsWith('.tmp') || n.includes('corrupt'));
    assert.deepEqual(leftovers, []);
  });
});
