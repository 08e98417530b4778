import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidInput, LockTimeout } from '../src/errors.js';
import { writeFileAtomic } from '../src/fs/secure.js';
import { profileLockPath, stateLockPath, withLock } from '../src/lifecycle/lock.js';
import { spawnFixture } from './fixtures/children.js';
import { keyfobError, modeOf, tempDir, withUmask } from './fixtures/helpers.js';

async function exists(target: string): Promise<boolean> {
  return stat(target).then(
    () => true,
    () => false,
  );
}

describe('lock paths', () => {
  test('one lock per profile under <home>/locks, and a state lock no profile name can collide with', async () => {
    assert.equal(profileLockPath('/h', 'work'), path.join('/h', 'locks', 'work.lock'));
    assert.equal(stateLockPath('/h'), path.join('/h', 'locks', '@state.lock'));
    assert.notEqual(stateLockPath('/h'), profileLockPath('/h', 'state'));
    for (const name of ['../x', '', 'x'.repeat(65), 'a/b', '..']) {
      assert.throws(() => profileLockPath('/h', name), InvalidInput);
    }
  });

  test('creates the locks directory 0700 under umask 000 and removes the lock afterwards', async () => {
    const home = path.join(await tempDir(), 'home');
    const lockPath = profileLockPath(home, 'default');
    const result = await withUmask(0, () => withLock(lockPath, async () => exists(lockPath)));
    assert.equal(result, true, 'the lock exists while the function runs');
    assert.equal(await modeOf(path.join(home, 'locks')), 0o700);
    assert.equal(await exists(lockPath), false, 'the lock is released afterwards');
  });
});

describe('withLock in one process', () => {
  test('serializes concurrent calls on the same path, and a failing call does not block the next', async () => {
    const lockPath = path.join(await tempDir(), 'p.lock');
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    const calls = Array.from({ length: 8 }, (_, i) =>
      withLock(lockPath, async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(5);
        order.push(i);
        active--;
        if (i === 3) throw new Error('boom');
        return i;
      }),
    );
    const results = await Promise.allSettled(calls);

    assert.equal(maxActive, 1, 'never two holders at once');
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7], 'callers are served in arrival order');
    assert.equal(results[3]?.status, 'rejected');
    assert.deepEqual(
      results.filter((r) => r.status === 'fulfilled').map((r) => r.value),
      [0, 1, 2, 4, 5, 6, 7],
    );
    assert.equal(await exists(lockPath), false);
  });

  test('different paths do not wait for each other', async () => {
    const dir = await tempDir();
    let release!: () => void;
    const blocker = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = withLock(path.join(dir, 'a.lock'), () => blocker);
    const second = await withLock(path.join(dir, 'b.lock'), () => 'done', { timeoutMs: 2000 });
    assert.equal(second, 'done');
    release();
    await first;
  });
});

