/**
 * A fleet entry: its name and its sealed content (DESIGN.md, Fleets).
 *
 * Name: an HMAC keyed by a hash of the client secret over the identity, so a worker with
 * another (or a revoked) secret finds nothing, and names do not depend on the fleet keys (workers
 * of adjacent rotation stages find the same entries). Content: AES-256-GCM under the first fleet
 * key, the key's id beside it, the identity as additional data, so an entry moved under another
 * name (another identity) fails to open. Nothing in Redis is a token, a secret or an identity in
 * clear.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { Tenant } from '../session.js';
import type { FleetKey } from './keys.js';

/** What a token is for: the identity an entry is named by and bound to. */
export interface FleetIdentity {
  issuer: string | null;
  token_endpoint: string | null;
  client_id: string;
  control_plane: string | null;
  tenant: string | null;
  resource: string | null;
  /** Sorted, unique. */
  scopes: readonly string[];
}

/** What an entry holds once opened: an access token without its dates, and its lifetime. */
export interface FleetToken {
  token: string;
  token_type: string;
  /** The token's whole lifetime in ms (`expires_in`), for the freshness rule. */
  lifetime_ms: number;
  scopes: string[];
  resource: string | null;
  /** An exchanged token's control plane and tenant (where it may be sent). */
  control_plane?: string | null;
  tenant?: Tenant | null;
}

/** Why an entry could not be opened. */
export type OpenFailure = 'unknown-key' | 'corrupt';

const ENTRY_VERSION = 1;
const MAX_ENTRY_CHARS = 256 * 1024;

/** The identity as the exact bytes both the name and the additional data are made of. */
export function identityBytes(identity: FleetIdentity): Buffer {
  return Buffer.from(
    JSON.stringify([
      'keyfob-fleet-v1',
      identity.issuer,
      identity.token_endpoint,
      identity.client_id,
      identity.control_plane,
      identity.tenant,
      identity.resource,
      [...identity.scopes],
    ]),
  );
}

/** The entry's name under the prefix: `<prefix>:t:<hmac>`; its generation is `<prefix>:g:<hmac>`. */
export function entryNames(
  prefix: string,
  secret: string,
  identity: FleetIdentity,
): { entry: string; generation: string } {
  const key = createHash('sha256').update('keyfob fleet name v1\u0000').update(secret).digest();
  const mac = createHmac('sha256', key).update(identityBytes(identity)).digest('base64url');
  return { entry: `${prefix}:t:${mac}`, generation: `${prefix}:g:${mac}` };
}

/** Seals a token under the first key; the identity is authenticated, not stored. */
export function sealEntry(keys: readonly FleetKey[], identity: FleetIdentity, token: FleetToken): string {
  const key = keys[0];
  if (!key) throw new Error('a fleet needs a key');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv);
  cipher.setAAD(identityBytes(identity));
  const body = Buffer.concat([cipher.update(JSON.stringify(token)), cipher.final()]);
  return JSON.stringify({
    v: ENTRY_VERSION,
    kid: key.id,
    iv: iv.toString('base64url'),
    ct: Buffer.concat([body, cipher.getAuthTag()]).toString('base64url'),
  });
}

/** The key id an entry names, or `null` when the entry is not one of ours. */
export function entryKeyId(text: string): string | null {
  if (text.length > MAX_ENTRY_CHARS) return null;
  try {
    const parsed = JSON.parse(text) as { v?: unknown; kid?: unknown };
    return parsed.v === ENTRY_VERSION && typeof parsed.kid === 'string' ? parsed.kid : null;
  } catch {
    return null;
  }
}

/** Opens an entry with whichever key it names; a failure says whether the key is unknown. */
export function openEntry(
  keys: readonly FleetKey[],
  identity: FleetIdentity,
  text: string,
): { ok: true; token: FleetToken } | { ok: false; why: OpenFailure } {
  // A token is a few KB; anything much larger is not an entry of ours (a hostile or broken Redis).
  if (text.length > MAX_ENTRY_CHARS) return { ok: false, why: 'corrupt' };
  let parsed: { v?: unknown; kid?: unknown; iv?: unknown; ct?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    return { ok: false, why: 'corrupt' };
  }
  if (parsed.v !== ENTRY_VERSION || typeof parsed.iv !== 'string' || typeof parsed.ct !== 'string') {
    return { ok: false, why: 'corrupt' };
  }
  const key = keys.find((k) => k.id === parsed.kid);
  if (!key) return { ok: false, why: 'unknown-key' };
  try {
    const iv = Buffer.from(parsed.iv, 'base64url');
    const sealed = Buffer.from(parsed.ct, 'base64url');
    if (iv.length !== 12 || sealed.length < 17) return { ok: false, why: 'corrupt' };
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv);
    decipher.setAAD(identityBytes(identity));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    const token = JSON.parse(plain.toString('utf8')) as Partial<FleetToken>;
    if (
      typeof token.token !== 'string' ||
      token.token === '' ||
      typeof token.token_type !== 'string' ||
      typeof token.lifetime_ms !== 'number' ||
      !Array.isArray(token.scopes) ||
      !token.scopes.every((s) => typeof s === 'string') ||
      (token.resource !== null && typeof token.resource !== 'string')
    ) {
      return { ok: false, why: 'corrupt' };
    }
    return { ok: true, token: token as FleetToken };
  } catch {
    return { ok: false, why: 'corrupt' };
  }
}
