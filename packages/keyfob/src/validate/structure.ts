/**
 * Step 1, structure: is this a JWS compact serialisation keyfob can judge, an opaque token for
 * introspection, or neither? Cheap checks first (length, characters, segment count) so a
 * megabyte of junk is refused before anything is decoded.
 *
 * Decoding is base64url and JSON only (no cryptography): done with Buffer and a strict UTF-8
 * check rather than jose's decoders, which go through `atob`, slow enough on Node 20 to cost
 * a visible share of a whole verification.
 */
import { isUtf8 } from 'node:buffer';
import { shown } from './report.js';

/**
 * The longest token keyfob looks at, in characters. Real tokens stay far below it (HTTP servers
 * refuse headers much larger); anything longer is refused before it is decoded.
 */
export const MAX_TOKEN_LENGTH = 64 * 1024;

export type Structure =
  | {
      kind: 'jws';
      header: Record<string, unknown>;
      claims: Record<string, unknown>;
      /** The header's `alg`, checked to be a string. */
      alg: string;
      /** The header's `kid`, when it has one. */
      kid: string | undefined;
      detail: string;
    }
  | { kind: 'opaque'; detail: string }
  | { kind: 'invalid'; detail: string };

const BASE64URL = /^[A-Za-z0-9_-]*$/;
// Header and claims non-empty; the signature may be empty (alg none), for step 2 to refuse.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// RFC 6750's b64token: what an opaque bearer token may contain.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Reads a token's structure without trusting any of it.
 *
 * @param token The token as given.
 * @param typ When set, the header's `typ` must name this media type (RFC 8725 §3.11), e.g.
 *   `at+jwt` (RFC 9068); compared case-insensitively with or without `application/`.
 */
export function readStructure(token: string, typ?: string): Structure {
  if (typeof token !== 'string' || token.length === 0)
    return { kind: 'invalid', detail: 'the token is empty' };
  if (token.length > MAX_TOKEN_LENGTH) {
    return {
      kind: 'invalid',
      detail: `the token is ${token.length} characters long, more than the ${MAX_TOKEN_LENGTH} a token may have`,
    };
  }
  if (!token.includes('.')) {
    return B64TOKEN.test(token)
      ? { kind: 'opaque', detail: `not a JWT: an opaque token of ${token.length} characters` }
      : { kind: 'invalid', detail: 'the token contains characters no token may contain (spaces, quotes, …)' };
  }
  const segments = token.split('.');
  if (segments.length === 5) {
    return { kind: 'invalid', detail: 'this is an encrypted token (JWE); keyfob has no key to decrypt it' };
  }
  if (segments.length !== 3) {
    return {
      kind: 'invalid',
      detail: `a JWT has three dot-separated segments (header.claims.signature); this token has ${segments.length}`,
    };
  }
  // One pass over the whole token on the common path; per-segment checks only to say which.
  if (!COMPACT_JWS.test(token) || segments.some((segment) => segment.length % 4 === 1)) {
    const names = ['header', 'claims', 'signature'];
    const bad = segments.findIndex((segment) => !BASE64URL.test(segment) || segment.length % 4 === 1);
    if (bad >= 0) return { kind: 'invalid', detail: `the ${names[bad]} segment is not base64url` };
    return { kind: 'invalid', detail: `the ${segments[0] === '' ? 'header' : 'claims'} segment is empty` };
  }
  const header = jsonObject(segments[0] as string);
  if (typeof header === 'string') return { kind: 'invalid', detail: `the header is ${header}` };
  const claims = jsonObject(segments[1] as string);
  if (typeof claims === 'string') return { kind: 'invalid', detail: `the claims are ${claims}` };
  if (typeof header.alg !== 'string' || header.alg === '') {
    return { kind: 'invalid', detail: 'the header has no "alg"' };
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') {
    return { kind: 'invalid', detail: 'the header\'s "kid" is not a string' };
  }
  // RFC 7515 §4.1.11: extensions marked critical must be understood, and keyfob knows none.
  if (header.crit !== undefined) {
    return {
      kind: 'invalid',
      detail: `the header marks extensions as critical (crit: ${shown(header.crit)})`,
    };
  }
  if (typ !== undefined && !sameMediaType(header.typ, typ)) {
    return {
      kind: 'invalid',
      detail: `the header's typ is ${header.typ === undefined ? 'missing' : `"${shown(header.typ)}"`}, expected "${shown(typ)}"`,
    };
  }
  return {
    kind: 'jws',
    header,
    claims,
    alg: header.alg,
    kid: header.kid,
    detail: `a JWS of ${token.length} characters: JSON header and claims`,
  };
}

/**
 * The `alg` and `kid` of what looks like a compact JWS, from its header alone, or `null`. A
 * shortcut for choosing a key before anything else is decoded; it judges nothing:
 * {@link readStructure} remains the structure step, and its verdict wins.
 */
export function peekHeader(token: string): PeekedHeader | null {
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) return null;
  const end = token.indexOf('.');
  if (end <= 0 || end > MAX_PEEKED_HEADER) return null;
  const segment = token.slice(0, end);
  // Every token an issuer signs with one key carries the same header: decode each once.
  const known = peekedHeaders.get(segment);
  if (known) return known;
  const header = jsonObject(segment);
  if (typeof header === 'string' || typeof header.alg !== 'string') return null;
  if (header.kid !== undefined && typeof header.kid !== 'string') return null;
  const peeked: PeekedHeader = { alg: header.alg, kid: header.kid };
  if (peekedHeaders.size >= MAX_PEEKED_HEADERS) peekedHeaders.clear();
  peekedHeaders.set(segment, peeked);
  return peeked;
}

/** What {@link peekHeader} reads. */
export interface PeekedHeader {
  readonly alg: string;
  readonly kid: string | undefined;
}

// Bounded both ways, so that a stream of made-up headers costs memory only up to a limit.
const MAX_PEEKED_HEADER = 1024;
const MAX_PEEKED_HEADERS = 256;
const peekedHeaders = new Map<string, PeekedHeader>();

/**
 * How deep a JSON document may nest. Real tokens stay under five; a claim nested thousands of
 * levels deep is valid JSON that no report, log line or `JSON.stringify` could print.
 */
export const MAX_JSON_NESTING = 32;

const NOT_JSON_OBJECT = 'not a base64url-encoded JSON object';

/**
 * The JSON object a base64url segment encodes, or why not, to follow "is" or "are" ("not a
 * base64url-encoded JSON object", "nested … levels deep").
 */
function jsonObject(segment: string): Record<string, unknown> | string {
  const bytes = Buffer.from(segment, 'base64url');
  if (!isUtf8(bytes)) return NOT_JSON_OBJECT;
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_JSON_OBJECT;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return NOT_JSON_OBJECT;
  const depth = nestingDepth(text);
  if (depth > MAX_JSON_NESTING) {
    return `nested ${depth} levels deep; keyfob reads at most ${MAX_JSON_NESTING}`;
  }
  return value as Record<string, unknown>;
}

/** The deepest nesting of arrays and objects in JSON text that parsed (strings skipped). */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

function sameMediaType(actual: unknown, expected: string): boolean {
  if (typeof actual !== 'string') return false;
  const normal = (v: string) => {
    const lower = v.toLowerCase();
    return lower.includes('/') ? lower : `application/${lower}`;
  };
  return normal(actual) === normal(expected);
}
