/**
 * `kf.fetch`: the credential goes on the request only for the provider's allowed origins, a
 * 401 buys one forced refresh and one retry, and nothing of the caller's (`Authorization`,
 * cookies, keys, custom headers, a body) follows a redirect to another origin (`redirect.ts`).
 * The request itself and the `WWW-Authenticate` parsing are openid-client's
 * (`fetchProtectedResource`), which also leaves room for DPoP proofs.
 *
 * Loaded lazily: it imports openid-client.
 */
import * as client from 'openid-client';
import {
  AuthenticationRequired,
  InvalidInput,
  NetworkError,
  OriginNotAllowed,
  PermissionDenied,
} from '../errors.js';
import type { Logger } from '../log.js';
import { transportError } from '../providers/oauth-client.js';
import { addScopesHint, parseScopes, refreshOf } from '../session.js';
import { parseSecureUrl } from '../url.js';
import { bearerChallengeOf } from './challenge.js';
import { type CredentialPlacement, placeCredential } from './credential.js';
import { credentialScope, decideRedirect, inScope, REDIRECT_STATUSES } from './redirect.js';

/** What `kf.fetch` accepts beyond `RequestInit`. */
export interface KeyfobRequestInit extends RequestInit {
  /** Profile whose credential to use; the selected one by default. */
  profile?: string;
  /** Origins outside the provider's own that the caller allows the credential to reach. */
  allowOrigins?: readonly string[];
  /** RFC 8707 resource of the token; the provider's default otherwise. */
  resource?: string | null;
  /**
   * The tenant for this request (an exchange provider's): its token, and its `server_url` for
   * relative URLs. The profile's current tenant by default.
   */
  tenant?: string;
  /**
   * Scopes the request needs: a credential that lacks one is `InsufficientScope` (naming the
   * command that adds it) before anything is sent to the target.
   */
  scopes?: string | readonly string[];
}

export interface AuthenticatedFetchDeps {
  /** A token for this request; `force` renews it first (after a 401). */
  token(force: boolean): Promise<{ access_token: string }>;
  /** Origins the provider's tokens may be sent to. */
  allowedOrigins: readonly string[];
  /** The instance's fetch (its dispatcher). */
  fetch: typeof globalThis.fetch;
  /** The command that logs in again, for a final 401. */
  loginCommand: string;
  /** The command that adds scopes (`refresh --scopes`), for a 403 that names them. */
  refreshCommand?: string;
  /** Whether a 401 may be answered with a refresh (not for static tokens). */
  renewable: boolean;
  /**
   * The path under the request's origin the credential belongs to (a tenant's `server_url`);
   * a redirect outside it counts as leaving the origin. The whole origin by default.
   */
  pathPrefix?: string;
  /**
   * The tenant's regional server (`server_url`): requests under its origin and path prefix get
   * the credential too, and a connection failure there names it.
   */
  tenantServer?: URL;
  /** For `KEYFOB_DEBUG`: which headers a redirect dropped (names only) and which it did not follow. */
  log?: Logger;
  /** Where the token goes (the provider's `credential`); `Authorization: Bearer` by default. */
  credential?: CredentialPlacement;
}

type RequestBody = NonNullable<RequestInit['body']> | null;

const MAX_REDIRECTS = 5;

/**
 * Sends an authenticated request.
 * @throws OriginNotAllowed for an origin the provider does not own and the caller did not name.
 * @throws AuthenticationRequired on a final 401; PermissionDenied on a 403.
 * @throws TlsVerificationFailed, NetworkError or InvalidConfig (the CA bundle) when no answer came.
 */
