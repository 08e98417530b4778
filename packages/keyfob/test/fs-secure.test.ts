import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { InsecurePermissions, InvalidInput, UnsafePath } from '../src/errors.js';
import { ensurePrivateDir, moveAside, readFileNoFollow, writeFileAtomic } from '../src/fs/secure.js';
import { assertProfileName } from '../src/profile-name.js';
import { keyfobError, modeOf, tempDir, withUmask } from './fixtures/helpers.js';

describe('ensurePrivateDir', () => {
  test('creates every missing directory 0700 under umask 000 and leaves existing parents alone', async () => {
    const parent = path.join(await tempDir(), 'parent');
    await mkdir(parent);
    await chmod(parent, 0o755);
    const leaf = path.join(parent, 'a', 'b', 'c');

    await withUmask(0, () => ensurePrivateDir(leaf));

    assert.equal(await modeOf(path.join(parent, 'a')), 0o700);
    assert.equal(await modeOf(path.join(parent, 'a', 'b')), 0o700);
    assert.equal(await modeOf(leaf), 0o700);
    assert.equal(await modeOf(parent), 0o755, 'a directory keyfob did not create keeps its mode');
    await ensurePrivateDir(leaf); // idempotent
  });

  test('refuses a directory that is a symlink, even to a real directory, and creates nothing', async () => {
    const root = await tempDir();
    const outside = path.join(root, 'outside');
    await mkdir(outside);
    await symlink(outside, path.join(root, 'link'));
    await symlink(path.join(root, 'nowhere'), path.join(root, 'dangling'));

    await assert.rejects(ensurePrivateDir(path.join(root, 'link')), keyfobError(UnsafePath, 'symbolic link'));
    await assert.rejects(
      ensurePrivateDir(path.join(root, 'dangling')),
      keyfobError(UnsafePath, 'symbolic link'),
    );
    await assert.rejects(readdir(path.join(root, 'nowhere')), { code: 'ENOENT' });
  });

  test('refuses a world-writable directory', async () => {
    const dir = path.join(await tempDir(), 'open');
    await mkdir(dir);
    await chmod(dir, 0o777);
    await assert.rejects(
      ensurePrivateDir(dir),
      keyfobError(InsecurePermissions, dir, 'writable by every user', 'chmod o-w'),
    );
  });
});

describe('writeFileAtomic', () => {
  test('writes 0600 under umask 000, also when replacing a 0644 file, and leaves no temp file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'secret.json');
    await writeFile(file, 'old', { mode: 0o644 });
    await chmod(file, 0o644);

    await withUmask(0, () => writeFileAtomic(file, 'new', { mode: 0o600 }));
    assert.equal(await readFile(file, 'utf8'), 'new');
    assert.equal(await modeOf(file), 0o600);

    const fresh = path.join(dir, 'fresh.json');
    await withUmask(0, () => writeFileAtomic(fresh, 'data'));
    assert.equal(await modeOf(fresh), 0o600, 'the default mode is 0600');
    assert.deepEqual((await readdir(dir)).sort(), ['fresh.json', 'secret.json']);
  });

  test('refuses a symlink planted at the path and leaves the file it points at unchanged', async () => {
    const dir = await tempDir();
    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'precious');
    const planted = path.join(dir, 'session.json');
    await symlink(victim, planted);

    await assert.rejects(writeFileAtomic(planted, 'attacker data'), keyfobError(UnsafePath, planted));
    assert.equal(await readFile(victim, 'utf8'), 'precious');
    assert.deepEqual((await readdir(dir)).sort(), ['session.json', 'victim.txt']);
  });

  test('writes nothing once its signal is aborted (a lost lock) and cleans its temp file', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'state.json');
    await writeFile(file, 'before');
    const controller = new AbortController();
    controller.abort(new Error('lock lost'));

    await assert.rejects(writeFileAtomic(file, 'after', { signal: controller.signal }), /lock lost/);
    assert.equal(await readFile(file, 'utf8'), 'before');
    assert.deepEqual(await readdir(dir), ['state.json']);
  });
});

describe('readFileNoFollow', () => {
  test('returns null for a missing file and the text of a regular one', async () => {
    const dir = await tempDir();
    assert.equal(await readFileNoFollow(path.join(dir, 'missing.json')), null);
    await writeFile(path.join(dir, 'ok.json'), '{"a":1}');
    assert.equal(await readFileNoFollow(path.join(dir, 'ok.json')), '{"a":1}');
  });

  test('refuses a symlink, a FIFO and a directory instead of reading through them', async () => {
    const dir = await tempDir();
    const victim = path.join(dir, 'victim.txt');
    await writeFile(victim, 'not yours');
    await symlink(victim, path.join(dir, 'link.json'));
    execFileSync('mkfifo', [path.join(dir, 'fifo.json')]);
    await mkdir(path.join(dir, 'dir.json'));

    await assert.rejects(
      readFileNoFollow(path.join(dir, 'link.json')),
      keyfobError(UnsafePath, 'symbolic link'),
    );
    await assert.rejects(
      readFileNoFollow(path.join(dir, 'fifo.json')),
      keyfobError(UnsafePath, 'not a regular file'),
    );
    await assert.rejects(
      readFileNoFollow(path.join(dir, 'dir.json')),
      keyfobError(UnsafePath, 'not a regular file'),
    );
  });
});

describe('moveAside', () => {
  test('renames to .corrupt-<UTC timestamp>, keeps the bytes, and never overwrites an earlier one', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'work.json');
    const now = new Date('2026-11-23T05:18:00.123Z');
    const bytes = Buffer.from([0x7b, 0xff, 0x00, 0x22]);

    await writeFile(file, bytes);
    const first = await moveAside(file, now);
    assert.equal(first, `${file}.corrupt-20261123T051800Z`);
    assert.deepEqual(await readFile(first), bytes);

    await writeFile(file, 'second');
    const second = await moveAside(file, now);
    assert.equal(second, `${file}.corrupt-20261123T051800Z-1`);
    assert.equal(await readFile(second, 'utf8'), 'second');
    assert.deepEqual(await readFile(first), bytes, 'the first moved-aside copy is untouched');
    assert.deepEqual((await readdir(dir)).sort(), [path.basename(first), path.basename(second)]);
  });
});

describe('assertProfileName', () => {
  test('accepts ordinary names and refuses names that could escape a directory', () => {
    for (const name of ['default', 'work.eu-1', 'A_b', 'x'.repeat(64), '.hidden']) assertProfileName(name);
    for (const name of ['../x', '', 'x'.repeat(65), 'a/b', '..', '.', 'a\\b', 'a b', 'é', 'a\0b', 42, null]) {
      assert.throws(() => assertProfileName(name), InvalidInput, `should refuse ${JSON.stringify(name)}`);
    }
  });
});
