/**
 * A fleet's settings and keys: `fleet:` in the config, or `<PREFIX>_FLEET_REDIS` and
 * `<PREFIX>_FLEET_KEY` (DESIGN.md, Fleets). Parsing only; nothing here touches Redis.
 */
import { createHmac } from 'node:crypto';

/** One fleet key: its 32 bytes and the id written in each entry it encrypts. */
export interface FleetKey {
  readonly id: string;
  readonly bytes: Buffer;
}

/**
 * The 32 bytes of a fleet key written as base64 (standard or url-safe, padded or not) or as 64
 * hex digits; `null` for anything else. Never echoes the text (it is a secret).
 */
export function parseFleetKey(text: string): Buffer | null {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (!/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(value)) return null;
  if (/[+/]/.test(value) && /[-_]/.test(value)) return null;
  const bytes = Buffer.from(value.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
  return bytes.length === 32 ? bytes : null;
}

/**
 * The id of a key, written in each entry: an HMAC of a fixed label under the key, so it names
 * the key without revealing anything of it, and another key never has the same id.
 */
export function fleetKeyId(bytes: Buffer): string {
  return createHmac('sha256', bytes).update('keyfob fleet key id v1').digest('hex').slice(0, 16);
}

/** The keys of a list as written (newest first), parsed; `null` when one does not parse. */
export function fleetKeys(texts: readonly string[]): FleetKey[] | null {
  const keys: FleetKey[] = [];
  for (const text of texts) {
    const bytes = parseFleetKey(text);
    if (!bytes) return null;
    keys.push({ id: fleetKeyId(bytes), bytes });
  }
  return keys;
}

/** `KEYFOB_FLEET_KEY`: one key, or several separated by commas (the newest first) for a rotation. */
export function splitKeyList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/** Why a Redis URL is refused, or `null`: `redis://` or `rediss://`, a host, no query or fragment. */
export function redisUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be a URL such as redis://127.0.0.1:6379 or rediss://user:${PASSWORD}@host:6380';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return 'must start with redis:// or rediss://';
  if (url.hostname === '') return 'must name a host';
  if (url.hash !== '') return 'must not contain a fragment (#…)';
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,2}$/.test(url.pathname)) {
    return 'may name only a database number as its path (redis://host:6379/0)';
  }
  return null;
}

/** True when the URL carries a password (or a user name alone, which Redis takes as one). */
export function redisUrlHasPassword(text: string): boolean {
  try {
    const url = new URL(text);
    return url.password !== '' || url.username !== '';
  } catch {
    return false;
  }
}

/** The URL without its user and password, for messages: `rediss://cache.internal:6380`. */
export function redisDisplay(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'the fleet Redis';
  }
}
