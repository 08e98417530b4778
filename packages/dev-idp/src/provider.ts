/**
 * The oidc-provider configuration: clients, accounts, features, lifetimes, the API as a
 * resource server, and the hooks that replace oidc-provider's development defaults.
 *
 * Every hook whose default prints a "you SHOULD change it" notice is set here: those notices go
 * to stdout through console.info and would break the CLI's one-line ready contract.
 */
import type { Provider, ProviderArtifact, ProviderClient, ProviderContext } from 'oidc-provider';
import { findAccount } from './accounts.js';
import type { ProviderAdapter } from './adapter.js';
import { API_SCOPES } from './api.js';
import { isBasicAuthOfPostClient, seededClients } from './clients.js';
import { successSource, userCodeConfirmSource, userCodeInputSource } from './interactions/device.js';
import { errorPage } from './interactions/pages.js';
import { interactionPolicyWithOfflineAccess } from './interactions/policy.js';
import { SIGNING_ALG, type SigningJwk } from './keys.js';
import { registerPasswordGrant } from './password-grant.js';
import type { StatsRecorder } from './stats.js';

/** The oidc-provider module, loaded once by `loadOidcProvider`. */
export type OidcModule = typeof import('oidc-provider');

let loading: Promise<OidcModule> | undefined;

/**
 * Loads oidc-provider without its "Unsupported runtime. Use Node.js v22" warning.
 *
 * oidc-provider 9 prints it on Node 20 and works there (the whole test suite runs on Node 20).
 * The import is dynamic so the filter can be in place while the module evaluates; any other
 * warning passes through.
 */
export function loadOidcProvider(): Promise<OidcModule> {
  loading ??= (async () => {
    const original = console.warn;
    console.warn = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
      original.apply(console, args);
    };
    try {
      return await import('oidc-provider');
    } finally {
      console.warn = original;
    }
  })();
  return loading;
}

/** Token and code lifetimes, in seconds. */
export interface Lifetimes {
  accessToken: number;
  idToken: number;
  refreshToken: number;
  deviceCode: number;
}

/** Everything one provider instance is built from; a key rotation builds a new instance. */
export interface ProviderSettings {
  issuer: string;
  /** The API's resource indicator (= JWT `aud`), the default resource of every request. */
  api: string;
  signingKeys: SigningJwk[];
  cookieKeys: string[];
  adapter: (model: string) => ProviderAdapter;
  lifetimes: Lifetimes;
  stats: StatsRecorder;
  log: (line: string) => void;
  /** Port of the `fixedPort` client's exact redirect URI. */
  fixedRedirectPort?: number;
}

const DAY = 24 * 60 * 60;

/** True while the current request is a refresh_token grant at the token endpoint. */
export function isRefreshGrantRequest(oidc: OidcModule): boolean {
  const ctx = oidc.Provider.ctx;
  return ctx?.oidc.route === 'token' && ctx.oidc.params?.grant_type === 'refresh_token';
}

