/**
 * Keeping credentials out of what an agent sees (DESIGN.md, Agent tools): a parameter that
 * holds a credential keyfob holds, or anything shaped like a JWT, is refused; a credential a
 * server echoes back is replaced by `[REDACTED]` in the result's data, its error and the log.
 *
 * Best effort, by whole value: a credential is found where it appears as it was held (alone, as
 * `Bearer <token>`, inside a cookie or any longer string). One a server transforms first
 * (base64 or percent-encoded, split, reversed, hashed) is not recognised.
 */

import { HeldSecrets, MIN_SECRET_LENGTH, REDACTED } from '../held-secrets.js';

export { HeldSecrets, MIN_SECRET_LENGTH, REDACTED };

const JWT_CANDIDATE = /[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g;

/**
 * True when `text` is or contains a JWT (or JWS/JWE compact form): three base64url segments
 * whose first decodes to a JSON object with an `alg`. A dotted host name does not qualify.
 */
export function containsJwt(text: string): boolean {
  for (const match of text.matchAll(JWT_CANDIDATE)) {
    const header = match[0].slice(0, match[0].indexOf('.'));
    try {
      const decoded: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
      if (
        typeof decoded === 'object' &&
        decoded !== null &&
        typeof (decoded as { alg?: unknown }).alg === 'string'
      ) {
        return true;
      }
    } catch {
      // Not JSON: not a JWT header.
    }
  }
  return false;
}

/**
 * Why a call's parameters may not be sent, naming only the top-level parameter (never the
 * value, nor a key that might itself be the credential), or `null` when they may.
 */
export function refusedParameter(
  params: Readonly<Record<string, unknown>>,
  held: HeldSecrets,
): string | null {
  for (const [name, value] of Object.entries(params)) {
    const bad = (s: string) => held.foundIn(s) || containsJwt(s);
    if (bad(name)) return 'a parameter name holds a credential or a JWT; refused, nothing was sent';
    const problem = walk(value, 0, bad);
    if (problem === 'credential') {
      return `parameter ${name} holds a credential or a JWT-shaped value; refused, nothing was sent (the executor adds the credential itself)`;
    }
    if (problem === 'deep') return `parameter ${name} nests deeper than 32 levels; refused`;
  }
  return null;
}

function walk(value: unknown, depth: number, bad: (s: string) => boolean): 'credential' | 'deep' | null {
  if (depth > 32) return 'deep';
  if (typeof value === 'string') return bad(value) ? 'credential' : null;
  if (Array.isArray(value)) {
    for (const item of value) {
      const problem = walk(item, depth + 1, bad);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (bad(key)) return 'credential';
      const problem = walk(item, depth + 1, bad);
      if (problem) return problem;
    }
  }
  return null;
}

/**
 * `value` (parsed JSON or text) with every string, keys included, redacted; and how many
 * credentials were replaced.
 */
export function redactValue(value: unknown, held: HeldSecrets): { value: unknown; count: number } {
  let count = 0;
  const str = (s: string) => {
    const r = held.redact(s);
    count += r.count;
    return r.text;
  };
  const visit = (v: unknown): unknown => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return v.map(visit);
    if (typeof v === 'object' && v !== null) {
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [str(k), visit(item)]));
    }
    return v;
  };
  const out = held.size === 0 ? value : visit(value);
  return { value: out, count };
}
