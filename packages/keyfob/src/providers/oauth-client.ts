/**
 * What the OAuth-speaking providers share: an openid-client `Configuration` built once per
 * provider (discovery or hand-given endpoints), token responses turned into session records,
 * and the libraries' errors turned into keyfob's.
 *
 * This module imports openid-client, so it is only ever loaded lazily: a cached `keyfob token`
 * never pays for it.
 */
import * as client from 'openid-client';
import {
  AuthenticationRequired,
  InsecureUrl,
  KeyfobError,
  LoginFailed,
  NetworkError,
  OAuthError,
  TlsVerificationFailed,
} from '../errors.js';
import { findTlsFailure, tlsFixes } from '../http/dispatcher.js';
import { checkMetadataEndpoints } from '../http/guard.js';
import { type AccessToken, accessTokenFromResponse, parseScopes } from '../session.js';
import { isLoopbackHost } from '../url.js';
import type { ProviderRuntime } from './provider.js';

/** Where the authorization server's metadata comes from. */
export type ServerSource =
  | { kind: 'discovery'; issuer: string }
  | {
      kind: 'manual';
      issuer: string | null;
      authorization_endpoint?: string;
      token_endpoint: string;
      device_authorization_endpoint?: string;
      revocation_endpoint?: string;
      userinfo_endpoint?: string;
      introspection_endpoint?: string;
    };

export interface ClientIdentity {
  clientId: string;
  /** A confidential client's secret; `null` for a public client. */
  clientSecret: string | null;
}

const DISCOVERY_TIMEOUT_SECONDS = 30;

/**
 * Builds (once) the openid-client configuration for a provider. Plain `http` is allowed only
 * when every endpoint is on a loopback address.
 */
export function configurationLoader(
  source: ServerSource,
  identity: ClientIdentity,
  runtime: ProviderRuntime,
): () => Promise<client.Configuration> {
  let pending: Promise<client.Configuration> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };

  async function build(): Promise<client.Configuration> {
    const auth = identity.clientSecret ? client.ClientSecretBasic(identity.clientSecret) : client.None();
    const metadata: Partial<client.ClientMetadata> = identity.clientSecret
      ? {}
      : { token_endpoint_auth_method: 'none' };
    const urls = source.kind === 'discovery' ? [source.issuer] : endpointsOf(source);
    const insecure = insecureLoopbackOnly(urls);
    let config: client.Configuration;
    if (source.kind === 'discovery') {
      runtime.log.debug('discovery', { issuer: source.issuer });
      config = await client
        .discovery(new URL(source.issuer), identity.clientId, metadata, auth, {
          execute: insecure ? [client.allowInsecureRequests] : [],
          [client.customFetch]: runtime.fetch,
          timeout: DISCOVERY_TIMEOUT_SECONDS,
        })
        .catch((error: unknown) => {
          throw toKeyfobError(error, { action: `discovering ${source.issuer}` });
        });
      // Every endpoint the document names passes the issuer's rule before any is used.
      if (checkMetadataEndpoints(config.serverMetadata(), `the discovery document of ${source.issuer}`)) {
        client.allowInsecureRequests(config);
      }
    } else {
      const { kind: _kind, issuer, ...endpoints } = source;
      config = new client.Configuration(
        { issuer: issuer ?? new URL(source.token_endpoint).origin, ...endpoints },
        identity.clientId,
        metadata,
        auth,
      );
      if (insecure) client.allowInsecureRequests(config);
    }
    config[client.customFetch] = runtime.fetch;
    return config;
  }
}

function endpointsOf(source: Extract<ServerSource, { kind: 'manual' }>): string[] {
  const { kind: _kind, issuer, ...endpoints } = source;
  return [issuer, ...Object.values(endpoints)].filter((u): u is string => typeof u === 'string');
}

/** `true` when some URL is plain http; every such URL must be on loopback. */
function insecureLoopbackOnly(urls: readonly string[]): boolean {
  let insecure = false;
  for (const value of urls) {
    const url = new URL(value);
    if (url.protocol === 'http:') {
      if (!isLoopbackHost(url.hostname)) {
        throw new InsecureUrl(`${url.origin} uses plain http on a non-loopback address`, {
          hint: 'use https; plain http is allowed only on 127.0.0.1, ::1 and localhost',
        });
      }
      insecure = true;
    }
  }
  return insecure;
}

/** A token endpoint response as far as keyfob keeps it. */
export interface ReceivedTokens {
  access: AccessToken;
  refreshToken: string | null;
  idToken: string | null;
  subject: string | null;
  scopes: string[];
}

