/**
 * Fleets (DESIGN.md, Fleets; issue #15) on a real redis-server and dev-idp: many workers that
 * share one machine identity cost one client-credentials request per token lifetime; a worker
 * paused past its lock cannot overwrite a newer token; Redis killed mid-run costs no worker a
 * failure; entries under a wrong key, corrupt or moved are not trusted; a key rotation rolled out
 * in stages costs nothing; nothing in Redis is a token, secret or key in clear.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createKeyfob, type Keyfob } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome } from './support/cli.js';
import { serverUrl } from './support/control-plane.js';
import { everything, startRedis, type TestRedis } from './support/redis.js';

const WORKER = fileURLToPath(new URL('./support/fleet-worker.ts', import.meta.url));
/** Seconds a token lives: short, so that a test spans two lifetimes in a few seconds. */
const TTL = 4;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newKey = () => randomBytes(32).toString('base64');

let idp: DevIdp;
let redis: TestRedis;
const seenTokens = new Set<string>();
const usedKeys: string[] = [];

before(async () => {
  [idp, redis] = await Promise.all([
    startDevIdp({ accessTokenTtl: TTL, controlPlaneTokenTtl: TTL }),
    startRedis(),
  ]);
});
after(async () => {
  await Promise.all([idp?.close(), redis?.stop()]);
});

function requests(): number {
  return idp.stats.tokenRequests.client_credentials ?? 0;
}

/** The config every worker shares: the machine client's provider, its secret from a variable. */
function config(authPost = false) {
  return {
    default_provider: 'robot',
    providers: {
      robot: {
        type: 'client_credentials',
        issuer: idp.issuer,
        client_id: authPost ? idp.clients.machinePost.client_id : idp.clients.machine.client_id,
        client_secret: '${ROBOT_SECRET}',
        resource: idp.api,
        ...(authPost ? { token_endpoint_auth_method: 'client_secret_post' } : {}),
      },
    },
  };
}

/** A worker's environment: the machine's id and secret, the fleet's Redis and keys. */
function workerEnv(keys: string, options: { authPost?: boolean; secret?: string } = {}) {
  const client = options.authPost ? idp.clients.machinePost : idp.clients.machine;
  usedKeys.push(...keys.split(','));
  return {
    HOME: '/nonexistent',
    KEYFOB_HOME: '/nonexistent/keyfob',
    KEYFOB_CLIENT_ID: client.client_id,
    KEYFOB_CLIENT_SECRET: options.secret ?? client.client_secret,
    ROBOT_SECRET: client.client_secret,
    KEYFOB_FLEET_REDIS: redis.url,
    KEYFOB_FLEET_KEY: keys,
  };
}

/** One worker in this process, with its warnings. */
function worker(keys: string, options: { authPost?: boolean; secret?: string } = {}) {
  const warnings: string[] = [];
  const kf = createKeyfob({
    environment: workerEnv(keys, options),
    config: config(options.authPost) as never,
    log: { debug() {}, warn: (message) => warnings.push(message) },
  });
  return { kf, warnings };
}

async function tokenOf(kf: Keyfob): Promise<string> {
  const token = (await kf.getToken()).access_token;
  seenTokens.add(token);
  return token;
}

