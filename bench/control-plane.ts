/**
 * Control planes, measured in one run against dev-idp's control plane:
 * - 1,000 concurrent `getToken({ tenant })` at the exchanged token's expiry: exchanges at the
 *   control plane (goal: 1);
 * - `switchTenant` (one exchange, no login) against a new password login into the same tenant,
 *   alternating, as the median ratio of neighbouring rounds (goal: well below 1).
 *
 *   npx tsx --conditions=@keyfob/source bench/control-plane.ts [ROUNDS]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyfob, type LoginInteraction } from '@keyfob/core';
import { startDevIdp } from '@keyfob/dev-idp';

const rounds = Number(process.argv[2] ?? 21);
const idp = await startDevIdp();
const home = mkdtempSync(join(tmpdir(), 'keyfob-bench-cp-'));
const nobody: LoginInteraction = {
  showAuthorizationUrl() {},
  showDeviceCode() {},
  openBrowser: async () => false,
  waiting: () => () => {},
  notice() {},
};
const config = {
  token_storage: 'file',
  providers: {
    pw: {
      type: 'password',
      issuer: idp.issuer,
      client_id: idp.clients.cli.client_id,
      scopes: ['openid', 'profile', 'email', 'offline_access'],
    },
    cloud: { type: 'exchange', login: 'pw', control_plane: idp.controlPlane },
  },
};
const credentials = { email: 'alice@example.com', password: 'alice-password-1' };
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

try {
  let offset = 0;
  const kf = createKeyfob({ home, environment: {}, config, now: () => new Date(Date.now() + offset) });
  const login = (tenant = 'acme-eu') =>
    kf.login({
      provider: 'cloud',
      tenant,
      ...credentials,
      interaction: nobody,
      personPresent: false,
      persist: true,
    });
  await login();
  const token = await kf.getToken({ tenant: 'acme-us' });
  offset = Date.parse(token.expires_at ?? '') - Date.now() + 1_000;
  const before = idp.stats.controlPlane.exchanges;
  await Promise.all(Array.from({ length: 1000 }, () => kf.getToken({ tenant: 'acme-us' })));
  const exchanges = idp.stats.controlPlane.exchanges - before;
  console.log(
    `exchange storm: ${exchanges} exchange(s) for 1,000 concurrent getToken({ tenant }) at expiry (goal 1)`,
  );
  offset = 0;

  const ratios: number[] = [];
  const switches: number[] = [];
  const logins: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Each switch exchanges: the login before it is into the other tenant, with no token held
    // for the one switched to. The login measured is into the same tenant as the switch.
    const [from, to] = i % 2 === 0 ? ['acme-eu', 'acme-us'] : ['acme-us', 'acme-eu'];
    await login(from);
    const exchangesBefore = idp.stats.controlPlane.exchanges;
    const s0 = performance.now();
    await kf.switchTenant(to);
    const switchMs = performance.now() - s0;
    if (idp.stats.controlPlane.exchanges !== exchangesBefore + 1)
      throw new Error('a switch made no exchange');
    const l0 = performance.now();
    await login(to);
    const loginMs = performance.now() - l0;
    switches.push(switchMs);
    logins.push(loginMs);
    ratios.push(switchMs / loginMs);
  }
  console.log(
    `switch --tenant vs a new login: median ${median(switches).toFixed(1)} ms vs ${median(logins).toFixed(1)} ms, ratio ${median(ratios).toFixed(2)} over ${rounds} alternating rounds (goal < 1)`,
  );
} finally {
  await idp.close();
  rmSync(home, { recursive: true, force: true });
}
