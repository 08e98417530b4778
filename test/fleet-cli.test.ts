/**
 * The fleet from the command line (issue #15, Visibility): machine profiles in two homes (two
 * containers) share one token through `fleet:` in config.yaml; `status` and `explain` say when
 * a token came from the fleet; `keyfob fleet status` shows names, expiries and keys, never a
 * token; a person's session never goes to the fleet; Redis down costs a command nothing but a
 * warning.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { everything, startRedis, type TestRedis } from './support/redis.js';

let idp: DevIdp;
let redis: TestRedis;
const KEY = randomBytes(32).toString('base64');
const OLD = randomBytes(32).toString('hex');

const FLEET_YAML = [
  'profiles:',
  '  ci:',
  '    provider: robot',
  'fleet:',
  '  redis: ${FLEET_REDIS_URL}',
  '  encryption_keys:',
  '    - ${FLEET_KEY}',
].join('\n');

before(async () => {
  [idp, redis] = await Promise.all([startDevIdp({ accessTokenTtl: 300 }), startRedis()]);
});
after(async () => {
  await Promise.all([idp?.close(), redis?.stop()]);
});

function fleetHome(env: Record<string, string> = {}): TestHome {
  const home = makeHome(idp, FLEET_YAML);
  return { ...home, env: { ...home.env, FLEET_REDIS_URL: redis.url, FLEET_KEY: KEY, ...env } };
}

const requests = () => idp.stats.tokenRequests.client_credentials ?? 0;

describe('keyfob with a fleet', () => {
  let first: TestHome;
  let second: TestHome;
  let token = '';
  before(() => {
    first = fleetHome();
    second = fleetHome();
  });

  it('a machine profile in two homes: one token request; the second says its token came from the fleet', async () => {
    const before = requests();
    const one = await runCli(['token', '--profile', 'ci'], { env: first.env });
    assert.equal(one.code, 0, one.stderr);
    const two = await runCli(['token', '--profile', 'ci'], { env: second.env });
    assert.equal(two.code, 0, two.stderr);
    token = one.stdout.trim();
    assert.equal(two.stdout.trim(), token);
    assert.equal(requests() - before, 1, 'one request for both homes');

    const status = await runCli(['status'], { env: second.env });
    assert.match(
      status.stdout,
      new RegExp(
        `Machine tokens are shared through the fleet at redis://127\\.0\\.0\\.1:${redis.port} \\(prefix keyfob\\); ci: token from the fleet\\.`,
      ),
    );
    const json = JSON.parse((await runCli(['status', '--json'], { env: second.env })).stdout);
    assert.equal(json.profiles.find((p: { name: string }) => p.name === 'ci').from_fleet, true);
    assert.deepEqual(json.fleet, { redis: redis.url, key_prefix: 'keyfob' });
    // The home that acquired it says the fleet is there, and nothing of its token coming from it.
    const own = await runCli(['status'], { env: first.env });
    assert.match(own.stdout, /shared through the fleet/);
    assert.doesNotMatch(own.stdout, /token from the fleet/);

    const explained = await runCli(['explain', '--profile', 'ci'], { env: second.env });
    assert.match(
      explained.stdout,
      /Its tokens come from the fleet at redis:\/\/127\.0\.0\.1:\d+ \(prefix keyfob\)/,
    );
    const person = await runCli(['explain'], { env: second.env });
    assert.doesNotMatch(person.stdout, /fleet/, "a person's profile never uses the fleet");
  });

  it('keyfob fleet status: the cached identity by name, expiry and key; never a token, secret or key', async () => {
    const shown = await runCli(['fleet', 'status'], { env: second.env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /1 cached identity/);
    assert.match(
      shown.stdout,
      /keyfob:t:[A-Za-z0-9_-]{43} +\d{4}-\d\d-\d\dT\S+ \(in \d+ min\) +first +client /,
    );
    assert.ok(
      shown.stdout.includes(`client ${idp.clients.machine.client_id} at ${idp.issuer}, resource ${idp.api}`),
      shown.stdout,
    );
    for (const secret of [token, idp.clients.machine.client_secret, KEY]) {
      assert.ok(!shown.stdout.includes(secret) && !shown.stderr.includes(secret));
    }
    // A worker mid-rotation ([new, old]) sees the entry sealed under its older key.
    const rotating = await runCli(['fleet', 'status', '--json'], {
      env: { ...second.env, KEYFOB_FLEET_KEY: `${OLD},${KEY}` },
    });
    const report = JSON.parse(rotating.stdout);
    assert.equal(report.entries[0].key, 'older');
    assert.equal(report.source, 'fleet.redis in the config');
    // One without the key cannot vouch for it.
    const stranger = await runCli(['fleet', 'status'], { env: { ...second.env, FLEET_KEY: OLD } });
    assert.match(stranger.stdout, /unknown/);
    assert.match(stranger.stdout, /1 entry is sealed under a key this machine does not have/);
  });

  it("a person's session never goes to the fleet", async () => {
    const home = fleetHome();
    const keys = [...(await everything(redis.admin())).keys()];
    assert.equal((await loginWithDevice(idp, home)).code, 0);
    const printed = await runCli(['token'], { env: home.env });
    assert.equal(printed.code, 0, printed.stderr);
    assert.deepEqual([...(await everything(redis.admin())).keys()], keys);
    const values = [...(await everything(redis.admin())).values()].join('\n');
    assert.ok(!values.includes(printed.stdout.trim()));
  });

  it('Redis down: the token command works alone and says so once; fleet status exits 1 naming Redis', async () => {
    const down = fleetHome({ FLEET_REDIS_URL: 'redis://127.0.0.1:1' });
    const result = await runCli(['token', '--profile', 'ci'], { env: down.env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr.match(/fleet: redis:\/\/127\.0\.0\.1:1 did not answer/g)?.length,
      1,
      result.stderr,
    );
    const status = await runCli(['fleet', 'status'], { env: down.env });
    assert.equal(status.code, 1);
    assert.match(
      status.stderr,
      /redis:\/\/127\.0\.0\.1:1 did not answer \(.*ECONNREFUSED.*\); check that Redis runs/,
    );
    const none = await runCli(['fleet', 'status'], { env: makeHome(idp).env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no fleet is configured/);
  });
});

describe("the README's Fleets section", () => {
  it('its config block, as written, makes two homes share one token', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split(/^## /m).find((s) => s.startsWith('Fleets')) ?? '';
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    assert.ok(yaml?.startsWith('fleet:'), 'the section has a fleet: block');
    await redis.admin().flushall();
    const homes = [0, 1].map(() => {
      const home = makeHome(idp, `profiles:\n  ci:\n    provider: robot\n${yaml}`);
      return { ...home.env, FLEET_REDIS_URL: redis.url, FLEET_KEY: KEY };
    });
    const before = requests();
    const printed = [];
    for (const env of homes) {
      const result = await runCli(['token', '--profile', 'ci'], { env });
      assert.equal(result.code, 0, result.stderr);
      printed.push(result.stdout);
    }
    assert.equal(printed[0], printed[1]);
    assert.equal(requests() - before, 1);
    assert.ok([...(await everything(redis.admin())).keys()].every((k) => k.startsWith('payments-workers:')));
  });
});

describe("an integrator's mounted commands", () => {
  it("offer `fleet` only where there is a fleet (fleet: in the config, or the app's fleet variables)", async () => {
    const kumiho = fileURLToPath(new URL('./fixtures/kumiho.ts', import.meta.url));
    const home = makeHome(idp);
    const env = { PATH: process.env.PATH ?? '', HOME: home.home, KUMIHO_AUTH_HOME: home.home };
    const run = (extra: Record<string, string>) =>
      runCli(['auth', '--help'], {
        env: { ...env, ...extra },
        script: kumiho,
        nodeArgs: ['--import', 'tsx'],
      });
    assert.doesNotMatch((await run({})).stdout, /\bfleet\b/);
    const offered = await run({ KUMIHO_AUTH_FLEET_REDIS: redis.url, KUMIHO_AUTH_FLEET_KEY: KEY });
    assert.match(offered.stdout, /\bfleet\b/);
  });
});
