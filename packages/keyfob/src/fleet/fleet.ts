/**
 * One fleet: a token for an identity from Redis when a fresh one is there, else acquired by one
 * worker under a short lock and shared through a compare-and-set; alone whenever Redis does not
 * answer within its bounds (DESIGN.md, Fleets).
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { FleetRedis } from './client.js';
import { entryNames, type FleetIdentity, type FleetToken, openEntry, sealEntry } from './entry.js';
import { FleetHealth } from './health.js';
import type { FleetKey } from './keys.js';
import { compareAndSet, type ReadEntry, readEntry, tryLock } from './ops.js';

/** A fleet's settings, resolved from `fleet:` or the environment. */
export interface FleetSettings {
  url: string;
  prefix: string;
  keys: FleetKey[];
  /** `fleet:` in the config, or the variables. */
  source: string;
}

/** What a worker asks of the fleet. */
export interface ObtainRequest<T> {
  identity: FleetIdentity;
  /** The client secret: entry names are keyed by its hash. */
  secret: string;
  /** The freshness rule's minimum remaining life, in seconds. */
  minTtlSeconds: number;
  /** A token the caller holds and wants replaced (renewal after a 401): it never counts as fresh. */
  replacing: string | null;
  /** Gets a token from the provider: what a worker does alone. */
  acquire(): Promise<Acquired<T>>;
}

/** A token the provider gave, with what the caller wants back. */
export interface Acquired<T> {
  /** `null` when the token has no known expiry: it is then not shared. */
  token: (FleetToken & { remainingMs: number }) | null;
  value: T;
}

/** Where the worker's token came from. */
export type Obtained<T> =
  | { from: 'fleet'; token: FleetToken; remainingMs: number }
  | { from: 'provider'; value: T; shared: boolean };

/** Tuning; the defaults suit tokens that live minutes to hours. */
export interface FleetTiming {
  /** Life of the lock in ms; renewed while held. */
  lockMs: number;
  /** How often a waiter reads the entry again, in ms. */
  pollMs: number;
  /** How long a worker whose token expired waits for another's, in ms, before acquiring alone. */
  waitMs: number;
}

export const DEFAULT_TIMING: FleetTiming = { lockMs: 5_000, pollMs: 50, waitMs: 12_000 };

class RedisFailure extends Error {}

export class Fleet {
  readonly settings: FleetSettings;
  readonly redis: FleetRedis;
  readonly #health: FleetHealth;
  readonly #timing: FleetTiming;

  constructor(settings: FleetSettings, redis: FleetRedis, log: Logger, timing: FleetTiming = DEFAULT_TIMING) {
    this.settings = settings;
    this.redis = redis;
    this.#timing = timing;
    this.#health = new FleetHealth(redis.display, log);
  }

