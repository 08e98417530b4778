import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { InvalidInput, StoreCorrupt, UnsafePath, UnsupportedSchemaVersion } from '../src/errors.js';
import type { Session } from '../src/session.js';
import { FileStore } from '../src/stores/file.js';
import { MemoryStore } from '../src/stores/memory.js';
import { keyfobError, modeOf, tempDir, withUmask } from './fixtures/helpers.js';
import { killWritersAtRandom } from './fixtures/kill-writers.js';
import { storedSession } from './fixtures/sessions.js';

function sampleSession(subject = 'alice'): Session {
  return storedSession(subject, { refresh: 'rt-secret', access: 'at-secret' });
}

async function newHome(): Promise<{ home: string; store: FileStore; sessions: string }> {
  const home = path.join(await tempDir('keyfob-store-'), 'home');
  const store = new FileStore({ home });
  return { home, store, sessions: path.join(home, 'sessions') };
}

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

describe('FileStore', () => {
  test('round-trips a session through <home>/sessions/<profile>.json in a versioned envelope', async () => {
    const { store, sessions } = await newHome();
    assert.equal(store.kind, 'file');
    assert.equal(store.location, sessions);
    assert.equal(await store.read('work'), null);

    await store.write('work', sampleSession());
    assert.deepEqual(await store.read('work'), sampleSession());
    const onDisk = JSON.parse(await readFile(path.join(sessions, 'work.json'), 'utf8'));
    assert.equal(onDisk.schema_version, 1);
    assert.equal(onDisk.profile, 'work');
    assert.deepEqual(onDisk.session, sampleSession());

    await store.write('work', sampleSession('bob'));
    assert.equal((await store.read('work'))?.subject, 'bob', 'a write replaces the session');
  });

  test('creates the home and sessions directories 0700 and session files 0600 under umask 000', async () => {
    const { home, store, sessions } = await newHome();
    await withUmask(0, () => store.write('default', sampleSession()));
    assert.equal(await modeOf(home), 0o700);
    assert.equal(await modeOf(sessions), 0o700);
    assert.equal(await modeOf(path.join(sessions, 'default.json')), 0o600);
  });

  test('lists profiles sorted, ignoring moved-aside, temp and foreign files; delete says whether it removed', async () => {
    const { store, sessions } = await newHome();
    assert.deepEqual(await store.list(), [], 'no directory yet: no profiles');
    await store.write('b', sampleSession());
    await store.write('a', sampleSession());
    await writeFile(path.join(sessions, 'c.json.corrupt-20261123T051800Z'), 'junk');
    await writeFile(path.join(sessions, '.a.json.123.abcdef.tmp'), 'partial');
    await writeFile(path.join(sessions, 'notes.txt'), 'hello');
    assert.deepEqual(await store.list(), ['a', 'b']);

    assert.equal(await store.delete('a'), true);
    assert.equal(await store.delete('a'), false);
    assert.equal(await store.delete('never'), false);
    assert.equal(await store.read('a'), null);
    assert.deepEqual(await store.list(), ['b']);
  });

  test('refuses a symlink planted at a session file on write and read, leaving its target unchanged', async () => {
    const { store, sessions } = await newHome();
    await store.write('other', sampleSession());
    const outside = path.join(await tempDir(), 'outside.txt');
    await writeFile(outside, 'do not touch');
    const planted = path.join(sessions, 'work.json');
    await symlink(outside, planted);

    await assert.rejects(
      store.write('work', sampleSession()),
      keyfobError(UnsafePath, planted, 'symbolic link'),
    );
    await assert.rejects(store.read('work'), keyfobError(UnsafePath, planted, 'symbolic link'));
    assert.equal(await readFile(outside, 'utf8'), 'do not touch');
    assert.equal((await store.read('other'))?.subject, 'alice', 'other profiles are unaffected');
  });

  test('refuses a symlinked sessions directory on write, read and list, writing nothing through it', async () => {
    const { home, store, sessions } = await newHome();
    const outsideDir = path.join(await tempDir(), 'elsewhere');
    await mkdir(outsideDir, { mode: 0o700 });
    await mkdir(home, { mode: 0o700 });
    await symlink(outsideDir, sessions);

    await assert.rejects(store.write('work', sampleSession()), keyfobError(UnsafePath, sessions));
    await assert.rejects(store.read('work'), keyfobError(UnsafePath, sessions));
    await assert.rejects(store.list(), keyfobError(UnsafePath, sessions));
    assert.deepEqual(await readdir(outsideDir), []);
  });

  const corruptions: [string, string | Buffer][] = [
    ['garbage bytes', Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a])],
    [
      'truncated JSON',
      JSON.stringify({ schema_version: 1, profile: 'work', session: sampleSession() }).slice(0, 80),
    ],
    [
      'valid JSON of the wrong shape',
      JSON.stringify({ schema_version: 1, profile: 'work', session: { hello: 1 } }),
    ],
    [
      'a session with a field of the wrong type',
      JSON.stringify({
        schema_version: 1,
        profile: 'work',
        session: { ...sampleSession(), scopes: 'openid' },
      }),
    ],
  ];
  for (const [label, bytes] of corruptions) {
    test(`moves ${label} aside, explains it, keeps the bytes and leaves other profiles readable`, async () => {
      const { store, sessions } = await newHome();
      await store.write('other', sampleSession('other-user'));
      const file = path.join(sessions, 'work.json');
      await writeFile(file, bytes, { mode: 0o600 });

      let movedTo = '';
      await assert.rejects(store.read('work'), (error: unknown) => {
        assert.ok(error instanceof StoreCorrupt);
        movedTo = error.movedTo;
        assert.match(error.message, /profile "work"/);
        assert.ok(error.message.includes(file), 'names the file');
        assert.ok(error.message.includes(`moved to ${movedTo}`), 'says where the data went');
        assert.ok(error.message.includes('keyfob login --profile work'), 'says what to run');
        assert.doesNotMatch(error.message, /rt-secret|at-secret/, 'never echoes stored secrets');
        return true;
      });
      assert.match(path.basename(movedTo), /^work\.json\.corrupt-\d{8}T\d{6}Z(-\d+)?$/);
      assert.deepEqual(await readFile(movedTo), Buffer.from(bytes));
      assert.equal(await store.read('work'), null, 'the next read starts clean');
      assert.equal((await store.read('other'))?.subject, 'other-user');
      assert.deepEqual(await store.list(), ['other']);
    });
  }

  test('a write over a corrupt file moves it aside first instead of overwriting it', async () => {
    const { store, sessions } = await newHome();
    await mkdir(sessions, { recursive: true, mode: 0o700 });
    await writeFile(path.join(sessions, 'work.json'), '{oops');
    await store.write('work', sampleSession());
    const aside = (await readdir(sessions)).filter((name) => name.startsWith('work.json.corrupt-'));
    assert.equal(aside.length, 1);
    assert.equal(await readFile(path.join(sessions, aside[0]!), 'utf8'), '{oops');
    assert.equal((await store.read('work'))?.subject, 'alice');
  });

  test('refuses a file from a newer schema on read and write and leaves it byte-identical', async () => {
    const { store, sessions } = await newHome();
    await mkdir(sessions, { recursive: true, mode: 0o700 });
    const envelopeNewer = `${JSON.stringify({ schema_version: 2, profile: 'work', future: { x: 1 } }, null, 2)}\n`;
    const sessionNewer = JSON.stringify({
      schema_version: 1,
      profile: 'next',
      session: { schema_version: 7 },
    });
    await writeFile(path.join(sessions, 'work.json'), envelopeNewer);
    await writeFile(path.join(sessions, 'next.json'), sessionNewer);

    await assert.rejects(
      store.read('work'),
      keyfobError(UnsupportedSchemaVersion, 'schema_version 2', 'untouched'),
    );
    await assert.rejects(store.write('work', sampleSession()), UnsupportedSchemaVersion);
    await assert.rejects(store.read('next'), keyfobError(UnsupportedSchemaVersion, 'schema_version 7'));
    assert.equal(await readFile(path.join(sessions, 'work.json'), 'utf8'), envelopeNewer);
    assert.equal(await readFile(path.join(sessions, 'next.json'), 'utf8'), sessionNewer);
    assert.deepEqual((await readdir(sessions)).sort(), ['next.json', 'work.json'], 'nothing moved aside');
  });

  test('refuses hostile profile names on every operation and creates nothing on disk', async () => {
    const { home, store } = await newHome();
    for (const name of ['../x', '', 'x'.repeat(65), 'a/b', '..', '.', '../../etc/passwd']) {
      await assert.rejects(store.write(name, sampleSession()), InvalidInput, `write ${JSON.stringify(name)}`);
      await assert.rejects(store.read(name), InvalidInput, `read ${JSON.stringify(name)}`);
      await assert.rejects(store.delete(name), InvalidInput, `delete ${JSON.stringify(name)}`);
    }
    assert.equal(await exists(home), false);
    assert.equal(await exists(path.join(path.dirname(home), 'x.json')), false);
  });

  test('refuses to store something that is not a session', async () => {
    const { home, store } = await newHome();
    const broken = { ...sampleSession(), provider: 42 } as unknown as Session;
    await assert.rejects(store.write('work', broken), keyfobError(InvalidInput, 'session.provider'));
    assert.equal(await exists(home), false);
  });
});