export async function authenticatedFetch(
  deps: AuthenticatedFetchDeps,
  input: string | URL,
  init: KeyfobRequestInit = {},
): Promise<Response> {
  const target = requestUrl(input);
  const allowed = new Set([...deps.allowedOrigins, ...(init.allowOrigins ?? []).map(normalizeOrigin)]);
  // A tenant's server is its origin and path prefix, in whole segments (regions may share a host).
  const tenantScope = deps.tenantServer
    ? credentialScope(deps.tenantServer, deps.tenantServer.pathname)
    : null;
  const underTenant = tenantScope !== null && inScope(target, tenantScope);
  if (!allowed.has(target.origin) && !underTenant) {
    throw new OriginNotAllowed(`${target.origin} is not one of the origins this credential may be sent to`, {
      hint: `allowed: ${[...deps.allowedOrigins, ...(deps.tenantServer ? [`${deps.tenantServer.href} (the tenant's server)`] : [])].join(', ') || 'none'}; pass --allow-origin ${target.origin} (allowOrigins in code) if you trust it`,
    });
  }
  const replayable = isReplayable(init.body);
  const config = resourceConfiguration(deps.fetch);

  const sendDeps =
    underTenant && !allowed.has(target.origin) ? { ...deps, pathPrefix: tenantScope.pathPrefix } : deps;
  const sendOnce = async (force: boolean) => {
    const token = (await deps.token(force)).access_token;
    try {
      return await send(config, target, init, token, sendDeps);
    } catch (error) {
      if (underTenant && error instanceof NetworkError && deps.tenantServer) {
        throw new NetworkError(`Failed to connect to regional server ${deps.tenantServer.href}`, {
          cause: error,
          hint: error.message,
        });
      }
      throw error;
    }
  };
  let response = await sendOnce(false);
  if (response.status === 401 && deps.renewable && replayable) {
    await response.body?.cancel();
    response = await sendOnce(true);
  }
  if (response.status === 401) {
    await response.body?.cancel();
    throw new AuthenticationRequired(`${target.origin} refused the credential (HTTP 401)`, {
      hint: `run \`${deps.loginCommand}\``,
      status: 401,
    });
  }
  if (response.status === 403) {
    const challenge = await bearerChallenge(response);
    await response.body?.cancel();
    const scope = challenge?.scope ? ` (needs scope: ${challenge.scope})` : '';
    const what = challenge?.error === 'insufficient_scope' ? 'insufficient_scope' : 'HTTP 403';
    throw new PermissionDenied(`${target.origin} denied the request: ${what}${scope}`, {
      hint: challenge?.scope
        ? addScopesHint(deps.refreshCommand ?? refreshOf(deps.loginCommand), parseScopes(challenge.scope))
        : 'ask for access to this resource',
      ...(challenge?.scope ? { requiredScope: challenge.scope } : {}),
    });
  }
  return response;
}

/**
 * One request, following redirects by hand (see `redirect.ts`): hops inside the credential's
 * scope keep the credential and the caller's headers; the first hop out of it drops the
 * credential and every header but a few harmless ones, for good; a hop out of it that would
 * resend a body is not followed, and its redirect response is returned.
 */
async function send(
  config: client.Configuration,
  target: URL,
  init: KeyfobRequestInit,
  accessToken: string,
  deps: Pick<AuthenticatedFetchDeps, 'pathPrefix' | 'log' | 'credential'>,
): Promise<Response> {
  const placement = deps.credential ?? { kind: 'bearer' };
  const scope = credentialScope(target, deps.pathPrefix);
  let url = target;
  let method = (init.method ?? 'GET').toUpperCase();
  let body = init.body ?? null;
  let headers = new Headers(init.headers);
  headers.delete('authorization');
  let authorized = true;
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      // The credential is added per hop, only while in scope: a hop out of it never has it.
      response = !authorized
        ? await unauthenticatedRequest(config, url, method, body, new Headers(headers))
        : placement.kind === 'bearer'
          ? await protectedRequest(config, accessToken, url, method, body, new Headers(headers))
          : await unauthenticatedRequest(
              config,
              url,
              method,
              body,
              placeCredential(headers, placement, accessToken),
            );
    } catch (error) {
      // A caller's abort and the like stay as fetch reports them; only a failed transport is
      // turned into keyfob's error (with the certificate fixes).
      throw transportError(error, { action: `requesting ${url.origin}` }) ?? error;
    }
    const location = response.headers.get('location');
    if (
      !REDIRECT_STATUSES.has(response.status) ||
      location === null ||
      init.redirect === 'manual' ||
      URL.parse(location, url.href) === null
    ) {
      return response;
    }
    const next = decideRedirect({
      status: response.status,
      location,
      from: url,
      method,
      headers,
      scope,
      alreadyOut: !authorized,
    });
    if (!next.follow) {
      deps.log?.debug('fetch.redirect_not_followed', {
        status: response.status,
        origin: next.url.origin,
        method,
        reason: next.reason,
      });
      return response;
    }
    if (hop >= MAX_REDIRECTS) {
      await response.body?.cancel();
      throw new InvalidInput(`more than ${MAX_REDIRECTS} redirects from ${target.origin}`);
    }
    await response.body?.cancel();
    const credentialHeader =
      placement.kind === 'bearer'
        ? 'authorization'
        : placement.kind === 'cookie'
          ? 'cookie'
          : placement.name.toLowerCase();
    const dropped = next.leavesScope && authorized ? [credentialHeader, ...next.dropped] : next.dropped;
    if (dropped.length > 0) {
      deps.log?.debug('fetch.redirect', {
        status: response.status,
        origin: next.url.origin,
        method: next.method,
        dropped_headers: dropped,
      });
    }
    if (next.leavesScope) authorized = false;
    if (!next.keepBody) body = null;
    method = next.method;
    headers = next.headers;
    url = next.url;
  }
}

