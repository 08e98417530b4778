/**
 * The credentials keyfob holds for one call (issue #13's "credentials keyfob holds"), for the
 * agent tools' executor and the credential proxy alike: the credential being injected, the
 * resolved profile's stored session (its access tokens, refresh token, ID token, client secret,
 * admin key), client secrets and admin keys of the configuration and of the environment,
 * `<PREFIX>_TOKEN`, `_PASSPHRASE` and the credentials given to `createKeyfob`. Only the profile
 * the call uses is read: never every profile's store.
 *
 * Redaction is best effort, by whole value: a credential is found where it appears as it was
 * held (alone, as `Bearer <token>`, inside a cookie or any longer string). One a server
 * transforms first (base64 or percent-encoded, split, reversed, hashed) is not recognised.
 */
import { type AppNames, envVar } from './config/names.js';
import type { InstanceContext } from './instance/context.js';
import { callExplicit } from './instance/token.js';

/** What replaces a credential. */
export const REDACTED = '[REDACTED]';

/**
 * Credentials shorter than this are not searched for: a short value would match ordinary text
 * everywhere (real tokens and secrets are far longer).
 */
export const MIN_SECRET_LENGTH = 8;

/** The credentials keyfob holds for one call, longest first (a token before its prefix). */
export class HeldSecrets {
  readonly #values: string[];
  constructor(values: Iterable<string | null | undefined>) {
    const set = new Set<string>();
    for (const v of values) if (typeof v === 'string' && v.length >= MIN_SECRET_LENGTH) set.add(v);
    this.#values = [...set].sort((a, b) => b.length - a.length);
  }
  /** The credentials, longest first (for a streaming redactor). */
  get values(): readonly string[] {
    return this.#values;
  }
  /** How many credentials there are (for tests and logs: never which). */
  get size(): number {
    return this.#values.length;
  }
  /** True when `text` contains any of them. */
  foundIn(text: string): boolean {
    return this.#values.some((v) => text.includes(v));
  }
  /** `text` with each occurrence replaced, and how many were. */
  redact(text: string): { text: string; count: number } {
    let count = 0;
    let out = text;
    for (const v of this.#values) {
      if (!out.includes(v)) continue;
      const pieces = out.split(v);
      count += pieces.length - 1;
      out = pieces.join(REDACTED);
    }
    return { text: out, count };
  }
}

/** Suffixes of the variables that carry a credential keyfob reads. */
export const CREDENTIAL_SUFFIXES = [
  'TOKEN',
  'CLIENT_SECRET',
  'ADMIN_API_KEY',
  'PASSPHRASE',
  // A fleet's keys, and its Redis URL (it may hold a password).
  'FLEET_KEY',
  'FLEET_REDIS',
] as const;

/**
 * True for an environment variable a template may not read: one of keyfob's credential
 * variables (renamed or not), or any `*_ADMIN_API_KEY`.
 */
export function isCredentialVariable(names: AppNames, name: string): boolean {
  if (/_ADMIN_API_KEY$/.test(name) || name === 'ADMIN_API_KEY') return true;
  return CREDENTIAL_SUFFIXES.some((suffix) => envVar(names, suffix) === name);
}

/**
 * Every credential the call may hold, read without sending anything.
 * @param injected the token the call sends (or sent), when there is one.
 */
export async function heldSecrets(
  ctx: InstanceContext,
  profile: string | undefined,
  injected: readonly string[],
): Promise<HeldSecrets> {
  const values: Array<string | null | undefined> = [...injected];
  for (const suffix of CREDENTIAL_SUFFIXES) values.push(ctx.env[envVar(ctx.names, suffix)]);
  for (const [name, value] of Object.entries(ctx.env)) if (/_ADMIN_API_KEY$/.test(name)) values.push(value);
  values.push(ctx.explicit.token, ctx.explicit.clientSecret);
  try {
    const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
    for (const provider of Object.values(cfg.providers)) {
      const p = provider as { client_secret?: unknown; admin_api_key?: unknown };
      if (typeof p.client_secret === 'string') values.push(p.client_secret);
      if (typeof p.admin_api_key === 'string') values.push(p.admin_api_key);
    }
    if (cfg.fleet) values.push(cfg.fleet.redis, ...cfg.fleet.encryption_keys);
    const fleetKeys = ctx.env[envVar(ctx.names, 'FLEET_KEY')];
    if (fleetKeys?.includes(',')) values.push(...fleetKeys.split(',').map((k) => k.trim()));
    const { resolved } = ctx.resolve(callExplicit(profile !== undefined ? { profile } : {}), cfg, st);
    if (resolved.kind === 'client_credentials') values.push(resolved.clientSecret);
    if (resolved.kind === 'token') values.push(resolved.token);
    if (resolved.kind === 'profile') {
      const binding = ctx.binding(cfg, st, resolved.profile);
      const store = ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind);
      const session = await store.read(resolved.profile);
      if (session) {
        values.push(session.refresh_token, session.id_token, session.client_secret);
        values.push((session as { admin_api_key?: string }).admin_api_key);
        for (const token of Object.values(session.access_tokens)) values.push(token.token);
      }
    }
  } catch {
    // Best effort: a config or store that cannot be read leaves the credentials gathered so far
    // (the call itself then fails with the reason).
  }
  return new HeldSecrets(values);
}
