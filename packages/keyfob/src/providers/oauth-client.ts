/**
 * What the OAuth-speaking providers share: an openid-client `Configuration` built once per
 * provider (discovery or hand-given endpoints), token responses turned into session records,
 * and the libraries' errors turned into keyfob's.
 *
 * This module imports openid-client, so it is only ever loaded lazily: a cached `keyfob token`
 * never pays for it.
 */
import * as client from 'openid-client';
import { InsecureUrl } from '../errors.js';
import { checkMetadataEndpoints } from '../http/guard.js';
import { type AccessToken, accessTokenFromResponse, parseScopes } from '../session.js';
import { isLoopbackHost } from '../url.js';
import { rememberingErrorBodies } from './answer-bodies.js';
import { type ClientAuthentication, clientAuthFor } from './client-auth.js';
import { renewalError, safeText, TLS_FIXES, toKeyfobError, transportError } from './oauth-errors.js';
import type { ProviderRuntime } from './provider.js';

/** Where the authorization server's metadata comes from. */
export type ServerSource =
  | {
      kind: 'discovery';
      issuer: string;
      /** Used instead of (or where discovery lacks) the discovered device endpoint. */
      device_authorization_endpoint?: string;
    }
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
  /** How the client authenticates at the token endpoint (`token_endpoint_auth_method`). */
  auth: ClientAuthentication;
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
    const { auth, metadata } = await clientAuthFor(identity.auth);
    const urls =
      source.kind === 'discovery'
        ? [source.issuer, source.device_authorization_endpoint].filter((u): u is string => u !== undefined)
        : endpointsOf(source);
    const insecure = insecureLoopbackOnly(urls);
    let config: client.Configuration;
    if (source.kind === 'discovery') {
      runtime.log.debug('discovery', { issuer: source.issuer });
      config = await client
        .discovery(new URL(source.issuer), identity.clientId, metadata, auth, {
          execute: insecure ? [client.allowInsecureRequests] : [],
          [client.customFetch]: rememberingErrorBodies(runtime.fetch),
          timeout: DISCOVERY_TIMEOUT_SECONDS,
        })
        .catch((error: unknown) => {
          throw toKeyfobError(error, { action: `discovering ${source.issuer}` });
        });
      if (source.device_authorization_endpoint) {
        const { supportsPKCE: _supportsPKCE, ...discovered } = config.serverMetadata();
        const server = { ...discovered, device_authorization_endpoint: source.device_authorization_endpoint };
        config = new client.Configuration(server, identity.clientId, metadata, auth);
        if (insecure) client.allowInsecureRequests(config);
      }
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
    config[client.customFetch] = rememberingErrorBodies(runtime.fetch);
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

export { renewalError, safeText, TLS_FIXES, toKeyfobError, transportError };

/** Request parameters for a token request: `resource` and `scope` only when given. */
export function tokenParameters(resource: string | null, scopes: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  if (resource) params.resource = resource;
  if (scopes.length > 0) params.scope = parseScopes(scopes).join(' ');
  return params;
}

export { client };