  /** A token for the identity: the fleet's when fresh, else acquired (shared when Redis answers). */
  async obtain<T>(request: ObtainRequest<T>): Promise<Obtained<T>> {
    const names = entryNames(this.settings.prefix, request.secret, request.identity);
    const lockName = names.entry.replace(/:t:/, ':l:');
    const deadline = Date.now() + this.#timing.waitMs;
    try {
      const redis = await this.#call(() => this.redis.ready());
      for (;;) {
        const seen = await this.#read(redis, names);
        const usable = this.#open(request, seen);
        if (usable === 'unknown-key') return await this.#alone(request);
        if (usable && this.#fresh(usable, seen.pttlMs, request)) return fleetToken(usable, seen.pttlMs);
        const lock = await this.#call(() => tryLock(redis, lockName, this.#timing.lockMs));
        if (lock) {
          try {
            return await this.#renewHolding(redis, names, request);
          } finally {
            await lock.release();
          }
        }
        // Another worker is renewing: a token still valid is used meanwhile; an expired one waited for.
        if (usable && seen.pttlMs > 0 && usable.token !== request.replacing)
          return fleetToken(usable, seen.pttlMs);
        if (Date.now() >= deadline) {
          this.#health.note('waited', `no token appeared in ${this.redis.display} in time`);
          return await this.#alone(request);
        }
        await sleep(this.#timing.pollMs);
      }
    } catch (error) {
      if (!(error instanceof RedisFailure)) throw error;
      return this.#alone(request);
    }
  }

  /** Under the lock: read again, acquire, and store only if no one wrote meanwhile. */
  async #renewHolding<T>(
    redis: Redis,
    names: { entry: string; generation: string },
    request: ObtainRequest<T>,
  ): Promise<Obtained<T>> {
    const again = await this.#read(redis, names);
    const usable = this.#open(request, again);
    if (usable === 'unknown-key') return this.#alone(request);
    if (usable && this.#fresh(usable, again.pttlMs, request)) return fleetToken(usable, again.pttlMs);
    const acquired = await request.acquire();
    if (!acquired.token || acquired.token.remainingMs <= 0)
      return { from: 'provider', value: acquired.value, shared: false };
    const { remainingMs, ...token } = acquired.token;
    const sealed = sealEntry(this.settings.keys, request.identity, token);
    try {
      const written = await this.#call(() =>
        compareAndSet(redis, names, again.generation, sealed, remainingMs),
      );
      if (written !== null) return { from: 'provider', value: acquired.value, shared: true };
      // A worker whose lock expired lost: the newer token is the fleet's, and this one is used alone.
      const newer = await this.#read(redis, names);
      const theirs = this.#open(request, newer);
      if (theirs && theirs !== 'unknown-key' && newer.pttlMs > 0) return fleetToken(theirs, newer.pttlMs);
    } catch (error) {
      if (!(error instanceof RedisFailure)) throw error;
    }
    return { from: 'provider', value: acquired.value, shared: false };
  }

  async #alone<T>(request: ObtainRequest<T>): Promise<Obtained<T>> {
    return { from: 'provider', value: (await request.acquire()).value, shared: false };
  }

  async #read(redis: Redis, names: { entry: string; generation: string }): Promise<ReadEntry> {
    return this.#call(() => readEntry(redis, names));
  }

  /** The entry's token, `null` when there is none or it is corrupt, or that its key is unknown. */
  #open(request: ObtainRequest<unknown>, seen: ReadEntry): FleetToken | null | 'unknown-key' {
    if (seen.text === null || seen.pttlMs <= 0) return null;
    const opened = openEntry(this.settings.keys, request.identity, seen.text);
    if (opened.ok) return opened.token;
    if (opened.why === 'unknown-key') {
      this.#health.note(
        'unknown-key',
        `an entry in ${this.redis.display} is encrypted under a key this worker does not have; it is not trusted (check the fleet's encryption keys)`,
      );
      return 'unknown-key';
    }
    this.#health.note(
      'corrupt',
      `an entry in ${this.redis.display} could not be opened (corrupt, or moved from another identity); it is not trusted and is replaced`,
    );
    return null;
  }

  /** DESIGN.md's freshness rule on Redis's clock: the remaining life is the entry's `PTTL`. */
  #fresh(token: FleetToken, pttlMs: number, request: ObtainRequest<unknown>): boolean {
    if (token.token === request.replacing) return false;
    return pttlMs > 0 && pttlMs >= Math.min(request.minTtlSeconds * 1000, token.lifetime_ms / 2);
  }

  /** Runs one Redis step: a failure marks the worker alone (said once) and is a RedisFailure. */
  async #call<R>(step: () => Promise<R>): Promise<R> {
    try {
      const result = await step();
      this.#health.up();
      return result;
    } catch (error) {
      this.redis.failed(error);
      this.#health.down(error);
      throw new RedisFailure('the fleet Redis failed', { cause: error });
    }
  }

  /** Closes the connection (`kf.close()`). */
  close(): Promise<void> {
    return this.redis.close();
  }
}

function fleetToken<T>(token: FleetToken, remainingMs: number): Obtained<T> {
  // An entry never has more life left than its token had in all: a Redis that says otherwise is wrong.
  return { from: 'fleet', token, remainingMs: Math.min(remainingMs, token.lifetime_ms) };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
