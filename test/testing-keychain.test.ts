/**
 * `@keyfob/core/testing`: keyfob's real keychain store on an in-memory keychain, as a tool
 * author's tests use it (`createKeyfob({ store: createTestKeychainStore(...) })`). A login,
 * refresh and logout against dev-idp go through it end to end; the store's own protocol
 * (generations, the metadata commit, recovery, corrupt data moved aside) is observed through the
 * keychain's entries and the metadata directory, with the failures an OS keychain can show.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAuthStore, createKeyfob, type Keyfob, StoreCorrupt, StoreUnavailable } from '@keyfob/core';
import { createTestKeychain, createTestKeychainStore, type TestKeychain } from '@keyfob/core/testing';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, robotApproving, type TestHome } from './support/cli.js';

let idp: DevIdp;
const homes: TestHome[] = [];
const instances: Keyfob[] = [];

before(async () => {
  idp = await startDevIdp();
});
after(async () => {
  for (const kf of instances) await kf.close();
  await idp?.close();
  for (const home of homes) rmSync(home.home, { recursive: true, force: true });
});

/** A keyfob on the test keychain in a fresh dev-idp home; `again()` is a later process on the same keychain. */
function setup(keychain: TestKeychain = createTestKeychain()) {
  const home = makeHome(idp);
  homes.push(home);
  const make = () => {
    const kf = createKeyfob({
      environment: home.env,
      store: createTestKeychainStore({ home: home.home, keychain }),
    });
    instances.push(kf);
    return kf;
  };
  const kf = make();
  return { kf, keychain, home, again: make, metadataDir: join(home.home, 'keychain') };
}

/** The generations (account prefixes) whose entries the keychain holds. */
function generations(keychain: TestKeychain): string[] {
  return [...new Set(keychain.entries().map((e) => e.account.replace(/\/\d+$/, '')))].sort();
}

const tokenOf = (label: string) => `${label}-${'x'.repeat(40)}`;

