/**
 * The `oidc` and `oauth2` providers: a person logs in through the browser (authorization code
 * with PKCE S256, `state`, `nonce` and the RFC 9207 `iss` check, all done by openid-client) or
 * the device flow (RFC 8628); access tokens for further resources come from the refresh token.
 */
import { decodeJwt } from 'jose';
import type { BrowserHandoff } from '../config/schema.js';
import { AuthenticationRequired, InsecureUrl, LoginFailed } from '../errors.js';
import { handOverStartLink } from '../flows/handoff.js';
import { startLoopbackServer } from '../flows/loopback.js';
import { accessTokenKey, newSession, type ObtainedBy, parseScopes, type Session } from '../session.js';
import { checkSecureUrl } from '../url.js';
import type { ClientAuthentication } from './client-auth.js';
import {
  client,
  configurationLoader,
  type ReceivedTokens,
  receivedTokens,
  renewalError,
  type ServerSource,
  toKeyfobError,
  tokenParameters,
} from './oauth-client.js';
import type {
  CredentialProvider,
  LoginFlow,
  LoginRequest,
  ProviderRuntime,
  RevocationResult,
  TokenRequest,
} from './provider.js';

export interface OidcProviderOptions {
  name: string;
  type: 'oidc' | 'oauth2';
  server: ServerSource;
  clientId: string;
  /** How the client authenticates at the token endpoint. */
  clientAuth: ClientAuthentication;
  /** Scopes requested at login. */
  scopes: readonly string[];
  /** RFC 8707 resource that `token` asks for by default. */
  resource: string | null;
  allowedOrigins: readonly string[];
  /** Extra authorization request parameters (`prompt`, `audience`, …); never forced by keyfob. */
  authorizationParams: Readonly<Record<string, string>>;
  /** Flows the configuration allows; both by default. */
  flows: readonly LoginFlow[];
  /** Shown on the loopback page. */
  appName: string;
  /** A fixed loopback port (`redirect_port`) for providers that match redirect URIs exactly. */
  redirectPort?: number | null;
  /** How the browser receives the start link (`browser_handoff`); `file` by default. */
  browserHandoff?: BrowserHandoff;
  /**
   * The openid-client configuration, when the caller already loads it (a provider that logs in
   * its own way and renews like this one: `password`); built from `server` otherwise.
   */
  configuration?: () => Promise<client.Configuration>;
}

