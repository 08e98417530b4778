/**
 * The AuthStore facade (DESIGN.md, Agent tools): the token calls an agent runtime makes, by
 * service name, over keyfob's profiles and stores. A service is a profile (and the provider its
 * sessions come from); every call goes through the instance (`importSession`, `getToken`,
 * `logout`, `profileInfo`), so locking, refresh, stores and error messages are keyfob's own.
 *
 * ```ts
 * const auth = createAuthStore({ keyfob: kf, services: { registry: { profile: 'registry', provider: 'corp' } } });
 * await auth.setToken('registry', { accessToken, refreshToken, expiresIn: 3600 });
 * const token = await auth.getToken('registry', 'registry:read'); // refreshed when needed
 * ```
 */
import { AuthenticationRequired, InsufficientScope, InvalidInput, ProfileNotFound } from '../errors.js';
import type { Keyfob } from '../instance/types.js';
import { isProfileName } from '../profile-name.js';
import { isRecord } from '../shape.js';

/** A service of {@link createAuthStore}: the profile its token lives in, and its provider. */
export interface AuthStoreService {
  profile: string;
  /** The configured provider its sessions come from (renewed there); default: the profile's, else the config's default. */
  provider?: string;
}

/** Options of {@link createAuthStore}. */
export interface AuthStoreOptions {
  keyfob: Keyfob;
  /**
   * Service names and their profiles (a profile name, or `{ profile, provider }`). Without it a
   * service name is a profile name.
   */
  services?: Record<string, string | AuthStoreService>;
}

/** A token another system obtained, for {@link AuthStore.setToken}. */
export interface AuthStoreToken {
  accessToken: string;
  /** Without one the session ends when the access token expires. */
  refreshToken?: string;
  /** Seconds the access token has left; else its `exp` claim, else unknown. */
  expiresIn?: number;
  /** The scopes granted; the provider's configured scopes by default. */
  scopes?: string | readonly string[];
  /** The tenant id the session belongs to. */
  tenant?: string;
}

/** What {@link AuthStore.getCachedMetadata} tells of a service's session: no secret. */
export interface AuthStoreMetadata {
  service: string;
  profile: string;
  provider: string | null;
  scopes: string[];
  /** ISO 8601 UTC, or `null` when unknown. */
  expiresAt: string | null;
  /** ISO 8601 UTC, or `null` when unknown. */
  obtainedAt: string | null;
  tenant?: string;
}

/** What {@link AuthStore.clearToken} did. */
export interface ClearTokenResult {
  service: string;
  profile: string;
  /** A session was stored and is now removed. */
  removed: boolean;
  /** The provider confirmed the refresh token's revocation. */
  revoked: boolean;
  /** Warnings to show (a revocation that failed); never a secret. */
  warnings: string[];
}

/** The facade; see {@link createAuthStore}. */
export interface AuthStore {
  /**
   * Stores a token obtained elsewhere as the service's session (renewed like a login's).
   * @throws InvalidInput for an unknown service, or a token that is empty, too long or holds
   *   whitespace or control characters (the message never holds the value); nothing is written.
   */
  setToken(service: string, token: AuthStoreToken): Promise<void>;
  /**
   * The service's access token, fresh (refreshed when it would expire within a minute).
   * @throws AuthenticationRequired naming the command to run when there is no session.
   * @throws RefreshFailed when a refresh was tried and refused.
   * @throws InsufficientScope when the session was not granted `scope`.
   */
  getToken(service: string, scope?: string): Promise<string>;
  /** Logs the service's profile out: revokes its refresh token where the provider can, removes the session. */
  clearToken(service: string): Promise<ClearTokenResult>;
  /**
   * Whether {@link getToken} would return a token: `false` (never an error) when there is no
   * session, it cannot be renewed, or it lacks `scope`. No network request while the cached
   * token is fresh; an expired one is renewed to answer.
   */
  isAuthenticated(service: string, scope?: string): Promise<boolean>;
  /** The session's provider, scopes, expiry and tenant, or `null` when none is stored. No secret, no request. */
  getCachedMetadata(service: string): Promise<AuthStoreMetadata | null>;
}

// Tokens are opaque strings of visible ASCII; a JWT of many claims stays far below this.
const MAX_TOKEN_LENGTH = 64 * 1024;
const TOKEN = /^[\x21-\x7e]+$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;

/**
 * An AuthStore over `keyfob`'s profiles.
 * @throws InvalidInput when `keyfob` is missing or a service maps to an invalid profile name.
 */
