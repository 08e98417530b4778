/**
 * `kf.importSession()`: a session another system obtained (an SSO broker, a web login, a device
 * flow run elsewhere) stored as a profile's, bound to its provider like a login's, so it is then
 * renewed like any other. Everything is checked before anything is written.
 */
import { InvalidInput } from '../errors.js';
import { bindingOf } from '../lifecycle/binding.js';
import { isProfileName } from '../profile-name.js';
import { type AccessToken, accessTokenKey, newSession, parseScopes } from '../session.js';
import type { InstanceContext } from './context.js';
import { persistSession } from './persist.js';
import type { ImportSessionOptions, ImportSessionResult } from './types.js';

/** Provider types whose sessions are an access token and a refresh token at a token endpoint. */
const IMPORTABLE = new Set(['oidc', 'oauth2', 'password', 'firebase']);
const MAX_TOKEN = 64 * 1024;
const PRINTABLE_TOKEN = /^[\x21-\x7e]+$/;

/**
 * Stores `options` as the profile's session (in its store and the state file), bound to the
 * provider's place.
 * @throws InvalidInput naming the field that is wrong (never its value); nothing is written.
 */
export async function importSession(
  ctx: InstanceContext,
  options: ImportSessionOptions,
): Promise<ImportSessionResult> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInput('importSession takes an object');
  const { profile, provider } = options;
  if (!isProfileName(profile)) {
    throw new InvalidInput('importSession: profile must be a profile name (letters, digits, ".", "_", "-")');
  }
  if (typeof provider !== 'string' || provider === '') {
    throw new InvalidInput('importSession: provider must name a configured provider');
  }
  const accessToken = tokenField(options.accessToken, 'accessToken', true) as string;
  const refreshToken = tokenField(options.refreshToken, 'refreshToken', false);
  const expiresIn = options.expiresIn;
  if (expiresIn !== undefined && (!Number.isInteger(expiresIn) || (expiresIn as number) <= 0)) {
    throw new InvalidInput('importSession: expiresIn must be a whole number of seconds above 0');
  }
  const scopes = options.scopes;
  if (
    scopes !== undefined &&
    typeof scopes !== 'string' &&
    !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))
  ) {
    throw new InvalidInput('importSession: scopes must be a string or a list of strings');
  }
  const tenant = options.tenant;
  if (tenant !== undefined && (typeof tenant !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(tenant))) {
    throw new InvalidInput('importSession: tenant must be a tenant id (letters, digits, ".", "_", "-")');
  }
  const cfg = await ctx.config();
  const providerConfig = Object.hasOwn(cfg.providers, provider) ? cfg.providers[provider] : undefined;
  if (!providerConfig) {
    throw new InvalidInput(`importSession: provider ${provider.slice(0, 64)} is not configured`, {
      hint: `configured: ${Object.keys(cfg.providers).join(', ') || 'none'}`,
    });
  }
  if (!IMPORTABLE.has(providerConfig.type)) {
    throw new InvalidInput(
      `importSession: provider ${provider} is ${providerConfig.type}; sessions of oidc, oauth2, password and firebase providers can be imported`,
    );
  }
  const now = ctx.now();
  const granted = parseScopes(scopes ?? providerConfig.scopes ?? []);
  const resource = 'resource' in providerConfig ? (providerConfig.resource ?? null) : null;
  const access: AccessToken = {
    token: accessToken,
    token_type: 'Bearer',
    expires_at:
      expiresIn === undefined
        ? expiryClaim(accessToken)
        : new Date(now.getTime() + expiresIn * 1000).toISOString(),
    obtained_at: now.toISOString(),
    scopes: granted,
    resource,
  };
  const session = newSession(provider, 'token', now);
  session.subject = subjectClaim(accessToken);
  session.scopes = granted;
  session.refresh_token = refreshToken ?? null;
  session.access_tokens[accessTokenKey(resource, granted)] = access;
  if (tenant !== undefined) session.tenant = { id: tenant, name: null, region: null, server_url: null };
  const boundTo = bindingOf(providerConfig, ctx.lookupProvider(cfg));
  if (boundTo) session.bound_to = boundTo;
  const st = await ctx.state();
  const binding = ctx.binding(cfg, st, profile);
  const persisted = await persistSession(ctx, cfg, binding, profile, provider, session, {
    persist: options.persist !== false,
    makeActive: options.makeActive === true,
    personPresent: false,
  });
  return {
    profile,
    provider,
    store: persisted.store,
    expires_at: access.expires_at,
    notices: persisted.notices,
  };
}

function tokenField(value: unknown, name: string, required: boolean): string | undefined {
  if (value === undefined && !required) return undefined;
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > MAX_TOKEN ||
    !PRINTABLE_TOKEN.test(value)
  ) {
    throw new InvalidInput(`importSession: ${name} must be a non-empty token of printable characters`);
  }
  return value;
}

/** A JWT's claims, read and not verified (the provider verified them when it minted the token). */
function claims(token: string): Record<string, unknown> | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function subjectClaim(token: string): string | null {
  const sub = claims(token)?.sub;
  return typeof sub === 'string' && sub.length <= 256 ? sub : null;
}

function expiryClaim(token: string): string | null {
  const exp = claims(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : null;
}
