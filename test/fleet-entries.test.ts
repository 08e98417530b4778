/**
 * Fleets (DESIGN.md, Fleets; issue #15), continued: entries under a wrong key, corrupt or moved
 * under another identity are not trusted; a revoked secret finds nothing; a key rotation rolled
 * out in stages costs nothing; exchanges on top of client credentials are shared; two machine
 * clients in one process renew apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import { makeHome } from './support/cli.js';
import { serverUrl } from './support/control-plane.js';
import { fleetBed, newKey, sleep } from './support/fleet.js';

/** Seconds a token lives: short, so that a test spans two lifetimes in a few seconds. */
const TTL = 4;
const bed = fleetBed(TTL);
const { requests, config, workerEnv, worker, tokenOf, assertNothingInClear, seenTokens, usedKeys } = bed;

describe('entries that are not trusted', () => {
  it('a worker with another fleet key ignores the entries and overwrites none; the others keep sharing', async () => {
    await bed.redis.admin().flushall();
    const key = newKey();
    const a = worker(key);
    const wrong = worker(newKey());
    const b = worker(key);
    try {
      let before = requests();
      const shared = await tokenOf(a.kf);
      const own = await tokenOf(wrong.kf);
      assert.notEqual(own, shared, 'the entry was not trusted');
      assert.equal(requests() - before, 2);
      assert.match(
        wrong.warnings.join('\n'),
        /encrypted under a key this worker does not have; it is not trusted/,
      );
      before = requests();
      assert.equal(await tokenOf(b.kf), shared, 'the entry was left as it was');
      assert.equal(requests(), before);
    } finally {
      await Promise.all([a, wrong, b].map((w) => w.kf.close()));
    }
  });

  it('a corrupt entry, or one moved under another identity’s name, is not trusted and is replaced', async () => {
    await bed.redis.admin().flushall();
    const admin = bed.redis.admin();
    const key = newKey();
    const workers = [
      worker(key),
      worker(key),
      worker(key, { authPost: true }),
      worker(key, { authPost: true }),
    ];
    try {
      const machine = await tokenOf(workers[0]!.kf);
      const [name] = await admin.keys('keyfob:t:*');
      assert.ok(name);
      // Its key id kept, one byte of its ciphertext changed: AES-GCM refuses it.
      const sealed = JSON.parse((await admin.get(name)) as string) as { ct: string };
      const bytes = Buffer.from(sealed.ct, 'base64url');
      bytes[3] = (bytes[3] ?? 0) ^ 1;
      await admin.set(name, JSON.stringify({ ...sealed, ct: bytes.toString('base64url') }), 'KEEPTTL');
      let before = requests();
      const replaced = await tokenOf(workers[1]!.kf);
      assert.notEqual(replaced, machine);
      assert.equal(requests() - before, 1);
      assert.match(workers[1]!.warnings.join('\n'), /could not be opened \(corrupt/);
      const third = worker(key);
      assert.equal(await tokenOf(third.kf), replaced, 'the corrupt entry was replaced');
      assert.equal(requests() - before, 1);
      await third.kf.close();

      // Another client's entry: its name is another HMAC; the machine's sealed entry moved there.
      const post = await tokenOf(workers[2]!.kf);
      const names = await admin.keys('keyfob:t:*');
      const postName = names.find((n) => n !== name) as string;
      await admin.set(postName, (await admin.get(name)) as string, 'KEEPTTL');
      before = requests();
      const got = await tokenOf(workers[3]!.kf);
      assert.notEqual(got, replaced, "the machine client's token is never handed to another identity");
      assert.notEqual(got, post);
      assert.equal(requests() - before, 1);
      assert.match(
        workers[3]!.warnings.join('\n'),
        /could not be opened \(corrupt, or moved from another identity\)/,
      );
    } finally {
      await Promise.all(workers.map((w) => w.kf.close()));
    }
  });

  it('a worker with a wrong (revoked) client secret finds nothing in the fleet: its token request is refused', async () => {
    await bed.redis.admin().flushall();
    const key = newKey();
    const good = worker(key);
    const revoked = worker(key, { secret: 'not-the-secret-any-more' });
    try {
      const shared = await tokenOf(good.kf);
      await assert.rejects(revoked.kf.getToken(), (error: Error & { code?: string }) => {
        assert.ok(!error.message.includes(shared));
        assert.match(
          `${error.message} ${error.code}`,
          /invalid_client|CREDENTIAL_REFUSED|AUTHENTICATION_REQUIRED/i,
        );
        return true;
      });
    } finally {
      await Promise.all([good.kf.close(), revoked.kf.close()]);
    }
  });
});

describe('key rotation', () => {
  it('rolled out in stages [old] → [old,new] → [new,old] → [new]: adjacent stages share every entry, no extra request, no failure', async () => {
    const old = newKey();
    const next = newKey();
    const stages = [old, `${old},${next}`, `${next},${old}`, next];
    for (let i = 0; i + 1 < stages.length; i++) {
      for (const [writer, reader] of [
        [stages[i], stages[i + 1]],
        [stages[i + 1], stages[i]],
      ] as const) {
        await bed.redis.admin().flushall();
        const w = worker(writer as string);
        const r = worker(reader as string);
        const before = requests();
        const written = await tokenOf(w.kf);
        assert.equal(await tokenOf(r.kf), written, `stage ${reader} reads what stage ${writer} wrote`);
        assert.equal(requests() - before, 1);
        assert.deepEqual([...w.warnings, ...r.warnings], []);
        await Promise.all([w.kf.close(), r.kf.close()]);
      }
      // Both stages at once, as during a rolling deploy: still one request.
      await bed.redis.admin().flushall();
      const mixed = [0, 1, 2, 3, 4, 5].map((n) => worker(stages[i + (n % 2)] as string));
      const before = requests();
      const tokens = await Promise.all(mixed.map((w) => tokenOf(w.kf)));
      assert.equal(new Set(tokens).size, 1);
      assert.equal(requests() - before, 1);
      await Promise.all(mixed.map((w) => w.kf.close()));
    }
    await assertNothingInClear();
  });
});

describe('exchanges on top of client credentials', () => {
  it("two homes' machine profiles of an exchange provider: one client-credentials request and one exchange per renewal", async () => {
    await bed.redis.admin().flushall();
    const key = newKey();
    const yaml = [
      '  machine:',
      '    type: exchange',
      '    login: robot',
      `    control_plane: ${bed.idp.controlPlane}`,
      `    api_base: ${new URL(serverUrl(bed.idp, 'acme-eu')).origin}`,
      'profiles:',
      '  ci:',
      '    provider: machine',
      '    tenant: acme-eu',
    ].join('\n');
    const workers = [0, 1].map(() => {
      const home = makeHome(bed.idp, yaml);
      usedKeys.push(key);
      return createKeyfob({
        environment: { ...home.env, KEYFOB_FLEET_REDIS: bed.redis.url, KEYFOB_FLEET_KEY: key },
      });
    });
    try {
      // Each home's first login is its own (not shared); their renewals are.
      for (const kf of workers) seenTokens.add((await kf.getToken({ profile: 'ci' })).access_token);
      await sleep(TTL * 1000 + 300);
      const exchanges = bed.idp.stats.controlPlane.exchanges;
      const before = requests();
      const renewed = await Promise.all(workers.map((kf) => kf.getToken({ profile: 'ci' })));
      for (const t of renewed) seenTokens.add(t.access_token);
      assert.equal(renewed[0]?.access_token, renewed[1]?.access_token);
      assert.equal(bed.idp.stats.controlPlane.exchanges - exchanges, 1, 'one exchange for both homes');
      assert.equal(requests() - before, 1, 'one client-credentials request for both homes');
      assert.equal(renewed[1]?.tenant?.id, 'acme-eu');
      // The token from the fleet carries its tenant: fetch sends it to that tenant's regional server.
      for (const kf of workers) {
        const hello = await kf.fetch('/v1/hello', { profile: 'ci' });
        assert.equal(hello.status, 200);
        assert.equal(((await hello.json()) as { tenant_id: string }).tenant_id, 'acme-eu');
      }
      await assertNothingInClear();
    } finally {
      await Promise.all(workers.map((kf) => kf.close()));
    }
  });
});

describe('single flight', () => {
  it('two instances of one process with different machine clients each renew their own token at once', async () => {
    const make = (authPost: boolean) => {
      const env = workerEnv('', { authPost });
      delete (env as Record<string, string | undefined>).KEYFOB_FLEET_REDIS;
      delete (env as Record<string, string | undefined>).KEYFOB_FLEET_KEY;
      return createKeyfob({ environment: env, config: config(authPost) as never });
    };
    const instances = [make(false), make(true)];
    try {
      await Promise.all(instances.map((kf) => kf.getToken()));
      await sleep(TTL * 1000 + 300);
      const [a, b] = await Promise.all(instances.map((kf) => kf.getToken()));
      const clientOf = (token: string | undefined) =>
        (
          JSON.parse(Buffer.from(token?.split('.')[1] ?? '', 'base64url').toString()) as {
            client_id?: string;
          }
        ).client_id;
      assert.equal(clientOf(a?.access_token), bed.idp.clients.machine.client_id);
      assert.equal(clientOf(b?.access_token), bed.idp.clients.machinePost.client_id);
    } finally {
      await Promise.all(instances.map((kf) => kf.close()));
    }
  });
});