/** Creates an `oidc` (discovery) or `oauth2` (endpoints by hand) provider. */
export function createOidcProvider(
  options: OidcProviderOptions,
  runtime: ProviderRuntime,
): CredentialProvider {
  const configuration =
    options.configuration ??
    configurationLoader(options.server, { clientId: options.clientId, auth: options.clientAuth }, runtime);

  async function login(request: LoginRequest): Promise<Session> {
    if (!options.flows.includes(request.flow)) {
      throw new LoginFailed(`provider ${options.name} does not offer the ${request.flow} flow`, {
        hint: `use one of: ${options.flows.join(', ')}`,
      });
    }
    const scopes = request.scopes.length > 0 ? parseScopes(request.scopes) : parseScopes(options.scopes);
    const config = await configuration();
    const received =
      request.flow === 'device'
        ? await deviceLogin(config, scopes, request)
        : await browserLogin(config, scopes, request);
    // The login token's `scope` lists only what that token (no audience) carries; scopes granted
    // for a resource (RFC 8707) show on the resource's tokens. The grant holds what was asked.
    received.scopes = parseScopes([...received.scopes, ...scopes]);
    return sessionFrom(received, request.flow === 'device' ? 'device' : 'browser');
  }

  async function browserLogin(
    config: client.Configuration,
    scopes: string[],
    request: LoginRequest,
  ): Promise<ReceivedTokens> {
    if (!config.serverMetadata().authorization_endpoint) {
      throw new LoginFailed(`provider ${options.name} has no authorization endpoint`, {
        hint: 'use --device',
      });
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const wantsIdToken = scopes.includes('openid');
    const nonce = wantsIdToken ? client.randomNonce() : undefined;
    const loopback = await startLoopbackServer({
      timeoutMs: request.timeoutMs,
      appName: options.appName,
      state,
      port: options.redirectPort ?? null,
      onRefused: (why) =>
        request.interaction.notice(
          `Refused a request to the login callback: ${why}. Still waiting for the login.`,
        ),
      ...(request.signal ? { signal: request.signal } : {}),
    });
    let cleanup = async () => {};
    try {
      const parameters = authorizationParameters({
        redirect_uri: loopback.redirectUri,
        scope: scopes.join(' '),
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        ...(nonce ? { nonce } : {}),
      });
      loopback.arm(client.buildAuthorizationUrl(config, parameters).href);
      cleanup = await handOverStartLink({
        startUrl: loopback.startUrl,
        openBrowser: request.openBrowser,
        handoff: options.browserHandoff ?? 'file',
        appName: options.appName,
        interaction: request.interaction,
      });
      const stopWaiting = request.interaction.waiting('Waiting for the login in the browser…');
      let callback: Awaited<typeof loopback.callback>;
      try {
        callback = await loopback.callback;
      } finally {
        stopWaiting();
      }
      // The page has done its work once the callback came. Removing it now also takes away its
      // signal listeners, which would otherwise count as the application's own and keep signals
      // from being held during the code exchange (a SIGTERM there would cost the session).
      await cleanup();
      cleanup = async () => {};
      try {
        request.onTokenRequest?.();
        const response = await client.authorizationCodeGrant(config, callback.url, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          ...(nonce ? { expectedNonce: nonce } : {}),
          idTokenExpected: wantsIdToken,
        });
        const received = receivedTokens(response, { resource: null, scopes }, runtime.now());
        callback.respond({ ok: true });
        return received;
      } catch (error) {
        const mapped = toKeyfobError(error, { action: 'the browser login' });
        callback.respond({ ok: false, message: mapped.message });
        throw mapped instanceof LoginFailed
          ? mapped
          : new LoginFailed(mapped.message, { cause: error, hint: 'run the login again' });
      }
    } finally {
      loopback.close();
      await cleanup();
    }
  }

  /**
   * The configured `authorization_params`, then keyfob's own, then the RFC 8707 resources (the
   * configured `resource` and an `authorization_params.resource`): a resource asked for at the
   * token endpoint must have been granted at authorization (RFC 8707 §2.1).
   */
  function authorizationParameters(own: Record<string, string>): URLSearchParams {
    const { resource: extraResource, ...params } = options.authorizationParams;
    const out = new URLSearchParams({ ...params, ...own });
    for (const resource of new Set([options.resource, extraResource])) {
      if (resource) out.append('resource', resource);
    }
    return out;
  }

  async function deviceLogin(
    config: client.Configuration,
    scopes: string[],
    request: LoginRequest,
  ): Promise<ReceivedTokens> {
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new LoginFailed(`provider ${options.name} has no device authorization endpoint`, {
        hint: 'use --browser',
      });
    }
    const started = await client
      .initiateDeviceAuthorization(config, authorizationParameters({ scope: scopes.join(' ') }))
      .catch((error: unknown) => {
        throw toKeyfobError(error, { action: 'starting the device login' });
      });
    checkVerificationUris(started, options.name);
    request.interaction.showDeviceCode({
      verificationUri: started.verification_uri,
      verificationUriComplete: started.verification_uri_complete ?? null,
      userCode: started.user_code,
      expiresInSeconds: started.expires_in,
    });
    const stopWaiting = request.interaction.waiting('Waiting for the device login to be approved…');
    const timeout = AbortSignal.timeout(Math.min(request.timeoutMs, started.expires_in * 1000));
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    try {
      const response = await client.pollDeviceAuthorizationGrant(config, started, undefined, { signal });
      // Polling waits for the person, so it stays interruptible; the answer is held from here.
      request.onTokenRequest?.();
      return receivedTokens(response, { resource: null, scopes }, runtime.now());
    } catch (error) {
      if (timeout.aborted) {
        throw new LoginFailed('the device code expired before it was approved', {
          hint: 'run the login again',
        });
      }
      throw toKeyfobError(error, { action: 'the device login' });
    } finally {
      stopWaiting();
    }
  }

  function sessionFrom(received: ReceivedTokens, obtainedBy: ObtainedBy): Session {
    const session = newSession(options.name, obtainedBy, runtime.now());
    session.subject = received.subject;
    session.scopes = received.scopes;
    session.refresh_token = received.refreshToken;
    session.id_token = received.idToken;
    session.access_tokens[accessTokenKey(received.access.resource, received.access.scopes)] = received.access;
    return session;
  }

  async function renew(session: Session, request: TokenRequest): Promise<Session> {
    if (!session.refresh_token) {
      throw new AuthenticationRequired(`the session of provider ${options.name} has no refresh token`);
    }
    const config = await configuration();
    const scopes = parseScopes(request.scopes);
    runtime.log.debug('refresh', { provider: options.name, resource: request.resource, scopes });
    const response = await client
      .refreshTokenGrant(config, session.refresh_token, tokenParameters(request.resource, scopes))
      .catch((error: unknown) => {
        throw renewalError(error, `refreshing the token of provider ${options.name}`);
      });
    const received = receivedTokens(response, { resource: request.resource, scopes }, runtime.now());
    const next = structuredClone(session);
    next.refresh_token = received.refreshToken ?? session.refresh_token;
    if (received.idToken) next.id_token = received.idToken;
    next.access_tokens[accessTokenKey(request.resource, scopes)] = received.access;
    next.updated_at = runtime.now().toISOString();
    return next;
  }

  async function revoke(session: Session): Promise<RevocationResult> {
    if (!session.refresh_token) return { revoked: false, detail: 'no refresh token to revoke' };
    const config = await configuration();
    if (!config.serverMetadata().revocation_endpoint) {
      return { revoked: false, detail: `provider ${options.name} offers no revocation endpoint` };
    }
    await client
      .tokenRevocation(config, session.refresh_token, { token_type_hint: 'refresh_token' })
      .catch((error: unknown) => {
        throw toKeyfobError(error, { action: 'revoking the refresh token' });
      });
    return { revoked: true, detail: 'refresh token revoked' };
  }

  async function userinfo(session: Session, accessToken: string): Promise<Record<string, unknown>> {
    const config = await configuration();
    if (config.serverMetadata().userinfo_endpoint) {
      const claims = await client
        .fetchUserInfo(config, accessToken, session.subject ?? client.skipSubjectCheck)
        .catch((error: unknown) => {
          throw toKeyfobError(error, { action: 'fetching userinfo' });
        });
      return { ...claims };
    }
    return idTokenClaims(session);
  }

  return {
    name: options.name,
    type: options.type,
    loginFlows: options.flows,
    allowedOrigins: options.allowedOrigins,
    defaultResource: options.resource,
    canReacquire: false,
    login,
    renew,
    revoke,
    userinfo,
  };
}

