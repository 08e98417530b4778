/**
 * The fleet's Redis connection, bounded everywhere (STACK.md: ioredis's defaults wait forever
 * on a dead server): no offline queue, connect and command timeouts, no retry per request, a
 * bounded wait for `ready`, an `error` handler, and no reconnection in the background. A
 * connection that broke is made again on a later call, at most once per `retryMs`, so a worker
 * whose Redis is down pays nothing per call while it works alone.
 *
 * ioredis is loaded (dynamic import) only here, only when a fleet is configured.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { Redis, RedisOptions } from 'ioredis';
import { redisDisplay } from './keys.js';

/** Bounds of every Redis call; the defaults suit a Redis on the same network. */
export interface RedisBounds {
  /** TCP (and TLS) connect, then the ready check, in ms. */
  connectMs: number;
  /** One command, in ms: a slower Redis counts as down for this call. */
  commandMs: number;
  /** After a failure, how long calls go alone before connecting again, in ms. */
  retryMs: number;
}

export const DEFAULT_BOUNDS: RedisBounds = { connectMs: 2_000, commandMs: 1_000, retryMs: 2_000 };

/** What the connection needs besides the URL: the CA bundle of the instance, TLS verification. */
export interface RedisTlsSettings {
  caFiles: ReadonlyArray<{ path: string }>;
  verifyTls: boolean;
}

/** Thrown by `ready()` while the last failure is recent: it carries that failure's words. */
export class StillDown extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : 'Redis is down', { cause });
  }
}

/** One fleet's connection, made on first use. */
export class FleetRedis {
  readonly #url: string;
  readonly #tls: RedisTlsSettings;
  readonly #bounds: RedisBounds;
  #redis: Redis | null = null;
  #connecting: Promise<Redis> | null = null;
  #failedAt = Number.NEGATIVE_INFINITY;
  #lastError: unknown = null;
  #closed = false;

  constructor(url: string, tls: RedisTlsSettings, bounds: RedisBounds = DEFAULT_BOUNDS) {
    this.#url = url;
    this.#tls = tls;
    this.#bounds = bounds;
  }

  /** `redis://host:port`, without credentials: what messages name. */
  get display(): string {
    return redisDisplay(this.#url);
  }

  get bounds(): RedisBounds {
    return this.#bounds;
  }

  /**
   * A ready connection, or a throw within the connect bound: refused, timed out, wrong
   * password or user, TLS refused; or at once while the last failure is recent.
   */
  async ready(): Promise<Redis> {
    if (this.#closed) throw new Error('the fleet connection is closed');
    if (this.#redis?.status === 'ready') return this.#redis;
    if (this.#connecting) return this.#connecting;
    // Inside the pause after a failure: that failure again, without extending the pause.
    if (Date.now() - this.#failedAt < this.#bounds.retryMs) throw new StillDown(this.#lastError);
    this.#connecting = this.#connect().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  /** Records a failed call: the connection is dropped and made again after `retryMs`. */
  failed(error: unknown): void {
    if (error instanceof StillDown) return;
    this.#failedAt = Date.now();
    this.#lastError = error;
    const redis = this.#redis;
    this.#redis = null;
    redis?.disconnect();
  }

  /** Closes the connection (`kf.close()`); a later call connects again. */
  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = null;
    if (!redis) return;
    await Promise.race([redis.quit().catch(() => {}), sleep(this.#bounds.commandMs)]);
    redis.disconnect();
  }

  async #connect(): Promise<Redis> {
    const { default: RedisClass } = await import('ioredis');
    const redis = new RedisClass({ ...(await this.#options()), lazyConnect: true });
    const errors: unknown[] = [];
    // Without a handler ioredis prints every connection error; they are reported by the caller.
    redis.on('error', (error: unknown) => {
      errors.push(error);
    });
    // An idle fleet connection never keeps a process alive (a CLI that forgot `kf.close()`).
    redis.on('connect', () => {
      (redis as unknown as { stream?: { unref?: () => void } }).stream?.unref?.();
    });
    const timer = deferredTimeout(this.#bounds.connectMs + this.#bounds.commandMs, 'Redis did not get ready');
    try {
      await Promise.race([redis.connect(), timer.promise]);
      if (redis.status !== 'ready') throw new Error('Redis did not get ready');
    } catch (error) {
      redis.disconnect();
      const cause = errors.find((e) => e instanceof Error && e.message !== 'Connection is closed.') ?? error;
      this.failed(cause);
      throw cause;
    } finally {
      timer.cancel();
    }
    this.#redis = redis;
    redis.once('end', () => {
      if (this.#redis === redis) this.#redis = null;
    });
    return redis;
  }

  async #options(): Promise<RedisOptions> {
    const url = new URL(this.#url);
    const db = /^\/(\d{1,2})$/.exec(url.pathname)?.[1];
    const options: RedisOptions = {
      host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : 6379,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      ...(db ? { db: Number(db) } : {}),
      enableOfflineQueue: false,
      connectTimeout: this.#bounds.connectMs,
      commandTimeout: this.#bounds.commandMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      reconnectOnError: () => false,
      autoResubscribe: false,
    };
    if (url.protocol === 'rediss:') {
      // The instance's CA bundle beside the system's roots, as for https (`<PREFIX>_CA_BUNDLE`).
      const extra = await Promise.all(this.#tls.caFiles.map((file) => readFile(file.path, 'utf8')));
      options.tls = {
        // SNI names a host, never an address (RFC 6066); an address is checked against the IP SANs.
        ...(options.host && isIP(options.host) === 0 ? { servername: options.host } : {}),
        rejectUnauthorized: this.#tls.verifyTls,
        ...(extra.length > 0 ? { ca: [...rootCertificates, ...extra] } : {}),
      };
    }
    return options;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function deferredTimeout(ms: number, message: string): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  promise.catch(() => {});
  return { promise, cancel: () => clearTimeout(timer) };
}
