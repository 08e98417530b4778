/**
 * The credentials keyfob holds for one tool call (issue #13's "credentials keyfob holds"): the
 * credential being injected, the resolved profile's stored session (its access tokens, refresh
 * token, ID token, client secret, admin key), client secrets and admin keys of the configuration
 * and of the environment, `<PREFIX>_TOKEN` and the credentials given to `createKeyfob`. Only the
 * profile the call uses is read: never every profile's store.
 */
import { envVar } from '../config/names.js';
import type { InstanceInternals } from '../instance/internals.js';
import { callExplicit } from '../instance/token.js';
import { HeldSecrets } from './redact.js';

/** Suffixes of the variables that carry a credential keyfob reads. */
export const CREDENTIAL_SUFFIXES = ['TOKEN', 'CLIENT_SECRET', 'ADMIN_API_KEY', 'PASSPHRASE'] as const;

/**
 * True for an environment variable a template may not read: one of keyfob's credential
 * variables (renamed or not), or any `*_ADMIN_API_KEY`.
 */
export function isCredentialVariable(inside: InstanceInternals, name: string): boolean {
  if (/_ADMIN_API_KEY$/.test(name) || name === 'ADMIN_API_KEY') return true;
  return CREDENTIAL_SUFFIXES.some((suffix) => envVar(inside.ctx.names, suffix) === name);
}

/**
 * Every credential the call may hold, read without sending anything.
 * @param injected the token the call sends (or sent), when there is one.
 */
export async function heldSecrets(
  inside: InstanceInternals,
  profile: string | undefined,
  injected: readonly string[],
): Promise<HeldSecrets> {
  const { ctx } = inside;
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