/** The ID token's claims, read (not validated: it was validated when it was received). */
export function idTokenClaims(session: Session): Record<string, unknown> {
  if (!session.id_token) return session.subject ? { sub: session.subject } : {};
  try {
    return { ...decodeJwt(session.id_token) };
  } catch {
    return session.subject ? { sub: session.subject } : {};
  }
}

/**
 * The device flow's URLs go to the person, who is asked to log in there: https only (http on
 * loopback), nothing that could hide where the link goes (DESIGN.md, Security rules). Checked
 * before anything is shown; a URL that fails is not echoed.
 */
function checkVerificationUris(
  started: { verification_uri: string; verification_uri_complete?: string },
  provider: string,
): void {
  for (const [field, value] of [
    ['verification_uri', started.verification_uri],
    ['verification_uri_complete', started.verification_uri_complete],
  ] as const) {
    if (value === undefined) continue;
    const check = checkSecureUrl(String(value));
    // A fragment is harmless in a link the person opens; everything else is refused.
    if (check.ok || check.problem === 'fragment') continue;
    const what =
      check.problem === 'insecure'
        ? 'is plain http on a host that is not loopback (only https links are shown)'
        : check.message;
    const message = `provider ${provider} sent a device ${field} that ${what}; the login stopped before showing it`;
    const hint = "check the provider's issuer in config.yaml";
    if (check.problem === 'insecure') throw new InsecureUrl(message, { hint });
    throw new LoginFailed(message, { hint });
  }
}
