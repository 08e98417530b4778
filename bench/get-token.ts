/**
 * The library's token path, measured in one run:
 * - `getToken()` on a cached token: calls per second (goal: at least 1,000,000);
 * - a refresh storm: token requests at dev-idp per 1,000 concurrent callers at expiry (goal: 1).
 *
 *   npx tsx bench/get-token.ts
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDevIdp } from '@keyfob/dev-idp';
import { createKeyfob } from 'keyfob';

const bin = fileURLToPath(new URL('../packages/cli/bin/keyfob.cjs', import.meta.url));
const idp = await startDevIdp({ accessTokenTtl: 3600 });
const home = mkdtempSync(join(tmpdir(), 'keyfob-bench-'));
try {
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'providers:',
      '  robot:',
      '    type: client_credentials',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.machine.client_id}`,
      '    client_secret: ${ROBOT_SECRET}',
      'profiles:',
      '  default:',
      '    provider: robot',
      '',
    ].join('\n'),
  );
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    KEYFOB_HOME: home,
    ROBOT_SECRET: idp.clients.machine.client_secret,
  };
  await promisify(execFile)(process.execPath, [bin, 'token'], { env });

  let offset = 0;
  const kf = createKeyfob({ env, now: () => new Date(Date.now() + offset) });
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
  await idp.close();
  rmSync(home, { recursive: true, force: true });
}