async function protectedRequest(
  config: client.Configuration,
  accessToken: string,
  url: URL,
  method: string,
  body: RequestBody,
  headers: Headers,
): Promise<Response> {
  try {
    return await client.fetchProtectedResource(
      config,
      accessToken,
      url,
      method,
      body as client.FetchBody,
      headers,
    );
  } catch (error) {
    // A challenge is an answer, not a failure: the caller reads its status and parameters.
    if (error instanceof client.WWWAuthenticateChallengeError)
      return withChallenges(error.response, error.cause);
    throw error;
  }
}

async function unauthenticatedRequest(
  config: client.Configuration,
  url: URL,
  method: string,
  body: RequestBody,
  headers: Headers,
): Promise<Response> {
  const fetch = config[client.customFetch] as unknown as typeof globalThis.fetch;
  return fetch(url.href, { method, headers, body, redirect: 'manual' });
}

const challengesOf = new WeakMap<Response, client.WWWAuthenticateChallenge[]>();

function withChallenges(response: Response, challenges: client.WWWAuthenticateChallenge[]): Response {
  challengesOf.set(response, challenges);
  return response;
}

async function bearerChallenge(response: Response): Promise<{ error?: string; scope?: string } | undefined> {
  const challenge = challengesOf.get(response)?.find((c) => c.scheme === 'bearer' || c.scheme === 'dpop');
  // A cookie or header credential was sent without openid-client: it parses the answer now.
  const parameters = challenge?.parameters ?? (await bearerChallengeOf(response));
  if (!parameters) return undefined;
  const { error, scope } = parameters;
  return { ...(error ? { error } : {}), ...(scope ? { scope } : {}) };
}

/**
 * An openid-client configuration used only to send resource requests: no discovery is needed
 * for that, and it carries the instance's fetch and the loopback-only `http` allowance.
 */
function resourceConfiguration(fetch: typeof globalThis.fetch): client.Configuration {
  const config = new client.Configuration({ issuer: 'urn:keyfob:resource-requests' }, 'keyfob');
  config[client.customFetch] = fetch as client.CustomFetch;
  // Plain http reaches this point only for loopback targets (requestUrl refuses the rest).
  client.allowInsecureRequests(config);
  return config;
}

/** InsecureUrl for plain http off loopback, as the instance's guard says it; InvalidInput otherwise. */
function requestUrl(input: string | URL): URL {
  return parseSecureUrl(typeof input === 'string' ? input : input.href, 'the request URL');
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    throw new InvalidInput('an allowed origin must be a URL such as https://api.example.com');
  }
}

/** A body that can be sent twice: no stream. */
function isReplayable(body: RequestBody | undefined): boolean {
  return (
    !(body instanceof ReadableStream) &&
    !(typeof body === 'object' && body !== null && Symbol.asyncIterator in body)
  );
}
