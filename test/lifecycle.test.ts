/**
 * The token lifecycle on real parts: expiry, clock skew, single-flight in one process, the
 * profile lock across processes, and a process killed after the provider rotated its refresh
 * token but before keyfob stored the new one. dev-idp revokes a whole grant when a spent refresh
 * token comes back, so any double spend shows.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, robotApproving, runCli, startCli, type TestHome } from './support/cli.js';
import { startProxy } from './support/proxy.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function refreshToken(home: TestHome, profile = 'default'): string {
  return JSON.parse(readFileSync(join(home.home, 'sessions', `${profile}.json`), 'utf8')).session
    .refresh_token;
}

/** Environment that selects a store; encrypted-file gets an age identity file made here. */
async function storageEnv(storage: 'file' | 'encrypted-file', home: string): Promise<Record<string, string>> {
  if (storage === 'file') return {};
  const { generateIdentity } = await import('age-encryption');
  const identity = join(home, 'identity.key');
  writeFileSync(identity, `${await generateIdentity()}\n`, { mode: 0o600 });
  return { KEYFOB_STORAGE: 'encrypted-file', KEYFOB_IDENTITY_FILE: identity };
}

async function withIdp(options: Parameters<typeof startDevIdp>[0], run: (idp: DevIdp) => Promise<void>) {
  const idp = await startDevIdp(options);
  try {
    await run(idp);
  } finally {
    await idp.close();
  }
}

describe('getToken in the library', () => {
  it('refreshes after expiry; a clock an hour off changes nothing', async () => {
    await withIdp({ accessTokenTtl: 600 }, async (idp) => {
      for (const skewHours of [0, 1, -1]) {
        const home = makeHome(idp);
        let offset = skewHours * 3600_000;
        const kf = createKeyfob({ environment: home.env, now: () => new Date(Date.now() + offset) });
        await kf.login({ flow: 'device', interaction: robotApproving(idp), persist: true });
        const before = idp.stats.refreshRequests;
        const first = await kf.getToken();
        const again = await createKeyfob({
          environment: home.env,
          now: () => new Date(Date.now() + offset),
        }).getToken();
        assert.equal(again.access_token, first.access_token, `no refresh loop with a skew of ${skewHours} h`);
        assert.equal(idp.stats.refreshRequests - before, 1, 'one refresh mints the API token, then none');
        const api = await fetch(`${idp.api}/hello`, {
          headers: { authorization: `Bearer ${first.access_token}` },
        });
        assert.equal(api.status, 200);
        offset += 601_000;
        const later = await kf.getToken();
        assert.notEqual(later.access_token, first.access_token, 'renewed once expired');
        assert.equal(idp.stats.refreshRequests - before, 2);
      }
    });
  });

  it('1,000 concurrent calls at expiry make exactly one token request', async () => {
    await withIdp({ accessTokenTtl: 600 }, async (idp) => {
      const home = makeHome(idp);
      assert.equal((await loginWithDevice(idp, home)).code, 0);
      let offset = 0;
      const kf = createKeyfob({ environment: home.env, now: () => new Date(Date.now() + offset) });
      await kf.getToken();
      offset = 601_000;
      const before = idp.stats.refreshRequests;
      const results = await Promise.all(Array.from({ length: 1000 }, () => kf.getToken()));
      assert.equal(idp.stats.refreshRequests - before, 1);
      assert.equal(new Set(results.map((r) => r.access_token)).size, 1);
    });
  });

  it('an early refresh that fails while the token is still valid returns the valid token', async () => {
    await withIdp({ accessTokenTtl: 600 }, async (idp) => {
      const home = makeHome(idp);
      assert.equal((await loginWithDevice(idp, home)).code, 0);
      let offset = 0;
      const warnings: string[] = [];
      const kf = createKeyfob({
        environment: home.env,
        now: () => new Date(Date.now() + offset),
        log: { debug() {}, warn: (m) => warnings.push(m) },
      });
      const first = await kf.getToken();
      await idp.revokeGrantsOf(idp.users[0]?.sub ?? '');
      offset = 560_000; // 40 s left: inside minTtl, still valid
      const still = await kf.getToken();
      assert.equal(still.access_token, first.access_token);
      assert.match(warnings.join('\n'), /could not refresh the token of profile default early/);
    });
  });
});