describe('@keyfob/core/testing: the keychain store on an in-memory keychain', () => {
  it('a device login, a refresh and a logout against dev-idp go through it like the OS keychain', async () => {
    const { kf, keychain, home, again, metadataDir } = setup();
    const login = await kf.login({ flow: 'device', interaction: robotApproving(idp), persist: true });
    assert.equal(login.store, 'keychain');
    const status = await kf.status();
    assert.equal(status.profiles.find((p) => p.name === 'default')?.store, 'keychain');
    assert.equal(generations(keychain).length, 1, 'the session is in the keychain, one generation');
    assert.ok(keychain.entries().every((e) => e.bytes <= 2560));

    const first = await kf.getToken();
    const metadata = readFileSync(join(metadataDir, 'default.json'), 'utf8');
    assert.ok(!metadata.includes(first.access_token), 'no secret in the metadata file');
    for (const [path, text] of Object.entries(filesUnderText(home.home))) {
      assert.ok(!text.includes(first.access_token), `no token in ${path}`);
    }
    const refreshes = idp.stats.refreshRequests;
    const before = generations(keychain);
    const renewed = await again().getToken({ forceRefresh: true });
    assert.notEqual(renewed.access_token, first.access_token);
    assert.equal(idp.stats.refreshRequests - refreshes, 1);
    const after = generations(keychain);
    assert.equal(after.length, 1, 'the replaced generation was deleted after the commit');
    assert.notDeepEqual(after, before, 'a refresh writes a new generation');
    assert.equal(
      (await again().getToken()).access_token,
      renewed.access_token,
      'a later process reads the renewed token',
    );
    assert.equal(idp.stats.refreshRequests - refreshes, 1);

    const [out] = await again().logout();
    assert.equal(out?.revocation.revoked, true);
    assert.deepEqual(keychain.entries(), [], 'logout deletes the entries');
    assert.ok(!existsSync(join(metadataDir, 'default.json')));
  });

  it('a crash after the new generation is written and before the metadata commit leaves the old session readable; the next write deletes the orphans', async () => {
    const { kf, keychain, again, metadataDir } = setup();
    const auth = createAuthStore({ keyfob: kf });
    await auth.setToken('svc', { accessToken: tokenOf('old'), expiresIn: 3600 });
    const committed = generations(keychain);
    // The new entry lands, then the call fails: the write stops before its commit, as a crash would.
    keychain.failNext('set', { afterEffect: true });
    await assert.rejects(
      auth.setToken('svc', { accessToken: tokenOf('new'), expiresIn: 3600 }),
      StoreUnavailable,
    );
    assert.equal(generations(keychain).length, 2, 'the uncommitted generation is in the keychain');
    assert.ok(
      readdirSync(metadataDir).some((name) => name.endsWith('.pending')),
      'with a record of it',
    );
    assert.equal(
      await createAuthStore({ keyfob: again() }).getToken('svc'),
      tokenOf('old'),
      'readers see the old session whole',
    );

    await createAuthStore({ keyfob: again() }).setToken('svc', {
      accessToken: tokenOf('next'),
      expiresIn: 3600,
    });
    assert.equal(await createAuthStore({ keyfob: again() }).getToken('svc'), tokenOf('next'));
    const now = generations(keychain);
    assert.equal(now.length, 1, 'the orphan and the replaced generation are gone');
    assert.ok(!committed.includes(now[0] as string));
    assert.deepEqual(
      readdirSync(metadataDir).filter((name) => name.endsWith('.pending')),
      [],
    );
  });

  it('a locked keychain fails reads and writes with StoreUnavailable and loses nothing; a timed-out write that landed is read back', async () => {
    const { kf, keychain, again } = setup();
    const auth = createAuthStore({ keyfob: kf });
    await auth.setToken('svc', { accessToken: tokenOf('kept'), expiresIn: 3600 });
    keychain.lock();
    const later = createAuthStore({ keyfob: again() });
    await assert.rejects(
      later.getToken('svc'),
      (e: unknown) => e instanceof StoreUnavailable && /test keychain .*locked/.test(e.message),
    );
    await assert.rejects(
      later.setToken('svc', { accessToken: tokenOf('lost'), expiresIn: 3600 }),
      StoreUnavailable,
    );
    keychain.unlock();
    assert.equal(await createAuthStore({ keyfob: again() }).getToken('svc'), tokenOf('kept'));

    // A write that passed its time limit but landed: the store reads it back and commits.
    keychain.failNext('set', { timeout: true, afterEffect: true });
    await createAuthStore({ keyfob: again() }).setToken('svc', {
      accessToken: tokenOf('landed'),
      expiresIn: 3600,
    });
    assert.equal(await createAuthStore({ keyfob: again() }).getToken('svc'), tokenOf('landed'));
    // One that did not land is not committed.
    keychain.failNext('set', { timeout: true });
    await assert.rejects(
      createAuthStore({ keyfob: again() }).setToken('svc', {
        accessToken: tokenOf('never'),
        expiresIn: 3600,
      }),
      (e: unknown) => e instanceof StoreUnavailable && /did not answer/.test(e.message),
    );
    assert.equal(await createAuthStore({ keyfob: again() }).getToken('svc'), tokenOf('landed'));
  });

  it("cuts a large session into entries under the platform's per-entry limit, and a keychain with a smaller limit refuses the write", async () => {
    const { kf, keychain } = setup();
    const big = `big-${'y'.repeat(9_000)}`;
    await createAuthStore({ keyfob: kf }).setToken('svc', { accessToken: big, expiresIn: 3600 });
    assert.ok(keychain.entries().length >= 5, `${keychain.entries().length} entries`);
    assert.ok(keychain.entries().every((e) => e.bytes <= 2560));
    assert.equal(await createAuthStore({ keyfob: kf }).getToken('svc'), big);

    const small = setup(createTestKeychain({ maxEntryBytes: 1000 }));
    await assert.rejects(
      createAuthStore({ keyfob: small.kf }).setToken('svc', { accessToken: big, expiresIn: 3600 }),
      (e: unknown) => e instanceof StoreUnavailable && /over its limit of 1000/.test(e.message),
    );
    assert.ok(!existsSync(join(small.metadataDir, 'svc.json')), 'nothing committed');
  });

  it('entries that do not match the committed digest are never returned: the metadata is moved aside', async () => {
    const { kf, keychain, again, metadataDir } = setup();
    await createAuthStore({ keyfob: kf }).setToken('svc', { accessToken: tokenOf('real'), expiresIn: 3600 });
    const [entry] = keychain.entries();
    assert.ok(entry);
    await keychain.set(entry.service, entry.account, new TextEncoder().encode('AAAA'));
    const auth = createAuthStore({ keyfob: again() });
    await assert.rejects(
      auth.getToken('svc'),
      (e: unknown) => e instanceof StoreCorrupt && /do not match the recorded digest/.test(e.message),
    );
    assert.ok(readdirSync(metadataDir).some((name) => name.startsWith('svc.json.corrupt-')));
    assert.equal(await auth.getCachedMetadata('svc'), null);
  });
});

function filesUnderText(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? dir, entry.name);
    out[path] = readFileSync(path, 'latin1');
  }
  return out;
}
