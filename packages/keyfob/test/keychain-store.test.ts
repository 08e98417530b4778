/**
 * The keychain store against a real Secret Service: gnome-keyring-daemon on a private D-Bus
 * session started for this file (test/support/keyring.ts). The bus address is put into this
 * process's environment before the keychain library is first loaded, and handed to every child.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBus, type TestBus } from '../../../test/support/keyring.js';
import { type AppNames, appNames } from '../src/config/names.js';
import { InvalidInput, StoreCorrupt, StoreUnavailable, UnsupportedSchemaVersion } from '../src/errors.js';
import type { Session } from '../src/session.js';
import { randomHex } from '../src/stores/keychain/keyring.js';
import { KEYCHAIN_CHUNK_CHARS, KeychainStore, probeKeychain } from '../src/stores/keychain.js';
import { spawnWithEnv } from './fixtures/env-children.js';
import { keyfobError, modeOf, tempDir } from './fixtures/helpers.js';
import { killWritersAtRandom } from './fixtures/kill-writers.js';
import { storedSession } from './fixtures/sessions.js';

let bus: TestBus;
before(async () => {
  bus = await startBus();
  Object.assign(process.env, bus.env);
});
after(async () => {
  await bus?.close();
});

/** A keychain service of its own per test, so tests never see each other's entries. */
function freshNames(): AppNames {
  return appNames(`kf-${randomHex(5)}`);
}

async function newStore(
  timeoutMs?: number,
): Promise<{ home: string; store: KeychainStore; names: AppNames }> {
  const home = path.join(await tempDir('keyfob-keychain-'), 'home');
  const names = freshNames();
  return { home, names, store: new KeychainStore({ home, names, ...(timeoutMs ? { timeoutMs } : {}) }) };
}

function sampleSession(subject = 'alice', tokenChars = 40): Session {
  return storedSession(subject, {
    refresh: `rt-${'r'.repeat(tokenChars)}`,
    access: `at-${'a'.repeat(tokenChars)}`,
  });
}

/** Every entry of a service: account → secret text. */
async function entries(names: AppNames): Promise<Map<string, string>> {
  const { findCredentialsAsync } = await import('@napi-rs/keyring');
  const found = await findCredentialsAsync(names.keychainService);
  return new Map(found.map((credential) => [credential.account, credential.password]));
}

async function metadataOf(store: KeychainStore, profile: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(store.metadataPath(profile), 'utf8'));
}

