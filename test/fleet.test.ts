/**
 * Fleets (DESIGN.md, Fleets; issue #15) on a real redis-server and dev-idp: many workers that
 * share one machine identity cost one client-credentials request per token lifetime; Redis killed
 * mid-run costs no worker a failure, and they rejoin; a worker paused past its lock cannot
 * overwrite a newer token; nothing in Redis is a token, secret or key in clear.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fleetBed, newKey, sleep } from './support/fleet.js';

/** Seconds a token lives: short, so that a test spans two lifetimes in a few seconds. */
const TTL = 4;
const bed = fleetBed(TTL);
const { requests, worker, tokenOf, workerProcess, assertNothingInClear, seenTokens } = bed;

describe('one request per lifetime', () => {
  it('50 workers in 5 processes: exactly one client-credentials request per lifetime, across two lifetimes and a renewal', async () => {
    const key = newKey();
    const processes = Array.from({ length: 5 }, () => workerProcess(10, key));
    try {
      await Promise.all(processes.map(async (p) => assert.deepEqual(await p.next(), { event: 'ready' })));
      let said = '';
      const round = async () => {
        const replies = await Promise.all(processes.map((p) => p.tokens()));
        for (const reply of replies) assert.deepEqual(reply.errors, [], 'no worker fails');
        said = [...new Set(replies.flatMap((r) => r.warnings.flat()))].join('\n');
        return replies.flatMap((r) => r.tokens);
      };

      let before = requests();
      const first = await round();
      assert.equal(requests() - before, 1, `the first lifetime: one request for 50 workers\n${said}`);
      assert.equal(new Set(first).size, 1, 'every worker has the same token');

      await sleep(TTL * 1000 + 300);
      before = requests();
      const second = await round();
      assert.equal(requests() - before, 1, 'the second lifetime: one request again');
      assert.equal(new Set(second).size, 1);
      assert.notEqual(second[0], first[0]);

      // Past half its life the token is renewed early: one worker renews, the others use it meanwhile.
      await sleep((TTL * 1000) / 2 + 300);
      before = requests();
      const third = await round();
      assert.equal(requests() - before, 1, 'an early renewal: one request');
      assert.ok(third.every((t) => t !== null && (t === second[0] || !first.includes(t))));
      assert.ok(new Set(third).size <= 2, 'the renewed token, or the one still valid');
      await assertNothingInClear();
    } finally {
      await Promise.all(processes.map((p) => p.exit()));
    }
  });
});

describe('Redis is never a single point of failure', () => {
  it('Redis killed mid-run: no worker fails, each acquires alone and says so once; Redis back: they share again', async () => {
    await bed.redis.admin().flushall();
    const key = newKey();
    const workers = Array.from({ length: 5 }, () => worker(key));
    const round = async () => Promise.all(workers.map((w) => tokenOf(w.kf)));
    try {
      let before = requests();
      assert.equal(new Set(await round()).size, 1);
      assert.equal(requests() - before, 1);

      await bed.redis.kill();
      await sleep(TTL * 1000 + 300);
      before = requests();
      const alone = await round();
      assert.equal(requests() - before, 5, 'each worker acquired its own token');
      assert.equal(new Set(alone).size, 5);
      // Calls made while alone ask nothing of the dead Redis, and say nothing more.
      await round();

      await bed.redis.restart();
      // Past half the alone tokens' life, and past the pause before a worker tries Redis again.
      await sleep((TTL * 1000) / 2 + 500);
      before = requests();
      const shared = await round();
      assert.equal(requests() - before, 1, 'back on Redis: one request for all');
      assert.equal(new Set(shared).size, 1);
      for (const { warnings } of workers) {
        assert.equal(warnings.filter((w) => /did not answer/.test(w)).length, 1, warnings.join('\n'));
        assert.equal(warnings.filter((w) => /answers again/.test(w)).length, 1, warnings.join('\n'));
        assert.match(
          warnings.join('\n'),
          new RegExp(`fleet: redis://127\\.0\\.0\\.1:${bed.redis.port} did not answer \\(`),
        );
      }
    } finally {
      await Promise.all(workers.map((w) => w.kf.close()));
    }
  });

  it('a worker kept busy while alone (a renewal every 300 ms) still tries Redis again and rejoins', async () => {
    await bed.redis.admin().flushall();
    const w = worker(newKey());
    try {
      await tokenOf(w.kf);
      await bed.redis.kill();
      const renew = async () => seenTokens.add((await w.kf.getToken({ forceRefresh: true })).access_token);
      for (let i = 0; i < 5; i++) {
        await renew();
        await sleep(300);
      }
      await bed.redis.restart();
      const deadline = Date.now() + 20_000;
      while (!w.warnings.some((m) => /answers again/.test(m))) {
        assert.ok(Date.now() < deadline, `never rejoined:\n${w.warnings.join('\n')}`);
        await renew();
        await sleep(300);
      }
      assert.equal(w.warnings.filter((m) => /did not answer/.test(m)).length, 1, w.warnings.join('\n'));
    } finally {
      await w.kf.close();
    }
  });

  it('a worker paused past its lock (SIGSTOP while its token request is out) cannot overwrite the newer token', async () => {
    await bed.redis.admin().flushall();
    const key = newKey();
    const paused = workerProcess(1, key, { FLEET_SLOW_TOKEN_MS: '800' });
    const admin = bed.redis.admin();
    try {
      assert.deepEqual(await paused.next(), { event: 'ready' });
      const before = requests();
      paused.child.stdin.write(`${JSON.stringify({ op: 'token' })}\n`);
      assert.deepEqual(await paused.next(), { event: 'token-request' });
      // It holds the lock and its request is on its way: stopped, it can renew nothing.
      assert.equal((await admin.keys('keyfob:l:*')).length, 1, 'the paused worker holds the lock');
      process.kill(paused.child.pid as number, 'SIGSTOP');
      const deadline = Date.now() + 15_000;
      while ((await admin.keys('keyfob:l:*')).length > 0) {
        assert.ok(Date.now() < deadline, 'the lock expires');
        await sleep(100);
      }
      const other = worker(key);
      const newer = await tokenOf(other.kf);
      process.kill(paused.child.pid as number, 'SIGCONT');
      const reply = (await paused.next()) as { tokens: string[]; errors: string[] };
      assert.deepEqual(reply.errors, []);
      assert.equal(requests() - before, 2, 'the paused worker did get a token of its own');
      assert.equal(reply.tokens[0], newer, 'and took the newer one from the fleet instead');
      const fresh = worker(key);
      const before2 = requests();
      assert.equal(await tokenOf(fresh.kf), newer, 'the fleet still holds the newer token');
      assert.equal(requests(), before2);
      await Promise.all([other.kf.close(), fresh.kf.close()]);
    } finally {
      if (paused.child.exitCode === null) process.kill(paused.child.pid as number, 'SIGCONT');
      await paused.exit();
    }
  });
});