describe('across processes', () => {
  for (const storage of ['file', 'encrypted-file'] as const) {
    it(`8 \`keyfob token\` processes after expiry (${storage} store): one refresh, one token, the grant intact`, async () => {
      await withIdp({ accessTokenTtl: 3 }, async (idp) => {
        const base = makeHome(idp);
        const home = { ...base, env: { ...base.env, ...(await storageEnv(storage, base.home)) } };
        assert.equal((await loginWithDevice(idp, home)).code, 0);
        assert.equal((await runCli(['token'], { env: home.env })).code, 0);
        await sleep(3_200);
        const before = idp.stats.refreshRequests;
        const results = await Promise.all(
          Array.from({ length: 8 }, () => runCli(['token'], { env: home.env })),
        );
        for (const r of results) assert.equal(r.code, 0, r.stderr);
        assert.equal(idp.stats.refreshRequests - before, 1, 'exactly one refresh request');
        assert.equal(new Set(results.map((r) => r.stdout)).size, 1, 'all print the same token');
        const api = await fetch(`${idp.api}/hello`, {
          headers: { authorization: `Bearer ${results[0]?.stdout.trim()}` },
        });
        assert.equal(api.status, 200);
        const status = JSON.parse((await runCli(['status', '--json'], { env: home.env })).stdout);
        assert.equal(status.profiles[0].store, storage);
        // The grant is intact: a refresh still works (a double spend would have revoked it).
        assert.equal((await runCli(['refresh'], { env: home.env })).code, 0);
      });
    });
  }

  // The killed process leaves its profile lock behind; the next call takes it over once stale
  // (30 s), so the grace window must outlast that. The two cases (each its own dev-idp and home)
  // wait out that staleness side by side rather than one after the other.
  describe('a killed refresher', { concurrency: true }, () => {
    for (const grace of [0, 120]) {
      it(`a process killed between the token response and the write (reuse grace ${grace ? 'on' : 'off'})`, async () => {
        await withIdp({ accessTokenTtl: 3, refreshReuseGraceSeconds: grace }, async (idp) => {
          const home = makeHome(idp);
          assert.equal((await loginWithDevice(idp, home)).code, 0);
          assert.equal((await loginWithDevice(idp, home, ['--profile', 'other'])).code, 0);
          const otherBefore = readFileSync(join(home.home, 'sessions', 'other.json'));
          const spent = refreshToken(home);

          const proxy = await startProxy();
          try {
            const victim = startCli(['refresh', '--profile', 'default'], {
              env: { ...home.env, HTTP_PROXY: proxy.url },
            });
            proxy.decide = (exchange) => {
              if (!exchange.requestBody.includes('grant_type=refresh_token')) return 'forward';
              victim.child.kill('SIGKILL');
              return 'drop';
            };
            const killed = await victim.done;
            assert.equal(killed.code, null, 'the process was killed');
          } finally {
            await proxy.close();
          }
          assert.equal(refreshToken(home), spent, 'the rotated refresh token never reached the store');
          await sleep(3_200);
          const next = await runCli(['token', '--profile', 'default'], { env: home.env, timeoutMs: 90_000 });
          if (grace) {
            assert.equal(next.code, 0, next.stderr);
          } else {
            assert.equal(next.code, 2, next.stderr);
            assert.match(next.stderr, /run `keyfob login --profile default`/);
          }
          assert.deepEqual(
            readFileSync(join(home.home, 'sessions', 'other.json')),
            otherBefore,
            'other profile untouched',
          );
        });
      });
    }
  });
});
