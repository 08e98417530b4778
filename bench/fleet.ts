/**
 * Fleets (issue #15): token requests per lifetime for N = 1, 10, 100 workers sharing one machine
 * identity through Redis (goal: 1 for every N; without a fleet it is N), each worker calling
 * `getToken({ minTtl: 0 })` every 50 ms for three token lifetimes; and the added latency of a
 * new worker's first token taken from the fleet against a local acquisition (discovery and a
 * client-credentials request), median of 21 alternating rounds. dev-idp and the workers run in
 * this process, redis-server beside it.
 *
 *   npx tsx --conditions=@keyfob/source bench/fleet.ts
 */
import { randomBytes } from 'node:crypto';
import { createKeyfob, type Keyfob } from '@keyfob/core';
import { startDevIdp } from '@keyfob/dev-idp';
import { startRedis } from '../test/support/redis.js';

const TTL = Number(process.env.BENCH_TTL ?? 3);
const LIFETIMES = 3;
let idp = await startDevIdp({ accessTokenTtl: TTL });
const redis = await startRedis();
const requests = () => idp.stats.tokenRequests.client_credentials ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function worker(key: string | null): Keyfob {
  return createKeyfob({
    environment: {
      HOME: '/nonexistent',
      KEYFOB_HOME: '/nonexistent/keyfob',
      KEYFOB_CLIENT_ID: idp.clients.machine.client_id,
      KEYFOB_CLIENT_SECRET: idp.clients.machine.client_secret,
      ...(key ? { KEYFOB_FLEET_REDIS: redis.url, KEYFOB_FLEET_KEY: key } : {}),
    },
    config: {
      default_provider: 'robot',
      providers: {
        robot: { type: 'client_credentials', issuer: idp.issuer, client_id: idp.clients.machine.client_id },
      },
    } as never,
  });
}

/** N workers calling getToken every 50 ms for three lifetimes: requests, and distinct tokens. */
async function perLifetime(n: number, fleet: boolean) {
  await redis.admin().flushall();
  const key = randomBytes(32).toString('base64');
  const workers = Array.from({ length: n }, () => worker(fleet ? key : null));
  const tokens = new Set<string>();
  const before = requests();
  const started = Date.now();
  let failures = 0;
  while (Date.now() - started < LIFETIMES * TTL * 1000) {
    const results = await Promise.allSettled(workers.map((kf) => kf.getToken({ minTtl: 0 })));
    for (const r of results) {
      if (r.status === 'fulfilled') tokens.add(r.value.access_token);
      else failures += 1;
    }
    await sleep(50);
  }
  const lifetimes = (Date.now() - started) / (TTL * 1000);
  await Promise.all(workers.map((kf) => kf.close()));
  return { requests: requests() - before, tokens: tokens.size, lifetimes, failures };
}

try {
  console.log(`token requests per lifetime (${TTL} s tokens, ${LIFETIMES} lifetimes, getToken every 50 ms):`);
  console.log('N\twith fleet\t(requests / tokens, failures)\twithout fleet');
  for (const n of [1, 10, 100]) {
    const withFleet = await perLifetime(n, true);
    const without = n <= 10 ? await perLifetime(n, false) : null;
    console.log(
      `${n}\t${(withFleet.requests / withFleet.lifetimes).toFixed(2)}\t\t(${withFleet.requests} / ${withFleet.tokens}, ${withFleet.failures})\t\t${without ? (without.requests / without.lifetimes).toFixed(2) : '-'}`,
    );
  }

  // A new worker's first token: from the fleet (an entry is there) or acquired locally.
  await idp.close();
  idp = await startDevIdp({ accessTokenTtl: 3600 });
  const key = randomBytes(32).toString('base64');
  const warm = worker(key);
  await warm.getToken();
  const first = async (fleet: boolean) => {
    const kf = worker(fleet ? key : null);
    const started = performance.now();
    await kf.getToken();
    const took = performance.now() - started;
    await kf.close();
    return took;
  };
  for (let i = 0; i < 3; i++) {
    await first(true);
    await first(false);
  }
  const fromFleet: number[] = [];
  const local: number[] = [];
  const ratios: number[] = [];
  const before = requests();
  for (let i = 0; i < 21; i++) {
    // Alternating which goes first; each pair of neighbours judged on its own.
    const fleetMs = i % 2 === 0 ? await first(true) : 0;
    const localMs = await first(false);
    const shared = i % 2 === 1 ? await first(true) : fleetMs;
    fromFleet.push(shared);
    local.push(localMs);
    ratios.push(shared / localMs);
  }
  if (requests() - before !== 21) throw new Error('a worker of the fleet made a token request');
  console.log(
    `first token of a new worker: from the fleet ${median(fromFleet).toFixed(1)} ms, acquired locally ${median(local).toFixed(1)} ms; ratio ${median(ratios).toFixed(2)}`,
  );
  await warm.close();
} finally {
  await redis.stop();
  await idp.close();
}
