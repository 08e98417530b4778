/**
 * The library's token path, measured in one run:
 * - `getToken()` on a cached token: calls per second (goal: at least 1,000,000);
 * - a refresh storm: token requests at dev-idp per 1,000 concurrent callers at expiry (goal: 1).
 *
 *   npx tsx --conditions=@keyfob/source bench/get-token.ts
 */
import { createKeyfob } from '@keyfob/core';
import { machineHome } from './machine-home.js';

const { idp, env, close } = await machineHome();
try {
  let offset = 0;
  const kf = createKeyfob({ environment: env, now: () => new Date(Date.now() + offset) });
  await kf.getToken();
  const calls = 2_000_000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await kf.getToken();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `getToken() on a cached token: ${Math.round(calls / seconds).toLocaleString('en')} calls/s (goal >= 1,000,000)`,
  );

  offset = 3_601_000;
  const before = idp.stats.tokenRequests.client_credentials ?? 0;
  await Promise.all(Array.from({ length: 1000 }, () => kf.getToken()));
  const requests = (idp.stats.tokenRequests.client_credentials ?? 0) - before;
  console.log(`refresh storm: ${requests} token request(s) for 1,000 concurrent callers at expiry (goal 1)`);
} finally {
  await close();
}