describe('withLock across processes', () => {
  test('two processes doing read-increment-write 50 times each end at exactly 100', async () => {
    const dir = await tempDir();
    const lockPath = path.join(dir, 'counter.lock');
    const counter = path.join(dir, 'counter');
    await writeFile(counter, '0\n');
    const children = [0, 1].map(() => spawnFixture('lock-counter.ts', [lockPath, counter, '50']));
    await Promise.all(children.map((c) => c.waitForLine('ready')));
    for (const c of children) c.child.stdin.end('go\n');
    await Promise.all(children.map((c) => c.succeeded()));

    assert.equal((await readFile(counter, 'utf8')).trim(), '100');
    assert.equal(await exists(lockPath), false);
  });

  test('a lock left by a crashed process is taken over once it is stale', async () => {
    const lockPath = path.join(await tempDir(), 'crashed.lock');
    const holder = spawnFixture('hold-lock.ts', [lockPath]);
    await holder.waitForLine('held');
    holder.child.kill('SIGKILL');
    await holder.exited;
    assert.equal(await exists(lockPath), true, 'SIGKILL leaves the lock behind');

    const longAgo = new Date(Date.now() - 120_000);
    await utimes(lockPath, longAgo, longAgo);
    const started = Date.now();
    assert.equal(await withLock(lockPath, () => 'recovered', { timeoutMs: 5000 }), 'recovered');
    assert.ok(Date.now() - started < 2000, 'a stale lock is taken over at once, not after the timeout');
  });

  test('eight processes finding one stale lock: one takes it over, and they never hold it together', async () => {
    // proper-lockfile's own takeover (stat, then rmdir) let a waiter that saw the lock stale
    // remove the fresh lock another had just taken: two holders, one refresh token spent twice.
    const dir = await tempDir();
    const lockPath = path.join(dir, 'crashed.lock');
    const counter = path.join(dir, 'counter');
    await writeFile(counter, '0\n');
    await mkdir(lockPath);
    const longAgo = new Date(Date.now() - 120_000);
    await utimes(lockPath, longAgo, longAgo);
    const children = Array.from({ length: 8 }, () =>
      spawnFixture('lock-counter.ts', [lockPath, counter, '1', '300']),
    );
    await Promise.all(children.map((c) => c.waitForLine('ready')));
    for (const c of children) c.child.stdin.end('go\n');
    await Promise.all(children.map((c) => c.succeeded()));
    assert.equal((await readFile(counter, 'utf8')).trim(), '8', 'no two held the lock at once');
    assert.equal(await exists(lockPath), false);
    assert.equal(await exists(`${lockPath}.takeover`), false, 'the takeover guard is gone too');
  });

  test('a lock held past the timeout gives LockTimeout naming the lock and what to do', async () => {
    const lockPath = path.join(await tempDir(), 'busy.lock');
    const holder = spawnFixture('hold-lock.ts', [lockPath]);
    await holder.waitForLine('held');
    let ran = false;
    const started = Date.now();

    await assert.rejects(
      withLock(
        lockPath,
        () => {
          ran = true;
        },
        { timeoutMs: 1200 },
      ),
      keyfobError(LockTimeout, /Timed out after 1\.2 s/, lockPath, 'another process', /run this one again/),
    );
    const waited = Date.now() - started;
    assert.equal(ran, false);
    assert.ok(waited >= 1100 && waited < 4000, `waited ${waited} ms`);

    holder.child.stdin.end('release\n');
    await holder.succeeded();
    assert.equal(
      await withLock(lockPath, () => 'free', { timeoutMs: 2000 }),
      'free',
      'released by its holder',
    );
  });
});

describe('a lost lock', () => {
  test('aborts the guarded write instead of letting it land', async () => {
    const dir = await tempDir();
    const lockPath = path.join(dir, 'lost.lock');
    const target = path.join(dir, 'session.json');
    await writeFile(target, 'old');
    let writeError: unknown;

    await assert.rejects(
      withLock(
        lockPath,
        async (lock) => {
          // Another process judged the lock stale and took it over.
          await rm(lockPath, { recursive: true });
          // The holder notices at its next update (1 s); the timer keeps the loop alive until then.
          const guard = new AbortController();
          await Promise.race([
            new Promise((resolve) => lock.signal.addEventListener('abort', resolve, { once: true })),
            sleep(5000, undefined, { signal: guard.signal }),
          ]).finally(() => guard.abort());
          assert.throws(() => lock.assertHeld(), LockTimeout);
          writeError = await writeFileAtomic(target, 'new', { signal: lock.signal }).catch((e: unknown) => e);
        },
        { staleMs: 2000, updateMs: 1000 },
      ),
      keyfobError(LockTimeout, 'Lost the lock', lockPath),
    );
    assert.ok(writeError instanceof LockTimeout, 'the write threw');
    assert.equal(await readFile(target, 'utf8'), 'old', 'nothing was written');
  });
});
