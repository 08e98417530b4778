/**
 * The encrypted-file store with real age encryption: an identity file (fast, X25519) for most
 * tests, a passphrase (scrypt, seconds) where the passphrase itself is what is tested, and
 * separate processes where "once per process" and "another process" matter.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { generateX25519Identity } from 'age-encryption';
import { appNames } from '../src/config/names.js';
import {
  InvalidInput,
  StoreCorrupt,
  StoreUnavailable,
  UnsafePath,
  UnsupportedSchemaVersion,
} from '../src/errors.js';
import type { Session } from '../src/session.js';
import { EncryptedFileStore, encryptedFileConfigured } from '../src/stores/encrypted-file.js';
import { lastJsonLine, runWithEnv } from './fixtures/env-children.js';
import { keyfobError, modeOf, tempDir, withUmask } from './fixtures/helpers.js';
import { killWritersAtRandom } from './fixtures/kill-writers.js';
import { storedSession } from './fixtures/sessions.js';

const names = appNames();
const REFRESH = 'rt-SECRET-refresh-0123456789';
const ACCESS = 'at-SECRET-access-9876543210';

function sampleSession(subject = 'alice', pad = 0): Session {
  return storedSession(subject, { refresh: REFRESH + 'r'.repeat(pad), access: ACCESS });
}

async function identityFile(dir?: string): Promise<string> {
  const file = path.join(dir ?? (await tempDir('keyfob-age-')), 'key.txt');
  await writeFile(file, `# created: test\n${await generateX25519Identity()}\n`, { mode: 0o600 });
  return file;
}

async function newHome(): Promise<{ root: string; home: string }> {
  const root = await tempDir('keyfob-encrypted-');
  return { root, home: path.join(root, 'home') };
}

/** Environment for a child: no passphrase or identity inherited from the test runner. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.KEYFOB_PASSPHRASE;
  if (!extra.KF_TEST_IDENTITY_FILE) delete env.KF_TEST_IDENTITY_FILE;
  return { ...env, ...extra };
}

describe('EncryptedFileStore with an identity file', () => {
  test('round-trips a session through an armored age file, 0600 in 0700, with no token in clear', async () => {
    const { home } = await newHome();
    const store = new EncryptedFileStore({ home, names, identityFile: await identityFile() });
    assert.equal(store.kind, 'encrypted-file');
    assert.equal(store.location, path.join(home, 'encrypted'));
    assert.equal(await store.read('work'), null);
    await withUmask(0, () => store.write('work', sampleSession('alice', 8000)));
    assert.deepEqual(await store.read('work'), sampleSession('alice', 8000));

    const file = path.join(home, 'encrypted', 'work.age');
    assert.equal(await modeOf(path.join(home, 'encrypted')), 0o700);
    assert.equal(await modeOf(file), 0o600);
    const bytes = await readFile(file);
    const text = bytes.toString('latin1');
    assert.match(text, /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    for (const secret of [REFRESH, ACCESS, 'alice', 'rrrrrrrr', 'refresh_token', 'corp']) {
      assert.ok(!text.includes(secret), `${secret} must not appear in the file`);
      assert.ok(!bytes.includes(Buffer.from(secret, 'utf16le')), `${secret} (UTF-16) must not appear`);
    }
    assert.deepEqual(await readdir(home), ['encrypted'], 'no identity.age with an identity file');

    await store.write('work', sampleSession('bob'));
    assert.equal((await store.read('work'))?.subject, 'bob');
  });

  test('another process with the same identity file reads it; lists and deletes need no key', async () => {
    const { home } = await newHome();
    const key = await identityFile();
    const store = new EncryptedFileStore({ home, names, identityFile: key });
    await store.write('b', sampleSession('bee'));
    await store.write('a', sampleSession('ay'));
    const { stdout } = await runWithEnv(
      'store-child.ts',
      ['encrypted-file', home, 'read', 'b'],
      childEnv({ KF_TEST_IDENTITY_FILE: key }),
    );
    const result = lastJsonLine(stdout) as { ok: boolean; session: Session };
    assert.equal(result.ok, true);
    assert.equal(result.session.subject, 'bee');

    const keyless = new EncryptedFileStore({ home, names, env: {} });
    await writeFile(path.join(home, 'encrypted', 'c.age.corrupt-20260101T000000Z'), 'x');
    assert.deepEqual(await keyless.list(), ['a', 'b']);
    assert.equal(await keyless.delete('a'), true);
    assert.equal(await keyless.delete('a'), false);
    assert.deepEqual(await store.list(), ['b']);
  });

  test('a file encrypted to another identity is an error that names the fix, and is left as it is', async () => {
    const { home } = await newHome();
    const store = new EncryptedFileStore({ home, names, identityFile: await identityFile() });
    await store.write('work', sampleSession());
    const file = path.join(home, 'encrypted', 'work.age');
    const before = await readFile(file);
    const other = new EncryptedFileStore({ home, names, identityFile: await identityFile() });
    await assert.rejects(
      other.read('work'),
      keyfobError(StoreUnavailable, 'another identity', 'login --profile work'),
    );
    assert.deepEqual(await readFile(file), before);
    // Logging in again with the other identity keeps the old bytes beside the new file.
    await other.write('work', sampleSession('new-identity'));
    assert.equal((await other.read('work'))?.subject, 'new-identity');
    const aside = (await readdir(path.join(home, 'encrypted'))).filter((n) =>
      n.startsWith('work.age.corrupt-'),
    );
    assert.equal(aside.length, 1);
    assert.deepEqual(await readFile(path.join(home, 'encrypted', aside[0]!)), before);
  });

  const corruptions: [string, string][] = [
    ['garbage', 'hello, this is not age\n'],
    [
      'a truncated age file',
      '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBh\n-----END AGE ENCRYPTED FILE-----\n',
    ],
  ];
  for (const [label, content] of corruptions) {
    test(`${label} is moved aside with a message; other profiles stay readable`, async () => {
      const { home } = await newHome();
      const store = new EncryptedFileStore({ home, names, identityFile: await identityFile() });
      await store.write('other', sampleSession('other-user'));
      const file = path.join(home, 'encrypted', 'work.age');
      await writeFile(file, content, { mode: 0o600 });
      let movedTo = '';
      await assert.rejects(store.read('work'), (error: unknown) => {
        assert.ok(error instanceof StoreCorrupt);
        movedTo = error.movedTo;
        assert.ok(error.message.includes(file));
        assert.ok(error.message.includes('keyfob login --profile work'));
        return true;
      });
      assert.equal(await readFile(movedTo, 'utf8'), content);
      assert.equal(await store.read('work'), null);
      assert.equal((await store.read('other'))?.subject, 'other-user');
    });
  }

  test('a valid age file with the wrong content is corrupt; a newer schema is refused and left untouched', async () => {
    const { home } = await newHome();
    const key = await identityFile();
    const store = new EncryptedFileStore({ home, names, identityFile: key });
    await store.write('seed', sampleSession());
    const { Encrypter, armor, identityToRecipient } = await import('age-encryption');
    const identity = (await readFile(key, 'utf8')).split('\n')[1]!;
    const seal = async (plaintext: string) => {
      const encrypter = new Encrypter();
      encrypter.addRecipient(await identityToRecipient(identity));
      return armor.encode(await encrypter.encrypt(plaintext));
    };
    const dir = path.join(home, 'encrypted');
    await writeFile(
      path.join(dir, 'shape.age'),
      await seal('{"schema_version":1,"profile":"shape","session":{}}'),
    );
    await assert.rejects(store.read('shape'), keyfobError(StoreCorrupt, 'session.schema_version'));

    const newer = await seal('{"schema_version":3,"profile":"next"}');
    await writeFile(path.join(dir, 'next.age'), newer);
    await assert.rejects(
      store.read('next'),
      keyfobError(UnsupportedSchemaVersion, 'schema_version 3', 'untouched'),
    );
    await assert.rejects(store.write('next', sampleSession()), UnsupportedSchemaVersion);
    assert.equal(await readFile(path.join(dir, 'next.age'), 'utf8'), newer);
  });

  test('refuses a planted symlink, hostile names and a missing identity file', async () => {
    const { root, home } = await newHome();
    const store = new EncryptedFileStore({ home, names, identityFile: await identityFile() });
    await store.write('seed', sampleSession());
    const outside = path.join(root, 'outside.txt');
    await writeFile(outside, 'do not touch');
    await symlink(outside, path.join(home, 'encrypted', 'work.age'));
    await assert.rejects(store.write('work', sampleSession()), UnsafePath);
    await assert.rejects(store.read('work'), UnsafePath);
    assert.equal(await readFile(outside, 'utf8'), 'do not touch');
    for (const name of ['../x', '', 'a/b', '..']) {
      await assert.rejects(store.write(name, sampleSession()), InvalidInput);
    }
    const missing = new EncryptedFileStore({ home, names, identityFile: path.join(root, 'nope.txt') });
    await assert.rejects(missing.read('seed'), keyfobError(StoreUnavailable, 'nope.txt', 'ENOENT'));
    const notAKey = path.join(root, 'not-a-key.txt');
    await writeFile(notAKey, 'AGE-SECRET-KEY-1 but not really\n');
    const bad = new EncryptedFileStore({ home, names, identityFile: notAKey });
    await assert.rejects(bad.write('x', sampleSession()), (error: unknown) => {
      assert.ok(error instanceof StoreUnavailable);
      assert.doesNotMatch(error.message, /but not really/, 'never quotes the file');
      return true;
    });
  });

  test('an aborted lock signal writes nothing', async () => {
    const { home } = await newHome();
    const store = new EncryptedFileStore({ home, names, identityFile: await identityFile() });
    await store.write('work', sampleSession('old'));
    const controller = new AbortController();
    controller.abort(new Error('lock lost'));
    await assert.rejects(
      store.write('work', sampleSession('new'), { signal: controller.signal }),
      /lock lost/,
    );
    assert.equal((await store.read('work'))?.subject, 'old');
  });

  test('a writer killed with SIGKILL at random moments leaves the old or the new version, whole', async () => {
    const { home } = await newHome();
    const key = await identityFile();
    const store = new EncryptedFileStore({ home, names, identityFile: key });
    await killWritersAtRandom({
      kind: 'encrypted-file',
      home,
      store,
      env: childEnv({ KF_TEST_IDENTITY_FILE: key }),
      tokenBytes: 20000,
      jitterMs: 40,
    });
    assert.deepEqual(await store.list(), ['work']);
  });
});

describe('EncryptedFileStore with a passphrase', () => {
  test('needs a passphrase or identity, and says which variable to set', async () => {
    const { home } = await newHome();
    const store = new EncryptedFileStore({ home, names, env: {} });
    await assert.rejects(
      store.write('work', sampleSession()),
      keyfobError(StoreUnavailable, 'KEYFOB_PASSPHRASE'),
    );
    assert.equal(await store.read('work'), null, 'nothing stored: no passphrase needed to say so');
    assert.equal(encryptedFileConfigured({ names, env: {} }), false);
    assert.equal(encryptedFileConfigured({ names, env: { KEYFOB_PASSPHRASE: 'x' } }), true);
    assert.equal(encryptedFileConfigured({ names: appNames('acme'), env: { ACME_PASSPHRASE: 'x' } }), true);
    assert.equal(encryptedFileConfigured({ names, env: {}, identityFile: '/k.txt' }), true);
  });

  test('a wrong passphrase typed at the prompt is asked again; a damaged identity.age is moved aside', async () => {
    const { home } = await newHome();
    // A low work factor keeps this in-process test fast; the cross-process one uses the default.
    const fast = { home, names, env: {}, scryptWorkFactor: 10 } as const;
    await new EncryptedFileStore({ ...fast, passphrase: 'right' }).write('work', sampleSession());
    const answers = ['wrong', 'right'];
    const asked: boolean[] = [];
    const store = new EncryptedFileStore({
      ...fast,
      promptPassphrase: async ({ creating }) => {
        asked.push(creating);
        return answers.shift() ?? 'none left';
      },
    });
    await assert.rejects(store.read('work'), keyfobError(StoreUnavailable, 'passphrase does not unlock'));
    assert.equal((await store.read('work'))?.subject, 'alice');
    assert.deepEqual(asked, [false, false], 'asked twice, as an unlock');

    const files = ['identity.age', 'encrypted/work.age'];
    const bytes = await Promise.all(files.map((file) => readFile(path.join(home, file))));
    const wrong = new EncryptedFileStore({ ...fast, passphrase: 'wrong' });
    await assert.rejects(
      wrong.write('work', sampleSession('intruder')),
      keyfobError(StoreUnavailable, 'passphrase does not unlock'),
    );
    await assert.rejects(wrong.write('fresh', sampleSession('intruder')), StoreUnavailable);
    for (const [i, file] of files.entries()) {
      assert.deepEqual(
        await readFile(path.join(home, file)),
        bytes[i],
        `${file} untouched by a wrong passphrase`,
      );
    }
    assert.deepEqual(await readdir(path.join(home, 'encrypted')), ['work.age'], 'nothing new, nothing aside');

    await writeFile(path.join(home, 'identity.age'), 'not age at all\n');
    const after = new EncryptedFileStore({ ...fast, passphrase: 'right' });
    await assert.rejects(after.read('work'), keyfobError(StoreCorrupt, 'identity.age', 'moved to'));
    assert.equal(
      (await readdir(home)).filter((name) => name.startsWith('identity.age.corrupt-')).length,
      1,
      'the damaged identity is kept aside',
    );
  });

  test('round trip across processes; unlocked once per process; a wrong passphrase is clear and changes nothing', async () => {
    const { home } = await newHome();
    const passphrase = 'correct horse battery staple';
    // First process: creates identity.age (scrypt) and stores the session.
    const prompts: unknown[] = [];
    const creator = new EncryptedFileStore({
      home,
      names,
      env: {},
      promptPassphrase: async (request) => {
        prompts.push(request);
        return passphrase;
      },
    });
    await creator.write('work', sampleSession('alice'));
    await creator.write('second', sampleSession('second'));
    assert.deepEqual(prompts, [{ file: path.join(home, 'identity.age'), creating: true }], 'asked once');
    const identityFileText = await readFile(path.join(home, 'identity.age'), 'utf8');
    assert.match(identityFileText, /^-----BEGIN AGE ENCRYPTED FILE-----/);
    assert.doesNotMatch(identityFileText, /AGE-SECRET-KEY/);
    assert.equal(await modeOf(path.join(home, 'identity.age')), 0o600);
    const before = new Map<string, Buffer>();
    for (const file of ['identity.age', 'encrypted/work.age', 'encrypted/second.age']) {
      before.set(file, await readFile(path.join(home, file)));
    }
    const mtimeBefore = (await stat(path.join(home, 'identity.age'))).mtimeMs;

    // Two more processes at once: the right passphrase (from the variable), and a wrong one.
    const right = runWithEnv(
      'passphrase-child.ts',
      [home, 'work', 'second'],
      childEnv({ KEYFOB_PASSPHRASE: passphrase }),
    );
    const wrong = runWithEnv('passphrase-child.ts', [home, 'work'], childEnv({ KEYFOB_PASSPHRASE: 'wrong' }));
    const [rightOut, wrongOut] = await Promise.all([right, wrong]);
    const good = lastJsonLine(rightOut.stdout) as {
      ok: boolean;
      subjects: string[];
      firstMs: number;
      laterMs: number;
    };
    assert.equal(good.ok, true, rightOut.stdout);
    assert.deepEqual(good.subjects, ['alice', 'second']);
    assert.ok(good.firstMs > 300, `the first read pays for scrypt (${good.firstMs} ms)`);
    assert.ok(
      good.laterMs < good.firstMs / 4,
      `later reads do not (${good.laterMs} ms vs ${good.firstMs} ms)`,
    );

    const bad = lastJsonLine(wrongOut.stdout) as {
      ok: boolean;
      code: string;
      message: string;
    };
    assert.equal(bad.ok, false);
    assert.equal(bad.code, 'STORE_UNAVAILABLE');
    assert.match(bad.message, /passphrase does not unlock .*identity\.age/);
    assert.match(bad.message, /KEYFOB_PASSPHRASE/);
    assert.doesNotMatch(bad.message, /wrong|SECRET/);
    for (const [file, bytes] of before) {
      assert.deepEqual(await readFile(path.join(home, file)), bytes, `${file} untouched`);
    }
    assert.equal((await stat(path.join(home, 'identity.age'))).mtimeMs, mtimeBefore);
    assert.deepEqual((await readdir(path.join(home, 'encrypted'))).sort(), ['second.age', 'work.age']);
    assert.equal(
      (await readdir(home)).filter((name) => name.includes('corrupt')).length,
      0,
      'a wrong passphrase never moves anything aside',
    );
  });
});
