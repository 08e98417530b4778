/**
 * The keychain store's payload: the session envelope read back from a generation's entries,
 * checked against the committed metadata (length, SHA-256, profile, versions) before it is
 * believed. Split from `../keychain.ts`; reads go through a {@link KeychainBackend}.
 */
import { isRecord } from '../../shape.js';
import { innerSession, newerVersion, SESSION_FILE_SCHEMA_VERSION } from '../file.js';
import type { KeychainBackend } from './backend.js';
import { type KeychainMetadata, type PayloadResult, sha256Hex } from './metadata.js';

/** Reads and checks the session a committed generation holds. */
export async function readPayload(
  backend: KeychainBackend,
  profile: string,
  metadata: KeychainMetadata,
): Promise<PayloadResult> {
  let text = '';
  for (let index = 0; index < metadata.chunks; index++) {
    const chunk = await backend.get(metadata.service, `${metadata.account_prefix}/${index}`);
    if (chunk === null) return { status: 'stale' };
    text += Buffer.from(chunk).toString('latin1');
  }
  if (!/^[A-Za-z0-9_-]*$/.test(text))
    return { status: 'corrupt', reason: 'its keychain entries are not base64url' };
  const payload = Buffer.from(text, 'base64url');
  if (payload.length !== metadata.bytes || (await sha256Hex(payload)) !== metadata.sha256) {
    return { status: 'corrupt', reason: 'its keychain entries do not match the recorded digest' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return { status: 'corrupt', reason: 'its keychain payload is not valid JSON' };
  }
  if (!isRecord(parsed)) return { status: 'corrupt', reason: 'its keychain payload is not a JSON object' };
  const version = newerVersion(parsed.schema_version, SESSION_FILE_SCHEMA_VERSION);
  if (version !== null) return { status: 'newer', version };
  if (parsed.schema_version !== SESSION_FILE_SCHEMA_VERSION || parsed.profile !== profile) {
    return { status: 'corrupt', reason: 'its keychain payload belongs to another profile or version' };
  }
  return innerSession(parsed.session);
}
