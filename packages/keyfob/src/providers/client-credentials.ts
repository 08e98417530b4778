/**
 * The `client_credentials` provider: a machine (service principal) authenticates with its own
 * secret. There is no refresh token; a new access token is simply acquired again, so `login`
 * and `token` never need a person.
 */
import { decodeJwt } from 'jose';
import { AuthenticationRequired, CredentialRefused, InvalidInput, OAuthError } from '../errors.js';
import { accessTokenKey, newSession, parseScopes, type Session } from '../session.js';
import type { ClientAuthentication } from './client-auth.js';
import {
  client,
  configurationLoader,
  receivedTokens,
  type ServerSource,
  toKeyfobError,
  tokenParameters,
} from './oauth-client.js';
import type {
  CredentialProvider,
  LoginRequest,
  ProviderRuntime,
  RevocationResult,
  TokenRequest,
} from './provider.js';

export interface ClientCredentialsProviderOptions {
  name: string;
  server: ServerSource;
  clientId: string;
  /** `null` when the secret is missing: every acquisition then asks for it by name. */
  clientSecret: string | null;
  /** A secret method (the secret may also come from the store), or `private_key_jwt`. */
  method:
    | 'client_secret_basic'
    | 'client_secret_post'
    | Extract<ClientAuthentication, { method: 'private_key_jwt' }>;
  scopes: readonly string[];
  resource: string | null;
  allowedOrigins: readonly string[];
  /** How to tell the person to supply the secret, e.g. "set ROBOT_SECRET". */
  missingSecretHint: string;
}

/** Creates a machine provider. */
export function createClientCredentialsProvider(
  options: ClientCredentialsProviderOptions,
  runtime: ProviderRuntime,
): CredentialProvider {
  const configuration = configurationLoader(options.server, identity(options.clientSecret), runtime);

  /** The client's identity with `secret` (a private key needs none). */
  function identity(secret: string | null, clientId = options.clientId) {
    const auth: ClientAuthentication =
      typeof options.method === 'object'
        ? options.method
        : { method: options.method, secret, hint: options.missingSecretHint };
    return { clientId, auth };
  }

  async function acquire(
    request: TokenRequest,
    secret = options.clientSecret,
    clientId = options.clientId,
  ): Promise<Session> {
    if (!secret && typeof options.method !== 'object') {
      throw new AuthenticationRequired(`provider ${options.name} has no client secret`, {
        hint: options.missingSecretHint,
      });
    }
    const scopes = request.scopes.length > 0 ? parseScopes(request.scopes) : parseScopes(options.scopes);
    const config = await ((!secret || secret === options.clientSecret) && clientId === options.clientId
      ? configuration()
      : configurationWith(secret, clientId));
    runtime.log.debug('client_credentials', { provider: options.name, resource: request.resource, scopes });
    const response = await client
      .clientCredentialsGrant(config, tokenParameters(request.resource, scopes))
      .catch((error: unknown) => {
        throw toKeyfobError(error, { action: `authenticating client ${clientId}` });
      });
    const received = receivedTokens(response, { resource: request.resource, scopes }, runtime.now());
    const session = newSession(options.name, 'client_credentials', runtime.now());
    session.subject = subjectOf(received.access.token) ?? clientId;
    // A client of its own (an INI credentials file's service principal) keeps its id beside its secret.
    if (clientId !== options.clientId) session.client_id = clientId;
    session.scopes = received.scopes;
    session.access_tokens[accessTokenKey(request.resource, scopes)] = received.access;
    if (secret && secret !== options.clientSecret) session.client_secret = secret;
    return session;
  }

  /** A configuration for a secret from the store rather than the config (one per secret). */
  const bySecret = new Map<string, ReturnType<typeof configurationLoader>>();
  function configurationWith(secret: string | null, clientId: string) {
    const key = `${clientId}\u0000${secret ?? ''}`;
    let load = bySecret.get(key);
    if (!load) {
      load = configurationLoader(options.server, identity(secret, clientId), runtime);
      bySecret.set(key, load);
    }
    return load();
  }

  return {
    name: options.name,
    type: 'client_credentials',
    loginFlows: ['client_credentials'],
    allowedOrigins: options.allowedOrigins,
    defaultResource: options.resource,
    canReacquire: true,
    login(request: LoginRequest) {
      if (request.secret && typeof options.method === 'object') {
        throw new InvalidInput(
          `provider ${options.name} authenticates with its private key (private_key_jwt), not a secret`,
          { hint: `run login ${options.name} without --with-secret` },
        );
      }
      return acquire(
        { resource: options.resource, scopes: request.scopes },
        request.secret ?? options.clientSecret,
      );
    },
    async renew(session, request) {
      const stored = session.client_secret;
      let fresh: Session;
      try {
        fresh = await acquire(request, stored ?? options.clientSecret, session.client_id ?? options.clientId);
      } catch (error) {
        // DESIGN.md: a stored credential the provider now refuses is exit 2, not a bad input.
        if (stored && error instanceof OAuthError && error.error === 'invalid_client') {
          throw new CredentialRefused(
            `the stored secret of client ${options.clientId} was refused (invalid_client): the client was deleted or its secret changed`,
            { hint: `pipe its current secret to \`login ${options.name} --with-secret\``, cause: error },
          );
        }
        throw error;
      }
      const next = structuredClone(session);
      Object.assign(next.access_tokens, fresh.access_tokens);
      next.updated_at = fresh.updated_at;
      return next;
    },
    async revoke(): Promise<RevocationResult> {
      return {
        revoked: false,
        detail: 'a machine session has no refresh token; its access tokens expire on their own',
      };
    },
    async userinfo(session, accessToken) {
      const claims = tryDecode(accessToken);
      return claims ?? { sub: session.subject, client_id: options.clientId, scope: session.scopes.join(' ') };
    },
  };
}

function subjectOf(token: string): string | null {
  const sub = tryDecode(token)?.sub;
  return typeof sub === 'string' ? sub : null;
}

/** Reads a JWT access token's claims for display; an opaque token yields `null`. */
function tryDecode(token: string): Record<string, unknown> | null {
  try {
    return { ...decodeJwt(token) };
  } catch {
    return null;
  }
}