/** A configured provider for `settings.issuer`, with request counting attached. */
export function buildProvider(oidc: OidcModule, settings: ProviderSettings): Provider {
  const { api, lifetimes, log } = settings;
  const resourceServer = {
    scope: API_SCOPES.join(' '),
    audience: api,
    accessTokenFormat: 'jwt',
    accessTokenTTL: lifetimes.accessToken,
    jwt: { sign: { alg: SIGNING_ALG } },
  };

  const provider = new oidc.Provider(settings.issuer, {
    adapter: settings.adapter,
    clients: seededClients(settings.fixedRedirectPort),
    findAccount,
    jwks: { keys: settings.signingKeys },
    cookies: { keys: settings.cookieKeys },
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    // Put profile and email claims in the ID token too, as Okta and Auth0 do, so that a CLI can
    // show who logged in without another request.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { required: () => true },
    rotateRefreshToken: true,
    // See interactions/policy.ts for why offline_access survives without prompt=consent.
    async issueRefreshToken(_ctx: ProviderContext, client: ProviderClient, code: ProviderArtifact) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    interactions: {
      policy: interactionPolicyWithOfflineAccess(oidc.interactionPolicy),
      async url(_ctx: ProviderContext, interaction: { uid: string }) {
        return `/interaction/${interaction.uid}`;
      },
    },
    async renderError(ctx: ProviderContext, out: Record<string, unknown>) {
      const error = typeof out.error === 'string' ? out.error : 'server_error';
      const description = typeof out.error_description === 'string' ? out.error_description : error;
      ctx.type = 'html';
      ctx.body = errorPage('Sign-in failed', description, `error: ${error}`);
    },
    clientBasedCORS: () => false,
    features: {
      devInteractions: { enabled: false },
      deviceFlow: { enabled: true, userCodeInputSource, userCodeConfirmSource, successSource },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A public client may introspect only its own tokens; the machine client any.
        async allowedPolicy(_ctx: ProviderContext, client: ProviderClient, token: ProviderArtifact) {
          return client.clientAuthMethod !== 'none' || token.clientId === client.clientId;
        },
      },
      revocation: {
        enabled: true,
        async allowedPolicy(_ctx: ProviderContext, client: ProviderClient, token: ProviderArtifact) {
          return token.clientId === client.clientId;
        },
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // The API is the default resource: a login that names no resource still records it in
        // the grant, so a later refresh_token grant may ask for resource=<api>. A request for
        // openid scopes without `resource` still gets a userinfo (opaque) token, because
        // oidc-provider only applies a recorded resource when `openid` is not requested.
        async defaultResource(_ctx: ProviderContext, _client: ProviderClient, oneOf?: string[]) {
          return oneOf ?? api;
        },
        async useGrantedResource() {
          return false;
        },
        async getResourceServerInfo(_ctx: ProviderContext, resource: string) {
          if (resource !== api)
            throw new oidc.errors.InvalidTarget(`unknown resource; this server has ${api}`);
          return resourceServer;
        },
      },
    },
    ttl: {
      AccessToken: lifetimes.accessToken,
      ClientCredentials: lifetimes.accessToken,
      AuthorizationCode: 60,
      DeviceCode: lifetimes.deviceCode,
      IdToken: lifetimes.idToken,
      RefreshToken: lifetimes.refreshToken,
      Interaction: 60 * 60,
      Session: 14 * DAY,
      // Longer than any refresh token chain a developer keeps: a grant that expires under a
      // valid refresh token would surprise more than it teaches.
      Grant: 365 * DAY,
    },
  });

  provider.use(async (ctx, next) => {
    if (
      ctx.method === 'POST' &&
      ctx.path === '/token' &&
      isBasicAuthOfPostClient(String(ctx.headers.authorization ?? ''))
    ) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', `Basic realm="${settings.issuer}", error="invalid_client"`);
      ctx.body = {
        error: 'invalid_client',
        error_description:
          'this client must authenticate with client_secret_post (secret in the request body)',
      };
      settings.stats.tokenRequest('unknown');
      return;
    }
    try {
      await next();
    } finally {
      if (ctx.method === 'POST' && ctx.path === '/token') settings.stats.tokenRequest(grantTypeOf(ctx));
      if (ctx.method === 'POST' && ctx.path === '/token/revocation') settings.stats.revocation();
      if (ctx.path === '/auth') settings.stats.authorizationRequest('authorization', resourcesOf(ctx));
      if (ctx.method === 'POST' && ctx.path === '/device/auth')
        settings.stats.authorizationRequest('device_authorization', resourcesOf(ctx));
    }
  });
  registerPasswordGrant(oidc, provider, api);
  provider.on('server_error', (_ctx, error) =>
    log(`oidc-provider server error: ${(error as Error).message}`),
  );
  // Koa logs errors to the console when nobody listens; route them to our log instead.
  provider.on('error', (error) => log(`oidc-provider error: ${(error as Error).message}`));
  return provider;
}

/** The `resource` values as the client sent them (oidc-provider fills in a default later). */
function resourcesOf(ctx: ProviderContext): string[] {
  try {
    const raw = ctx.method === 'POST' ? ctx.oidc.body?.resource : ctx.query.resource;
    if (raw === undefined) return [];
    return (Array.isArray(raw) ? raw : [raw]).filter((value): value is string => typeof value === 'string');
  } catch {
    return [];
  }
}

function grantTypeOf(ctx: ProviderContext): string {
  try {
    const grantType = ctx.oidc.body?.grant_type;
    return typeof grantType === 'string' && grantType ? grantType : 'unknown';
  } catch {
    return 'unknown';
  }
}