/** Turns a token endpoint response into what a session stores; `receivedAt` is when it arrived. */
export function receivedTokens(
  response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  request: { resource: string | null; scopes: readonly string[] },
  receivedAt: Date,
): ReceivedTokens {
  const access = accessTokenFromResponse(response, request, receivedAt);
  const claims = response.id_token ? response.claims() : undefined;
  return {
    access,
    refreshToken: response.refresh_token ?? null,
    idToken: response.id_token ?? null,
    subject: typeof claims?.sub === 'string' ? claims.sub : null,
    scopes: response.scope !== undefined ? parseScopes(response.scope) : parseScopes(request.scopes),
  };
}

/**
 * The three ways out of a certificate failure, for errors that did not pass through keyfob's
 * own dispatcher (a `fetch` given to `createKeyfob`); the dispatcher names the app's prefix.
 */
export const TLS_FIXES = tlsFixes('KEYFOB');

/**
 * Maps an error from openid-client, oauth4webapi or fetch to a keyfob error whose message is
 * safe to print: server-supplied text is trimmed to printable characters and never echoes a
 * request parameter.
 */
export function toKeyfobError(error: unknown, context: { action: string }): KeyfobError {
  const transport = transportError(error, context);
  if (transport) return transport;
  if (error instanceof client.AuthorizationResponseError) {
    if (error.error === 'access_denied') {
      return new LoginFailed('the login was denied at the provider (access_denied)', {
        hint: 'run the login again and approve the request',
        cause: error,
      });
    }
    return new LoginFailed(`the provider refused the login: ${safeText(error.error)}`, { cause: error });
  }
  if (error instanceof client.ResponseBodyError) {
    const description = error.error_description ? ` (${safeText(error.error_description)})` : '';
    const message = `${context.action} failed: ${safeText(error.error)}${description}`;
    if (error.error === 'invalid_grant') return new OAuthError(message, error.error, { cause: error });
    if (error.error === 'access_denied') return new LoginFailed(message, { cause: error });
    if (error.error === 'expired_token') {
      return new LoginFailed(`${context.action} failed: the device code expired before it was approved`, {
        hint: 'run the login again',
        cause: error,
      });
    }
    return new OAuthError(message, error.error, { cause: error });
  }
  if (
    error instanceof client.ClientError ||
    (error instanceof Error && error.name === 'OperationProcessingError')
  ) {
    return new OAuthError(`${context.action} failed: ${safeText(error.message)}`, 'invalid_response', {
      cause: error,
    });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new LoginFailed(`${context.action} was cancelled`, { cause: error });
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.message.includes('timeout'))) {
    return new NetworkError(`${context.action} failed: timed out`, { cause: error });
  }
  return new OAuthError(
    `${context.action} failed: ${safeText(error instanceof Error ? error.message : String(error))}`,
    'unknown',
    {
      cause: error,
    },
  );
}

/**
 * A failure to get any answer: keyfob's own errors from its fetch (a refused certificate, an
 * unreadable CA bundle), a certificate failure, or a socket error. `null` for anything else.
 */
export function transportError(error: unknown, context: { action: string }): KeyfobError | null {
  // keyfob's fetch throws keyfob errors; openid-client wraps whatever is not a TypeError in a
  // ClientError ("something went wrong") with the original as its cause.
  const own = findKeyfobError(error);
  if (own) return own;
  // A `fetch` given to createKeyfob reports certificate failures as undici or Node do.
  const tls = findTlsFailure(error);
  if (tls) {
    return new TlsVerificationFailed(
      `${context.action} failed: TLS certificate verification failed: ${safeText(tls.reason)} (${tls.code})`,
      { hint: TLS_FIXES, cause: error },
    );
  }
  const networkCode = findCauseCode(error);
  if (networkCode) {
    return new NetworkError(`${context.action} failed: ${networkCode}`, {
      hint: 'check that the server is running and reachable',
      cause: error,
    });
  }
  return null;
}

/** Wraps a renewal failure: `invalid_grant` means the session is gone, whatever the server said. */
export function renewalError(error: unknown, action: string): KeyfobError {
  const mapped = toKeyfobError(error, { action });
  if (mapped instanceof OAuthError && mapped.error === 'invalid_grant') {
    return new AuthenticationRequired(`${action} failed: the refresh token was rejected (invalid_grant)`, {
      cause: error,
    });
  }
  return mapped;
}

/** A socket error code (`ECONNREFUSED`, `ENOTFOUND`…) somewhere in the `cause` chain. */
function findCauseCode(error: unknown): string | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** The first keyfob error in the `cause` chain, the error itself included. */
function findKeyfobError(error: unknown): KeyfobError | null {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof KeyfobError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** Server-supplied text, cut to a printable line of at most 200 characters. */
export function safeText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').trim();
  return printable.length > 200 ? `${printable.slice(0, 200)}…` : printable;
}

/** Request parameters for a token request: `resource` and `scope` only when given. */
export function tokenParameters(resource: string | null, scopes: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  if (resource) params.resource = resource;
  if (scopes.length > 0) params.scope = parseScopes(scopes).join(' ');
  return params;
}

export { client };
