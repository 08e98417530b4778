/**
 * The fleet's Redis connection (DESIGN.md, Fleets: "Redis down, slow or wrong"): every call is
 * bounded, a worker goes on alone and says so once; a password, an ACL user and `rediss://`
 * with the instance's CA bundle work; a wrong password, a user without rights on the prefix,
 * and a certificate nobody vouches for leave the worker alone, never failing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { everything, startRedis, type TestRedis } from './support/redis.js';
import { makeTestCa, type TestCa } from './support/tls.js';

let idp: DevIdp;
let ca: TestCa;
let secured: TestRedis;
let tls: TestRedis;
const PASSWORD = randomBytes(12).toString('hex');
const WORKER_PASSWORD = randomBytes(12).toString('hex');

before(async () => {
  ca = makeTestCa();
  [idp, secured, tls] = await Promise.all([
    startDevIdp({ accessTokenTtl: 60 }),
    startRedis({
      password: PASSWORD,
      users: [
        { name: 'fleet', password: WORKER_PASSWORD, keys: 'keyfob:*' },
        { name: 'elsewhere', password: WORKER_PASSWORD, keys: 'other:*' },
      ],
    }),
    startRedis({ tls: ca }),
  ]);
});
after(async () => {
  await Promise.all([idp?.close(), secured?.stop(), tls?.stop()]);
  ca?.remove();
});

const requests = () => idp.stats.tokenRequests.client_credentials ?? 0;

function worker(redisUrl: string, key: string, extra: Record<string, string> = {}) {
  const warnings: string[] = [];
  const kf = createKeyfob({
    environment: {
      HOME: '/nonexistent',
      KEYFOB_HOME: '/nonexistent/keyfob',
      KEYFOB_CLIENT_ID: idp.clients.machine.client_id,
      KEYFOB_CLIENT_SECRET: idp.clients.machine.client_secret,
      KEYFOB_FLEET_REDIS: redisUrl,
      KEYFOB_FLEET_KEY: key,
      ...extra,
    },
    config: {
      default_provider: 'robot',
      providers: {
        robot: { type: 'client_credentials', issuer: idp.issuer, client_id: idp.clients.machine.client_id },
      },
    } as never,
    log: { debug() {}, warn: (message) => warnings.push(message) },
  });
  return { kf, warnings };
}

/** Two workers of one fleet: whether the second got the first one's token without a request. */
async function shares(url: string, extra: Record<string, string> = {}) {
  // Each check starts from an empty fleet (an entry sealed under another check's key is not trusted).
  await Promise.all([secured, tls].map((r) => r.admin().flushall()));
  const key = randomBytes(32).toString('hex');
  const a = worker(url, key, extra);
  const b = worker(url, key, extra);
  try {
    const before = requests();
    const first = (await a.kf.getToken()).access_token;
    const second = (await b.kf.getToken()).access_token;
    return {
      shared: first === second && requests() - before === 1,
      warnings: [...a.warnings, ...b.warnings],
    };
  } finally {
    await Promise.all([a.kf.close(), b.kf.close()]);
  }
}

describe('bounded', () => {
  it('a Redis that accepts connections and never answers: the worker acquires alone within the bound, and says so once', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const w = worker(`redis://127.0.0.1:${port}`, randomBytes(32).toString('base64'));
    try {
      const started = Date.now();
      const token = await w.kf.getToken();
      const took = Date.now() - started;
      assert.ok(token.access_token);
      // Generous: a loaded machine is slow, but ioredis's defaults would wait here forever.
      assert.ok(took < 30_000, `the wait is bounded (took ${took} ms)`);
      await w.kf.getToken({ forceRefresh: true });
      assert.equal(w.warnings.filter((m) => /did not answer/.test(m)).length, 1, w.warnings.join('\n'));
    } finally {
      await w.kf.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('a hostile server that answers every command with an error: alone within the bound, its words made safe', async () => {
    const hostile = createServer((socket) => {
      socket.on('data', () => socket.write('-ERR \u001b[31mhostile\r\n'));
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const port = (hostile.address() as { port: number }).port;
    const w = worker(`redis://127.0.0.1:${port}`, randomBytes(32).toString('base64'));
    try {
      const started = Date.now();
      assert.ok((await w.kf.getToken()).access_token);
      assert.ok(Date.now() - started < 30_000);
      assert.equal(w.warnings.length, 1, w.warnings.join('\n'));
      assert.match(w.warnings[0] ?? '', /did not answer \(ERR +\[31mhostile\)/);
      assert.ok(!(w.warnings[0] ?? '').includes('\u001b'), 'no escape character reaches the log');
    } finally {
      await w.kf.close();
      hostile.close();
    }
  });

  it('nothing listening (connection refused): alone at once, no failure', async () => {
    const w = worker('redis://127.0.0.1:1', randomBytes(32).toString('base64'));
    try {
      const started = Date.now();
      assert.ok((await w.kf.getToken()).access_token);
      assert.ok(Date.now() - started < 30_000);
      assert.match(w.warnings.join('\n'), /fleet: redis:\/\/127\.0\.0\.1:1 did not answer \(.*ECONNREFUSED/);
    } finally {
      await w.kf.close();
    }
  });
});

describe('credentials and TLS', () => {
  it('the password (from the variable) works; a wrong one leaves each worker alone, never failing, and no password is printed', async () => {
    assert.equal((await shares(secured.urlAs('', PASSWORD))).shared, true);
    const wrong = await shares(secured.urlAs('', 'not-the-password'));
    assert.equal(wrong.shared, false);
    assert.match(wrong.warnings.join('\n'), /WRONGPASS|NOAUTH|invalid username-password/);
    assert.ok(!wrong.warnings.join('\n').includes('not-the-password'));
    assert.ok(!wrong.warnings.join('\n').includes(PASSWORD));
  });

  it('an ACL user with rights on the prefix shares; one without them (NOPERM) works alone', async () => {
    const allowed = await shares(secured.urlAs('fleet', WORKER_PASSWORD));
    assert.equal(allowed.shared, true, allowed.warnings.join('\n'));
    const keys = [...(await everything(secured.admin())).keys()];
    assert.ok(keys.length > 0 && keys.every((k) => k.startsWith('keyfob:')), keys.join(', '));
    const denied = await shares(secured.urlAs('elsewhere', WORKER_PASSWORD));
    assert.equal(denied.shared, false);
    assert.match(denied.warnings.join('\n'), /NOPERM|No permissions/i);
  });

  it('rediss:// with the CA bundle (KEYFOB_CA_BUNDLE) shares; without it the certificate is refused and the worker is alone', async () => {
    assert.equal((await shares(tls.url, { KEYFOB_CA_BUNDLE: ca.caFile })).shared, true);
    const refused = await shares(tls.url);
    assert.equal(refused.shared, false);
    assert.match(refused.warnings.join('\n'), /certificate|self.signed|unable to (get|verify)/i);
  });
});
