/**
 * The fleet's Redis commands: one atomic read (entry, its `PTTL`, its generation), the
 * compare-and-set on the generation (Lua), and the lock (`SET NX PX`, renewed and released only
 * by its holder). The lock only saves work; the compare-and-set is what keeps a worker whose
 * lock expired from overwriting a newer token (DESIGN.md, Fleets).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** An entry as read: its text, the life Redis gives it (ms, Redis's clock), its generation. */
export interface ReadEntry {
  text: string | null;
  pttlMs: number;
  generation: number;
}

const READ = `
local v = redis.call('GET', KEYS[1])
local t = redis.call('PTTL', KEYS[1])
local g = redis.call('GET', KEYS[2])
return {v or false, t, g or '0'}`;

/** Reads an entry, its remaining life and its generation in one atomic step. */
export async function readEntry(
  redis: Redis,
  names: { entry: string; generation: string },
): Promise<ReadEntry> {
  const reply = (await redis.eval(READ, 2, names.entry, names.generation)) as [string | null, number, string];
  const generation = Number(reply[2]);
  return {
    text: typeof reply[0] === 'string' ? reply[0] : null,
    pttlMs: typeof reply[1] === 'number' ? reply[1] : -2,
    generation: Number.isSafeInteger(generation) ? generation : 0,
  };
}

const COMPARE_AND_SET = `
local g = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if g ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], tostring(g + 1), 'PX', ARGV[4])
return g + 1`;

/**
 * Writes `text` with a life of `ttlMs` only if the generation is still `expected`; the
 * generation then moves on. Returns the new generation, or `null` when another worker wrote
 * first (the caller then reads theirs).
 */
export async function compareAndSet(
  redis: Redis,
  names: { entry: string; generation: string },
  expected: number,
  text: string,
  ttlMs: number,
): Promise<number | null> {
  // The generation outlives the entry: a worker that saw generation G long ago still loses.
  const generationTtl = Math.ceil(ttlMs) + 86_400_000;
  const reply = await redis.eval(
    COMPARE_AND_SET,
    2,
    names.entry,
    names.generation,
    String(expected),
    text,
    String(Math.max(1, Math.floor(ttlMs))),
    String(generationTtl),
  );
  return typeof reply === 'number' && reply > 0 ? reply : null;
}

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A lock this worker holds; renewed in the background until released. */
export interface FleetLock {
  release(): Promise<void>;
}

/**
 * Takes the lock `name` for `ttlMs` if it is free (`SET NX PX`), renewing it every third of
 * that while held; `null` when another worker holds it. A renewal that fails is left alone:
 * the compare-and-set decides, not the lock.
 */
export async function tryLock(redis: Redis, name: string, ttlMs: number): Promise<FleetLock | null> {
  const owner = randomBytes(16).toString('base64url');
  const taken = await redis.set(name, owner, 'PX', ttlMs, 'NX');
  if (taken !== 'OK') return null;
  const timer = setInterval(
    () => {
      redis.eval(RENEW, 1, name, owner, String(ttlMs)).catch(() => {});
    },
    Math.max(50, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await redis.eval(RELEASE, 1, name, owner).catch(() => {});
    },
  };
}

/** Every entry name under the prefix with its remaining life (ms), at most `limit` of them. */
export async function scanEntries(
  redis: Redis,
  prefix: string,
  limit: number,
): Promise<Array<{ name: string; pttlMs: number; text: string | null }>> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:t:*`, 'COUNT', 200);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0' && found.length < limit);
  const names = [...new Set(found)].sort().slice(0, limit);
  const out: Array<{ name: string; pttlMs: number; text: string | null }> = [];
  for (const name of names) {
    const [text, pttl] = (await redis.eval(
      "return {redis.call('GET', KEYS[1]) or false, redis.call('PTTL', KEYS[1])}",
      1,
      name,
    )) as [string | null, number];
    if (pttl > 0) out.push({ name, pttlMs: pttl, text: typeof text === 'string' ? text : null });
  }
  return out;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