describe('KeychainStore on a real Secret Service', () => {
  test('the probe writes, reads back and deletes an entry, and says what answered', async () => {
    const names = freshNames();
    const probe = await probeKeychain(names, { timeoutMs: 5000 });
    assert.deepEqual(probe, { available: true, reason: 'the Secret Service (e.g. gnome-keyring) answered' });
    assert.equal((await entries(names)).size, 0, 'the probe entry is gone');
  });

  test('an 8 KB token round-trips in chunks; metadata is 0600 and holds no secret; a rewrite keeps one generation', async () => {
    const { home, store, names } = await newStore();
    assert.equal(store.kind, 'keychain');
    assert.equal(await store.read('work'), null);
    const big = sampleSession('alice', 8192);
    await store.write('work', big);
    assert.deepEqual(await store.read('work'), big);

    assert.equal(await modeOf(path.join(home, 'keychain')), 0o700);
    assert.equal(await modeOf(store.metadataPath('work')), 0o600);
    const metadataText = await readFile(store.metadataPath('work'), 'utf8');
    assert.doesNotMatch(metadataText, /rrrrrrrr|aaaaaaaa/, 'no token in the metadata file');
    const metadata = JSON.parse(metadataText);
    assert.equal(metadata.schema_version, 1);
    assert.equal(metadata.service, names.keychainService);
    assert.match(metadata.account_prefix, /^work\/[0-9a-f]{16}$/);
    assert.match(metadata.sha256, /^[0-9a-f]{64}$/);

    const first = await entries(names);
    assert.ok(metadata.chunks >= 5, `an 8 KB token needs several entries (got ${metadata.chunks})`);
    assert.deepEqual(
      [...first.keys()].sort(),
      Array.from({ length: metadata.chunks }, (_, i) => `${metadata.account_prefix}/${i}`).sort(),
    );
    for (const secret of first.values()) assert.ok(secret.length <= KEYCHAIN_CHUNK_CHARS);

    await store.write('work', sampleSession('bob', 8192));
    assert.equal((await store.read('work'))?.subject, 'bob');
    const second = await metadataOf(store, 'work');
    assert.notEqual(second.account_prefix, metadata.account_prefix, 'a new generation');
    const accounts = [...(await entries(names)).keys()];
    assert.ok(
      accounts.every((account) => account.startsWith(`${second.account_prefix}/`)),
      `only the committed generation is left: ${accounts.join(', ')}`,
    );
    assert.deepEqual(
      (await readdir(path.join(home, 'keychain'))).sort(),
      ['work.json'],
      'no pending record left',
    );
  });

  test('lists profiles; delete removes the metadata and every entry', async () => {
    const { store, names } = await newStore();
    assert.deepEqual(await store.list(), []);
    await store.write('b', sampleSession('b', 3000));
    await store.write('a', sampleSession('a'));
    assert.deepEqual(await store.list(), ['a', 'b']);
    assert.equal(await store.delete('b'), true);
    assert.equal(await store.delete('b'), false);
    assert.equal(await store.read('b'), null);
    assert.deepEqual(await store.list(), ['a']);
    const left = [...(await entries(names)).keys()];
    assert.ok(left.length > 0 && left.every((account) => account.startsWith('a/')), left.join(', '));
  });

  test('an aborted lock signal commits nothing and leaves no new entries', async () => {
    const { store, names } = await newStore();
    await store.write('work', sampleSession('old', 3000));
    const before = [...(await entries(names)).keys()].sort();
    const controller = new AbortController();
    controller.abort(new Error('lock lost'));
    await assert.rejects(
      store.write('work', sampleSession('new', 3000), { signal: controller.signal }),
      /lock lost/,
    );
    assert.equal((await store.read('work'))?.subject, 'old');
    assert.deepEqual([...(await entries(names)).keys()].sort(), before);
  });

  test('an entry that does not match the digest is never returned: the metadata is moved aside', async () => {
    const { store, names } = await newStore();
    await store.write('other', sampleSession('other-user'));
    await store.write('work', sampleSession('alice', 5000));
    const metadata = await metadataOf(store, 'work');
    const { AsyncEntry } = await import('@napi-rs/keyring');
    // Valid base64url of the same length, different bytes: only the digest can catch it.
    const account = `${metadata.account_prefix}/1`;
    const original = (await entries(names)).get(account)!;
    const tampered = original.slice(0, 10) + (original[10] === 'A' ? 'B' : 'A') + original.slice(11);
    await new AsyncEntry(names.keychainService, account).setSecret(new TextEncoder().encode(tampered));

    let movedTo = '';
    await assert.rejects(store.read('work'), (error: unknown) => {
      assert.ok(error instanceof StoreCorrupt);
      movedTo = error.movedTo;
      assert.match(error.message, /profile "work"/);
      assert.match(error.message, /digest/);
      assert.match(error.message, /keyfob|kf-/);
      assert.ok(error.message.includes(`login --profile work`), 'says what to run');
      assert.doesNotMatch(error.message, /rt-|at-/, 'never echoes a secret');
      return true;
    });
    assert.match(path.basename(movedTo), /^work\.json\.corrupt-\d{8}T\d{6}Z(-\d+)?$/);
    assert.equal(await store.read('work'), null, 'the next read starts clean');
    assert.equal((await store.read('other'))?.subject, 'other-user', 'other profiles are intact');
    await store.write('work', sampleSession('again'));
    assert.equal((await store.read('work'))?.subject, 'again');
  });

  test('missing entries behind unchanged metadata are reported as corrupt, not as "no session"', async () => {
    const { store, names } = await newStore();
    await store.write('work', sampleSession());
    const { AsyncEntry } = await import('@napi-rs/keyring');
    for (const account of (await entries(names)).keys()) {
      await new AsyncEntry(names.keychainService, account).deleteCredential();
    }
    await assert.rejects(store.read('work'), keyfobError(StoreCorrupt, 'entries are missing'));
  });

  test('corrupt metadata is moved aside; a newer schema is refused on read and write and left untouched', async () => {
    const { home, store } = await newStore();
    await store.write('other', sampleSession('other-user'));
    const dir = path.join(home, 'keychain');
    await writeFile(path.join(dir, 'broken.json'), '{"schema_version": 1, "profile": "bro', { mode: 0o600 });
    await assert.rejects(store.read('broken'), keyfobError(StoreCorrupt, 'not valid JSON', 'moved to'));
    assert.equal(await store.read('broken'), null);

    const newer = `${JSON.stringify({ schema_version: 2, profile: 'next', future: true })}\n`;
    await writeFile(path.join(dir, 'next.json'), newer, { mode: 0o600 });
    await assert.rejects(
      store.read('next'),
      keyfobError(UnsupportedSchemaVersion, 'schema_version 2', 'untouched'),
    );
    await assert.rejects(store.write('next', sampleSession()), UnsupportedSchemaVersion);
    assert.equal(await readFile(path.join(dir, 'next.json'), 'utf8'), newer);
    assert.equal((await store.read('other'))?.subject, 'other-user');
  });

  test('refuses hostile profile names and sessions that are not sessions', async () => {
    const { store } = await newStore();
    for (const name of ['../x', '', 'a/b', '..', 'x'.repeat(65)]) {
      await assert.rejects(store.write(name, sampleSession()), InvalidInput);
      await assert.rejects(store.read(name), InvalidInput);
    }
    const broken = { ...sampleSession(), scopes: 'openid' } as unknown as Session;
    await assert.rejects(store.write('work', broken), keyfobError(InvalidInput, 'session.scopes'));
  });

  test('a keychain that stops answering fails within the time limit; the committed session survives', async () => {
    const { store } = await newStore(800);
    await store.write('work', sampleSession('old', 3000));
    bus.pauseKeyring();
    try {
      const started = Date.now();
      await assert.rejects(store.read('work'), StoreUnavailable);
      await assert.rejects(store.write('work', sampleSession('new', 3000)), StoreUnavailable);
      // libdbus bounds each synchronous entry creation at about 2 s; nothing hangs beyond that.
      assert.ok(Date.now() - started < 12_000, `took ${Date.now() - started} ms`);
    } finally {
      bus.resumeKeyring();
    }
    // The abandoned calls finish once the daemon runs again; then the old session is still the one.
    await sleep(500);
    assert.equal((await store.read('work'))?.subject, 'old');
    await store.write('work', sampleSession('after', 3000));
    assert.equal((await store.read('work'))?.subject, 'after');
  });

  test("a keychain busy past D-Bus's reply limit for a moment: the write is asked again and lands", async () => {
    const { store } = await newStore(8000);
    await store.write('work', sampleSession('old', 3000));
    bus.pauseKeyring();
    // libdbus gives up on a message after about 2 s; the daemon answers again after 2.5 s.
    const resume = setTimeout(() => bus.resumeKeyring(), 2500);
    try {
      await store.write('work', sampleSession('new', 3000));
    } finally {
      clearTimeout(resume);
      bus.resumeKeyring();
    }
    assert.equal((await store.read('work'))?.subject, 'new');
  });

  test('20 processes saving different profiles at once lose none', async () => {
    const { home, names } = await newStore();
    const env = { ...process.env, ...bus.env };
    const children = Array.from({ length: 20 }, (_, i) =>
      spawnWithEnv('store-child.ts', ['keychain', home, 'write', `p${i}`, `user-${i}`, '2500'], {
        ...env,
        KF_TEST_APP: names.app,
      }),
    );
    await Promise.all(
      children.map((child) => child.waitFor((out) => out.includes('ready\n'), 'ready', 60_000)),
    );
    for (const child of children) child.child.stdin.write('go\n');
    const results = await Promise.all(children.map((child) => child.exited));
    results.forEach((result, i) => {
      assert.equal(result.code, 0, `child ${i}: ${children[i]!.stderr()}`);
    });
    const store = new KeychainStore({ home, names });
    assert.deepEqual(await store.list(), Array.from({ length: 20 }, (_, i) => `p${i}`).sort());
    for (let i = 0; i < 20; i++) assert.equal((await store.read(`p${i}`))?.subject, `user-${i}`);
  });

  test('a writer killed with SIGKILL at random moments leaves the old or the new version, whole', async () => {
    const { home, names } = await newStore();
    const store = new KeychainStore({ home, names });
    const env = { ...process.env, ...bus.env, KF_TEST_APP: names.app };
    await killWritersAtRandom({ kind: 'keychain', home, store, env, tokenBytes: 6000, jitterMs: 200 });
    // The next write cleans up what the killed writers left: one generation remains.
    await store.write('work', sampleSession('final', 6000));
    const metadata = await metadataOf(store, 'work');
    const accounts = [...(await entries(names)).keys()];
    assert.ok(
      accounts.every((account) => account.startsWith(`${metadata.account_prefix}/`)),
      `garbage left: ${accounts.filter((a) => !a.startsWith(String(metadata.account_prefix))).join(', ')}`,
    );
  });
});
