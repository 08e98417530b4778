/**
 * The keychain store's metadata file and pending records: their constants, shapes and parsers.
 * Split from `keychain.ts`, which keeps the store and its commit protocol; nothing here touches
 * the keychain itself.
 */
import { promises as fsp } from 'node:fs';
import { errorCode, fsError, readFileNoFollow } from '../../fs/secure.js';
import type { Session } from '../../session.js';
import { isRecord } from '../../shape.js';
import { newerVersion } from '../file.js';

/** Version of the metadata file. */
export const KEYCHAIN_METADATA_SCHEMA_VERSION = 1;
/**
 * Characters of base64url text per keychain entry: under Windows' 2,560-byte limit with room to
 * spare, and far under macOS's.
 */
export const KEYCHAIN_CHUNK_CHARS = 2_000;
/** The largest session payload accepted, in bytes (a 1 MB token fits). */
export const KEYCHAIN_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

export const METADATA_SUFFIX = '.json';
export const PENDING_SUFFIX = '.pending';
export const MAX_CHUNKS = Math.ceil((KEYCHAIN_MAX_PAYLOAD_BYTES * 4) / 3 / KEYCHAIN_CHUNK_CHARS) + 1;
// A reader racing a writer may find the generation it read about already swept: it re-reads.
export const READ_ATTEMPTS = 4;
export const GENERATION = /^[0-9a-f]{16}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The committed metadata of a profile. */
export interface KeychainMetadata {
  schema_version: typeof KEYCHAIN_METADATA_SCHEMA_VERSION;
  profile: string;
  /** The keychain service the entries were written under. */
  service: string;
  /** `<profile>/<generation>`; entry i is `<account_prefix>/<i>`. */
  account_prefix: string;
  chunks: number;
  /** Length of the payload (the JSON envelope), in bytes. */
  bytes: number;
  /** SHA-256 of the payload, lower-case hex. */
  sha256: string;
  /** ISO 8601 UTC. */
  updated_at: string;
}

export type MetadataInspection =
  | { status: 'missing' }
  | { status: 'ok'; metadata: KeychainMetadata; text: string }
  | { status: 'corrupt'; reason: string; text: string }
  | { status: 'newer'; version: number };

export type PayloadResult =
  | { status: 'ok'; session: Session }
  | { status: 'stale' }
  | { status: 'corrupt'; reason: string }
  | { status: 'newer'; version: number };

export async function inspectMetadata(file: string, profile: string): Promise<MetadataInspection> {
  const text = await readFileNoFollow(file);
  if (text === null) return { status: 'missing' };
  const corrupt = (reason: string): MetadataInspection => ({ status: 'corrupt', reason, text });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return corrupt('its metadata is not valid JSON');
  }
  if (!isRecord(parsed)) return corrupt('its metadata is not a JSON object');
  const version = newerVersion(parsed.schema_version, KEYCHAIN_METADATA_SCHEMA_VERSION);
  if (version !== null) return { status: 'newer', version };
  if (parsed.schema_version !== KEYCHAIN_METADATA_SCHEMA_VERSION) {
    return corrupt('its metadata has no valid schema_version');
  }
  if (parsed.profile !== profile) return corrupt('its metadata names another profile');
  if (!isService(parsed.service)) return corrupt('its metadata has no valid service');
  if (!isGenerationPrefix(parsed.account_prefix, profile))
    return corrupt('its metadata has no valid account_prefix');
  const { chunks, bytes, sha256 } = parsed;
  if (!isChunkCount(chunks)) return corrupt('its metadata has no valid chunk count');
  if (
    typeof bytes !== 'number' ||
    !Number.isInteger(bytes) ||
    bytes < 1 ||
    bytes > KEYCHAIN_MAX_PAYLOAD_BYTES
  ) {
    return corrupt('its metadata has no valid length');
  }
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256))
    return corrupt('its metadata has no valid digest');
  if (typeof parsed.updated_at !== 'string') return corrupt('its metadata has no updated_at');
  return { status: 'ok', metadata: parsed as unknown as KeychainMetadata, text };
}

/** Where one generation of a payload lives. */
export interface Generation {
  service: string;
  account_prefix: string;
  chunks: number;
}

/** The content of `<profile>.<generation>.pending`. */
export interface Pending {
  writing: Generation;
  replacing: Generation | null;
}

export async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw fsError(error, 'remove', file);
  }
}

export function generationOf(metadata: Generation): Generation {
  return { service: metadata.service, account_prefix: metadata.account_prefix, chunks: metadata.chunks };
}

export function parsePending(text: string, profile: string): Pending | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(parsed)) return null;
  const writing = parseGeneration(parsed.writing, profile);
  const replacing = parsed.replacing === null ? null : parseGeneration(parsed.replacing, profile);
  if (writing === null || (parsed.replacing !== null && replacing === null)) return null;
  return { writing, replacing };
}

export function parseGeneration(value: unknown, profile: string): Generation | null {
  if (!isRecord(value)) return null;
  const { service, account_prefix, chunks } = value;
  if (!isService(service) || !isGenerationPrefix(account_prefix, profile) || !isChunkCount(chunks))
    return null;
  return { service, account_prefix, chunks };
}

export function isService(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e][\x20-\x7e]{0,127}$/.test(value);
}

/** `<profile>/<16 hex>`: a generation can never name another profile's entries. */
export function isGenerationPrefix(value: unknown, profile: string): value is string {
  if (typeof value !== 'string') return false;
  const [owner, generation, ...more] = value.split('/');
  return owner === profile && GENERATION.test(generation ?? '') && more.length === 0;
}

export function isChunkCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_CHUNKS;
}

export function splitChunks(text: string): string[] {
  const chunks: string[] = [];
  for (let start = 0; start < text.length; start += KEYCHAIN_CHUNK_CHARS) {
    chunks.push(text.slice(start, start + KEYCHAIN_CHUNK_CHARS));
  }
  return chunks;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data);
  return Buffer.from(digest).toString('hex');
}
