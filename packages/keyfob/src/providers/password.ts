/**
 * The `password` provider: the resource-owner password grant (RFC 6749 §4.3) at the provider's
 * token endpoint (from discovery, or `token_endpoint`), for providers that still offer it to
 * their first-party CLIs. A session from it is refreshed, revoked and asked for userinfo like
 * an `oidc` session: those come from the oidc provider, sharing this one's configuration.
 *
 * The password is sent once, in the token request's body; it is never kept, logged or put in
 * an error.
 */

import { AuthenticationRequired, LoginFailed, OAuthError } from '../errors.js';
import { type CommandNames, commandLine } from '../instance/command-names.js';
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
import { createOidcProvider } from './oidc.js';
import type { CredentialProvider, LoginRequest, ProviderRuntime } from './provider.js';

export interface PasswordProviderOptions {
  name: string;
  server: ServerSource;
  clientId: string;
  clientAuth: ClientAuthentication;
  /** Scopes requested at login. */
  scopes: readonly string[];
  resource: string | null;
  allowedOrigins: readonly string[];
  /** How people run the auth commands, for "run … login" hints. */
  cliName: string;
  /** The vendor's names of keyfob's commands, for messages. */
  commandNames?: CommandNames;
}

/** Creates a `password` provider. */
export function createPasswordProvider(
  options: PasswordProviderOptions,
  runtime: ProviderRuntime,
): CredentialProvider {
  const configuration = configurationLoader(
    options.server,
    { clientId: options.clientId, auth: options.clientAuth },
    runtime,
  );
  const renewing = createOidcProvider(
    {
      name: options.name,
      type: 'oauth2',
      server: options.server,
      clientId: options.clientId,
      clientAuth: options.clientAuth,
      scopes: options.scopes,
      resource: options.resource,
      allowedOrigins: options.allowedOrigins,
      authorizationParams: {},
      flows: [],
      appName: options.name,
      configuration,
    },
    runtime,
  );
  const loginCommand = `${commandLine(options.cliName, options.commandNames, 'login')} ${options.name}`;

  async function login(request: LoginRequest): Promise<Session> {
    if (request.flow !== 'password') {
      throw new LoginFailed(`provider ${options.name} logs in with an email and password only`, {
        hint: `run \`${loginCommand}\``,
      });
    }
    const { email, password } = request;
    if (!email || !password) {
      throw new AuthenticationRequired(`provider ${options.name} needs an email and a password`, {
        hint: `run \`${loginCommand}\` at a terminal, or pipe the password: \`${loginCommand} --email E --password-stdin\``,
      });
    }
    const scopes = request.scopes.length > 0 ? parseScopes(request.scopes) : parseScopes(options.scopes);
    const config = await configuration();
    // The email is the person's own input, not a secret; the password is never logged.
    runtime.log.debug('password login', { provider: options.name, scopes });
    request.onTokenRequest?.();
    const response = await client
      .genericGrantRequest(config, 'password', {
        username: email,
        password,
        ...tokenParameters(null, scopes),
      })
      .catch((error: unknown) => {
        throw loginError(error);
      });
    const received = receivedTokens(response, { resource: null, scopes }, runtime.now());
    const session = newSession(options.name, 'password', runtime.now());
    session.subject = received.subject;
    session.scopes = parseScopes([...received.scopes, ...scopes]);
    session.refresh_token = received.refreshToken;
    session.id_token = received.idToken;
    session.access_tokens[accessTokenKey(received.access.resource, received.access.scopes)] = received.access;
    return session;
  }

  /** `invalid_grant` at a password login means the credentials: said in plain words. */
  function loginError(error: unknown): Error {
    const mapped = toKeyfobError(error, { action: `logging in to ${options.name}` });
    if (mapped instanceof OAuthError && mapped.error === 'invalid_grant') {
      return new LoginFailed(
        `${options.name}: wrong email or password (the provider answered invalid_grant)`,
        {
          hint: `run \`${loginCommand}\` again`,
          cause: error,
        },
      );
    }
    return mapped;
  }

  return {
    name: options.name,
    type: 'password',
    loginFlows: ['password'],
    allowedOrigins: options.allowedOrigins,
    defaultResource: options.resource,
    canReacquire: false,
    login,
    renew: renewing.renew,
    revoke: renewing.revoke,
    userinfo: renewing.userinfo,
  };
}
