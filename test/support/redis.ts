/**
 * A real `redis-server` (Debian's package, which `.ci/run` installs) on 127.0.0.1 and a free
 * port, nothing saved to disk (`--save '' --appendonly no`): with a password, ACL users or TLS
 * (`--tls-port`, certificates from `makeTestCa`) when a test asks. It fails loudly when
 * `redis-server` is missing: a fleet test never passes without Redis.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import type { TestCa } from './tls.js';

export interface RedisOptions {
  /** `requirepass` (the `default` user's password). */
  password?: string;
  /** ACL users made at start: name, password and the key pattern they may use. */
  users?: Array<{ name: string; password: string; keys: string }>;
  /** Serve TLS only (`rediss://`), with this CA's server certificate. */
  tls?: TestCa;
}

export interface TestRedis {
  port: number;
  /** `redis://127.0.0.1:PORT` (or `rediss://`), without credentials. */
  url: string;
  /** The URL with a user and password: `redis://user:pass@127.0.0.1:PORT`. */
  urlAs(user: string, password: string): string;
  /** A connection for the test itself (the admin), to look at or change what is stored. */
  admin(): Redis;
  /** Kills the server (SIGKILL: nothing is flushed, as when a host dies). */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether `redis-server` is installed; the fleet tests need it. */
export function assertRedisInstalled(): void {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    assert.fail('redis-server is missing: install the Debian package redis-server (.ci/run does)');
  }
}

/** Starts a redis-server for one test file. */
export async function startRedis(options: RedisOptions = {}): Promise<TestRedis> {
  assertRedisInstalled();
  const port = await freePort();
  let child: ChildProcess | null = null;
  const admins: Redis[] = [];
  const scheme = options.tls ? 'rediss' : 'redis';

  const connect = () =>
    new Redis({
      host: '127.0.0.1',
      port,
      ...(options.password ? { password: options.password } : {}),
      ...(options.tls ? { tls: { ca: [readCa(options.tls)] } } : {}),
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });

  async function start(): Promise<void> {
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];
    if (options.tls) {
      args.push(
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        options.tls.certFile,
        '--tls-key-file',
        options.tls.keyFile,
        '--tls-ca-cert-file',
        options.tls.caFile,
        '--tls-auth-clients',
        'no',
      );
    } else {
      args.push('--port', String(port));
    }
    if (options.password) args.push('--requirepass', options.password);
    child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = connect();
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`redis-server did not start on port ${port}: ${stderr || String(error)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
    if (options.users?.length) {
      const admin = connect();
      admin.on('error', () => {});
      await admin.connect();
      for (const user of options.users) {
        await admin.call('ACL', 'SETUSER', user.name, 'on', `>${user.password}`, `~${user.keys}`, '+@all');
      }
      admin.disconnect();
    }
  }

  async function kill(): Promise<void> {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  }

  await start();
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    urlAs: (user, password) =>
      `${scheme}://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    admin() {
      const admin = connect();
      admin.on('error', () => {});
      admins.push(admin);
      return admin;
    },
    kill,
    restart: start,
    async stop() {
      for (const admin of admins) admin.disconnect();
      await kill();
    },
  };
}

/** Every key in Redis with its value as text (strings only; a fleet stores nothing else). */
export async function everything(admin: Redis): Promise<Map<string, string>> {
  if (admin.status === 'wait') await admin.connect();
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await admin.type(key);
      assert.equal(type, 'string', `${key} is a ${type}: the fleet stores only strings`);
      out.set(key, (await admin.get(key)) ?? '');
    }
  } while (cursor !== '0');
  return out;
}

function readCa(ca: TestCa): string {
  return readFileSync(ca.caFile, 'utf8');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