describe('MemoryStore', () => {
  test('keeps sessions by profile and hands out copies that cannot change what is stored', async () => {
    const store = new MemoryStore();
    assert.equal(store.kind, 'memory');
    const original = sampleSession();
    await store.write('work', original);
    original.subject = 'mutated after write';
    original.access_tokens[' openid']!.token = 'mutated';

    const read = await store.read('work');
    assert.deepEqual(read, sampleSession());
    read!.scopes.push('admin');
    assert.deepEqual((await store.read('work'))?.scopes, ['openid', 'offline_access']);

    assert.deepEqual(await store.list(), ['work']);
    assert.equal(await store.delete('work'), true);
    assert.equal(await store.delete('work'), false);
    assert.equal(await store.read('work'), null);
    await assert.rejects(store.write('../x', sampleSession()), InvalidInput);
  });
});

describe('FileStore under SIGKILL', () => {
  test('a writer killed at random moments leaves the old or the new version, whole', async () => {
    const home = await tempDir();
    const store = new FileStore({ home });
    await killWritersAtRandom({
      kind: 'file',
      home,
      store,
      env: process.env,
      tokenBytes: 200000,
      jitterMs: 20,
    });
    assert.deepEqual(await store.list(), ['work']);
    // The killed writers' temp files hold whole sessions: the next write removes them.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await store.write('work', (await store.read('work')) as Session);
    assert.deepEqual(await readdir(path.join(home, 'sessions')), ['work.json']);
  });
});
