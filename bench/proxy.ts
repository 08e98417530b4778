/**
 * The credential proxy's cost: requests per second through `kf.proxy()` against the same
 * requests sent directly to dev-idp's API with the token, in one run, interleaved rounds (so
 * both sides see the same machine load), with a fixed number of requests in flight. Prints each
 * side's median rate and their ratio (proxy / direct). dev-idp runs in its own process (the
 * built `keyfob dev-idp`), as an API does: in this one it would share the event loop with the
 * proxy and its client, and the ratio would measure that contention.
 *
 *   npx tsx --conditions=@keyfob/source bench/proxy.ts [ROUNDS] [REQUESTS_PER_ROUND]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyfob, type LoginInteraction } from '@keyfob/core';

const rounds = Number(process.argv[2] ?? 11);
const perRound = Number(process.argv[3] ?? 400);
const CONCURRENCY = 8;
const server = spawn(
  process.execPath,
  [join(import.meta.dirname, '../packages/cli/dist/main.js'), 'dev-idp', '--port', '0'],
  { stdio: ['ignore', 'pipe', 'ignore'] },
);
const idp = await new Promise<{ issuer: string; api: string; clients: { cli: { client_id: string } } }>(
  (resolve, reject) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line));
    });
    server.on('exit', (code) =>
      reject(new Error(`dev-idp exited (${code}); run node scripts/build.mjs first`)),
    );
  },
);
const home = mkdtempSync(join(tmpdir(), 'keyfob-bench-proxy-'));
const nobody: LoginInteraction = {
  showAuthorizationUrl() {},
  showDeviceCode() {},
  openBrowser: async () => false,
  waiting: () => () => {},
  notice() {},
};
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/** Requests per second for `perRound` GETs of `url`, `CONCURRENCY` at a time. */
async function rate(url: string, headers: Record<string, string>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < perRound) {
        const response = await fetch(url, { headers });
        if (response.status !== 200) throw new Error(`HTTP ${response.status} from ${url}`);
        await response.arrayBuffer();
      }
    }),
  );
  return perRound / ((performance.now() - started) / 1000);
}

try {
  const kf = createKeyfob({
    home,
    environment: {},
    store: 'file',
    config: {
      providers: {
        pw: {
          type: 'password',
          issuer: idp.issuer,
          client_id: idp.clients.cli.client_id,
          scopes: ['openid', 'offline_access', 'registry:read'],
          api_base: idp.api,
          resource: idp.api,
        },
      },
      default_provider: 'pw',
    },
  });
  await kf.login({
    provider: 'pw',
    email: 'alice@example.com',
    password: 'alice-password-1',
    interaction: nobody,
  });
  const token = (await kf.getToken()).access_token;
  await using proxy = await kf.proxy();
  const path = '/registry/packages';
  const direct = () => rate(`${idp.api}${path}`, { authorization: `Bearer ${token}` });
  const proxied = () => rate(`${proxy.url}${path}`, { 'x-keyfob-proxy-key': proxy.key });
  await direct();
  await proxied();
  const directRates: number[] = [];
  const proxiedRates: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so neither always follows the other's garbage.
    if (i % 2 === 0) {
      directRates.push(await direct());
      proxiedRates.push(await proxied());
    } else {
      proxiedRates.push(await proxied());
      directRates.push(await direct());
    }
  }
  const d = median(directRates);
  const p = median(proxiedRates);
  console.log(
    `direct:  ${d.toFixed(0)} req/s (median of ${rounds} rounds of ${perRound}, ${CONCURRENCY} in flight)`,
  );
  console.log(`proxied: ${p.toFixed(0)} req/s`);
  console.log(`ratio proxied/direct: ${(p / d).toFixed(2)}`);
  await kf.close();
} finally {
  server.kill();
  rmSync(home, { recursive: true, force: true });
}