export function createAuthStore(options: AuthStoreOptions): AuthStore {
  if (!isRecord(options) || !isRecord(options.keyfob) || typeof options.keyfob.getToken !== 'function') {
    throw new InvalidInput('createAuthStore needs { keyfob } (a createKeyfob() instance)');
  }
  const kf = options.keyfob;
  const services = serviceMap(options.services);

  function lookup(service: string): { profile: string; provider: string | undefined } {
    if (typeof service !== 'string') throw new InvalidInput('the service name must be a string');
    if (services) {
      const found = Object.hasOwn(services, service) ? services[service] : undefined;
      if (!found) {
        throw new InvalidInput(`unknown service "${printable(service)}"`, {
          hint: `known services: ${Object.keys(services).sort().join(', ') || 'none'}`,
        });
      }
      return found;
    }
    if (!isProfileName(service)) {
      throw new InvalidInput(`service "${printable(service)}" is not a valid profile name`, {
        hint: "use 1 to 64 letters, digits, '.', '_' or '-' (not '.' or '..')",
      });
    }
    return { profile: service, provider: undefined };
  }

  async function token(service: string, scope: string | undefined): Promise<string> {
    const { profile } = lookup(service);
    checkScope(scope);
    try {
      const result = await kf.getToken({ profile, ...(scope !== undefined ? { scopes: [scope] } : {}) });
      return result.access_token;
    } catch (error) {
      // A service whose profile was never stored is "not logged in", with the command to run.
      if (error instanceof ProfileNotFound) {
        const info = await kf.profileInfo(profile);
        throw new AuthenticationRequired(
          `not logged in (service ${printable(service)}, profile ${profile})`,
          {
            hint: `run \`${info.login_command}\``,
            cause: error,
          },
        );
      }
      throw error;
    }
  }

  return {
    async setToken(service, given) {
      const { profile, provider } = lookup(service);
      if (!isRecord(given))
        throw new InvalidInput('setToken takes { accessToken, refreshToken?, expiresIn?, scopes? }');
      checkToken(given.accessToken, 'accessToken', service);
      if (given.refreshToken !== undefined) checkToken(given.refreshToken, 'refreshToken', service);
      await kf.importSession({
        profile,
        provider: provider ?? (await defaultProvider(kf, service, profile)),
        accessToken: given.accessToken,
        ...(given.refreshToken !== undefined ? { refreshToken: given.refreshToken } : {}),
        ...(given.expiresIn !== undefined ? { expiresIn: given.expiresIn } : {}),
        ...(given.scopes !== undefined ? { scopes: given.scopes } : {}),
        ...(given.tenant !== undefined ? { tenant: given.tenant } : {}),
      });
    },

    getToken: (service, scope) => token(service, scope),

    async clearToken(service) {
      const { profile } = lookup(service);
      const info = await kf.profileInfo(profile);
      if (!info.logged_in) return { service, profile, removed: false, revoked: false, warnings: [] };
      const [result] = await kf.logout({ profile });
      return {
        service,
        profile,
        removed: result !== undefined,
        revoked: result?.revocation.revoked ?? false,
        warnings: result?.warnings ?? [],
      };
    },

    async isAuthenticated(service, scope) {
      const { profile } = lookup(service);
      checkScope(scope);
      // Read from the store alone first: no session is `false` without a lock or a request.
      const info = await kf.profileInfo(profile);
      if (!info.logged_in) return false;
      if (scope !== undefined && info.scopes.length > 0 && !info.scopes.includes(scope)) return false;
      try {
        await token(service, scope);
        return true;
      } catch (error) {
        if (error instanceof AuthenticationRequired || error instanceof InsufficientScope) return false;
        throw error;
      }
    },

    async getCachedMetadata(service) {
      const { profile } = lookup(service);
      const info = await kf.profileInfo(profile);
      if (!info.logged_in) return null;
      return {
        service,
        profile,
        provider: info.provider,
        scopes: info.scopes,
        expiresAt: info.expires_at,
        obtainedAt: info.obtained_at,
        ...(info.tenant !== null ? { tenant: info.tenant } : {}),
      };
    },
  };
}

function serviceMap(
  given: AuthStoreOptions['services'],
): Record<string, { profile: string; provider: string | undefined }> | null {
  if (given === undefined) return null;
  if (!isRecord(given)) throw new InvalidInput('createAuthStore services must be an object');
  const map: Record<string, { profile: string; provider: string | undefined }> = Object.create(null);
  for (const [name, value] of Object.entries(given)) {
    const entry = typeof value === 'string' ? { profile: value } : value;
    if (!isRecord(entry) || !isProfileName(entry.profile)) {
      throw new InvalidInput(`createAuthStore service "${printable(name)}" must name a valid profile`);
    }
    if (entry.provider !== undefined && (typeof entry.provider !== 'string' || entry.provider === '')) {
      throw new InvalidInput(
        `createAuthStore service "${printable(name)}": provider must be a provider name`,
      );
    }
    map[name] = { profile: entry.profile, provider: entry.provider };
  }
  return map;
}

/** The profile's provider (state file, config.yaml), else the config's default or only one. */
async function defaultProvider(kf: Keyfob, service: string, profile: string): Promise<string> {
  const info = await kf.profileInfo(profile);
  if (info.provider) return info.provider;
  const cfg = await kf.config();
  const all = Object.keys(cfg.providers);
  const chosen = cfg.default_provider ?? (all.length === 1 ? all[0] : undefined);
  if (!chosen) {
    throw new InvalidInput(`setToken: service ${service} needs a provider`, {
      hint: `give it in createAuthStore services ({ profile, provider }); configured: ${all.join(', ') || 'none'}`,
    });
  }
  return chosen;
}

function checkToken(value: unknown, field: string, service: string): asserts value is string {
  // Never the value in the message: it may be a real credential pasted in the wrong place.
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidInput(`setToken(${printable(service)}): ${field} must be a non-empty string`);
  }
  if (value.length > MAX_TOKEN_LENGTH) {
    throw new InvalidInput(
      `setToken(${printable(service)}): ${field} is ${value.length} characters; at most ${MAX_TOKEN_LENGTH} are accepted`,
    );
  }
  if (!TOKEN.test(value)) {
    throw new InvalidInput(
      `setToken(${printable(service)}): ${field} holds whitespace, control or non-ASCII characters; a token is visible ASCII only`,
    );
  }
}

function checkScope(scope: unknown): void {
  if (scope !== undefined && (typeof scope !== 'string' || !SCOPE.test(scope))) {
    throw new InvalidInput(
      'the scope must be one scope token (visible ASCII, no spaces, quotes or backslashes)',
    );
  }
}

/** A caller's name for messages: visible ASCII only, bounded. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}
