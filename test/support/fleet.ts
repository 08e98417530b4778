/**
 * The setting of the fleet tests: one dev-idp (tokens living `ttl` seconds) and one redis-server
 * per test file, workers in this process or in processes of their own
 * (`test/support/fleet-worker.ts`), and the check that nothing in Redis is in clear.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createKeyfob, type Keyfob } from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { everything, startRedis, type TestRedis } from './redis.js';

const WORKER = fileURLToPath(new URL('./fleet-worker.ts', import.meta.url));

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** A new fleet key (32 random bytes, base64). */
export const newKey = () => randomBytes(32).toString('base64');

/** Starts dev-idp and redis-server for the calling test file (before/after hooks); its helpers. */
export function fleetBed(ttl: number) {
  let idp: DevIdp;
  let redis: TestRedis;
  const seenTokens = new Set<string>();
  const usedKeys: string[] = [];
  before(async () => {
    [idp, redis] = await Promise.all([
      startDevIdp({ accessTokenTtl: ttl, controlPlaneTokenTtl: ttl }),
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

  return {
    get idp() {
      return idp;
    },
    get redis() {
      return redis;
    },
    seenTokens,
    usedKeys,
    requests,
    config,
    workerEnv,
    worker,
    tokenOf,
    workerProcess,
    assertNothingInClear,
  };
}