/** A process of `count` workers (test/support/fleet-worker.ts), driven line by line. */
function workerProcess(count: number, keys: string, extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@keyfob/source', WORKER], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      FLEET_WORKERS: String(count),
      FLEET_WORKER: JSON.stringify({ environment: workerEnv(keys), config: config() }),
      ...extra,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<(line: Record<string, unknown>) => void> = [];
  const early: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const next = waiting.shift();
    if (next) next(parsed);
    else early.push(parsed);
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve) => {
      const queued = early.shift();
      if (queued) resolve(queued);
      else waiting.push(resolve);
    });
  return {
    child,
    next,
    async tokens(): Promise<{ tokens: Array<string | null>; errors: string[]; warnings: string[][] }> {
      child.stdin.write(`${JSON.stringify({ op: 'token' })}\n`);
      const reply = (await next()) as {
        tokens: Array<string | null>;
        errors: string[];
        warnings: string[][];
      };
      for (const token of reply.tokens) if (token) seenTokens.add(token);
      return reply;
    },
    async exit() {
      child.stdin.write(`${JSON.stringify({ op: 'exit' })}\n`);
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/** Every key and value in Redis holds no token seen, no client secret, no fleet key. */
async function assertNothingInClear(): Promise<void> {
  const all = await everything(redis.admin());
  assert.ok(all.size > 0, 'the fleet stored something');
  const secrets = [
    ...seenTokens,
    idp.clients.machine.client_secret,
    idp.clients.machinePost.client_secret,
    ...usedKeys,
    ...usedKeys.map((k) => Buffer.from(k, 'base64').toString('hex')),
  ];
  for (const [name, value] of all) {
    for (const secret of secrets) {
      assert.ok(!name.includes(secret) && !value.includes(secret), `${name} holds a secret in clear`);
    }
    // No JWT, nor a piece of one (its header), nor the client id or issuer (the identity).
    assert.doesNotMatch(value, /eyJ/, `${name} holds something JWT-shaped`);
    assert.ok(
      !value.includes(idp.clients.machine.client_id) && !name.includes(idp.clients.machine.client_id),
    );
    assert.ok(!value.includes(idp.issuer), `${name} names the issuer in clear`);
  }
}

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
    await redis.admin().flushall();
    const key = newKey();
    const workers = Array.from({ length: 5 }, () => worker(key));
    const round = async () => Promise.all(workers.map((w) => tokenOf(w.kf)));
    try {
      let before = requests();
      assert.equal(new Set(await round()).size, 1);
      assert.equal(requests() - before, 1);

      await redis.kill();
      await sleep(TTL * 1000 + 300);
      before = requests();
      const alone = await round();
      assert.equal(requests() - before, 5, 'each worker acquired its own token');
      assert.equal(new Set(alone).size, 5);
      // Calls made while alone ask nothing of the dead Redis, and say nothing more.
      await round();

      await redis.restart();
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
          new RegExp(`fleet: redis://127\\.0\\.0\\.1:${redis.port} did not answer \\(`),
        );
      }
    } finally {
      await Promise.all(workers.map((w) => w.kf.close()));
    }
  });

  it('a worker kept busy while alone (a renewal every 300 ms) still tries Redis again and rejoins', async () => {
    await redis.admin().flushall();
    const w = worker(newKey());
    try {
      await tokenOf(w.kf);
      await redis.kill();
      const renew = async () => seenTokens.add((await w.kf.getToken({ forceRefresh: true })).access_token);
      for (let i = 0; i < 5; i++) {
        await renew();
        await sleep(300);
      }
      await redis.restart();
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
    await redis.admin().flushall();
    const key = newKey();
    const paused = workerProcess(1, key, { FLEET_SLOW_TOKEN_MS: '800' });
    const admin = redis.admin();
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

describe('entries that are not trusted', () => {
  it('a worker with another fleet key ignores the entries and overwrites none; the others keep sharing', async () => {
    await redis.admin().flushall();
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
    await redis.admin().flushall();
    const admin = redis.admin();
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
    await redis.admin().flushall();
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
        await redis.admin().flushall();
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
      await redis.admin().flushall();
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
    await redis.admin().flushall();
    const key = newKey();
    const yaml = [
      '  machine:',
      '    type: exchange',
      '    login: robot',
      `    control_plane: ${idp.controlPlane}`,
      `    api_base: ${new URL(serverUrl(idp, 'acme-eu')).origin}`,
      'profiles:',
      '  ci:',
      '    provider: machine',
      '    tenant: acme-eu',
    ].join('\n');
    const workers = [0, 1].map(() => {
      const home = makeHome(idp, yaml);
      usedKeys.push(key);
      return createKeyfob({
        environment: { ...home.env, KEYFOB_FLEET_REDIS: redis.url, KEYFOB_FLEET_KEY: key },
      });
    });
    try {
      // Each home's first login is its own (not shared); their renewals are.
      for (const kf of workers) seenTokens.add((await kf.getToken({ profile: 'ci' })).access_token);
      await sleep(TTL * 1000 + 300);
      const exchanges = idp.stats.controlPlane.exchanges;
      const before = requests();
      const renewed = await Promise.all(workers.map((kf) => kf.getToken({ profile: 'ci' })));
      for (const t of renewed) seenTokens.add(t.access_token);
      assert.equal(renewed[0]?.access_token, renewed[1]?.access_token);
      assert.equal(idp.stats.controlPlane.exchanges - exchanges, 1, 'one exchange for both homes');
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
      assert.equal(clientOf(a?.access_token), idp.clients.machine.client_id);
      assert.equal(clientOf(b?.access_token), idp.clients.machinePost.client_id);
    } finally {
      await Promise.all(instances.map((kf) => kf.close()));
    }
  });
});
