/**
 * The protected demo API under `/api`, a resource server as keyfob meets them: it accepts only
 * JWT access tokens minted for it (RFC 8707 resource = JWT `aud`) and answers failures with
 * RFC 6750 `WWW-Authenticate` challenges.
 *
 * - `GET /api/hello`      any valid token for the API → `{sub, client_id, scope, aud}`
 * - `GET /api/admin`      also needs scope `api:admin`, else 403 `insufficient_scope`
 * - `GET /api/redirect?to=URL[&status=30x]`  redirects, to test that credentials stay home
 * - `GET /api/echo-auth`  says whether an Authorization header arrived, never its value
 * - `/api/registry/…`     a package registry with its own scopes (`registry-api.ts`)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createLocalJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  errors as joseErrors,
  jwtVerify,
} from 'jose';
import { sendJson } from './http.js';
import { SIGNING_ALG } from './keys.js';
import { handleRegistry, isRegistryPath, REGISTRY_SCOPES, type RegistryPackages } from './registry-api.js';

/** The scopes the API knows; tokens carry those the grant allows. */
export const API_SCOPES = ['api:read', 'api:write', 'api:admin', ...REGISTRY_SCOPES] as const;

const REALM = 'dev-idp';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** RFC 6750 §2.1 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** What the API needs to know about its issuer. */
export interface ApiContext {
  issuer: string;
  /** The API's base URL: its resource indicator and the `aud` it demands. */
  api: string;
  /** The provider's current public keys. */
  jwks(): JSONWebKeySet;
  /** The registry's packages (in memory, per server). */
  packages: RegistryPackages;
}

/** True when `pathname` belongs to the API. */
export function isApiPath(pathname: string): boolean {
  return pathname === '/api' || pathname.startsWith('/api/');
}

/** Serves one API request; never throws. */
export async function handleApi(
  context: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  if (isRegistryPath(url.pathname)) {
    await handleRegistry(context.packages, (rq, rs) => authenticate(context, rq, rs), req, res, url);
    return;
  }
  switch (url.pathname) {
    case '/api/echo-auth':
      sendJson(res, 200, { authorization_present: req.headers.authorization !== undefined });
      return;
    case '/api/redirect':
      redirect(res, url);
      return;
    case '/api/hello':
    case '/api/admin': {
      const claims = await authenticate(context, req, res);
      if (!claims) return;
      const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
      if (url.pathname === '/api/admin' && !scopes.includes('api:admin')) {
        sendJson(
          res,
          403,
          { error: 'insufficient_scope', error_description: 'this endpoint needs scope api:admin' },
          {
            'www-authenticate': `Bearer realm="${REALM}", error="insufficient_scope", error_description="this endpoint needs scope api:admin", scope="api:admin"`,
          },
        );
        return;
      }
      sendJson(res, 200, {
        sub: claims.sub ?? null,
        client_id: typeof claims.client_id === 'string' ? claims.client_id : null,
        scope: typeof claims.scope === 'string' ? claims.scope : null,
        aud: claims.aud ?? null,
        ...(url.pathname === '/api/admin' ? { admin: true } : {}),
      });
      return;
    }
    default:
      sendJson(res, 404, { error: 'not_found' });
  }
}

/** The token's claims, or undefined after answering 401. */
async function authenticate(
  context: ApiContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<JWTPayload | undefined> {
  const header = req.headers.authorization;
  if (header === undefined) {
    sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': `Bearer realm="${REALM}"` });
    return undefined;
  }
  const token = BEARER.exec(header)?.[1];
  if (!token) return reject(res, 'the Authorization header is not a Bearer token');
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(context.jwks()), {
      issuer: context.issuer,
      audience: context.api,
      typ: 'at+jwt',
      algorithms: [SIGNING_ALG],
      requiredClaims: ['exp', 'iat'],
    });
    return payload;
  } catch (error) {
    return reject(res, describe(error));
  }
}

function reject(res: ServerResponse, description: string): undefined {
  sendJson(
    res,
    401,
    { error: 'invalid_token', error_description: description },
    {
      'www-authenticate': `Bearer realm="${REALM}", error="invalid_token", error_description="${description}"`,
    },
  );
  return undefined;
}

/** A short reason for the challenge; never echoes the token. */
function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the access token expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the access token has a bad ${error.claim} claim`;
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return 'the access token was not signed by a current key';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return 'the access token signature is invalid';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the access token uses a refused algorithm';
  return 'the access token is not a JWT for this API';
}

/** Answers `?to=URL&status=30x` with that redirect (400 for anything else). */
export function redirect(res: ServerResponse, url: URL): void {
  const to = url.searchParams.get('to');
  const status = Number(url.searchParams.get('status') ?? '302');
  const target = to ? URL.parse(to) : null;
  if (
    !target ||
    (target.protocol !== 'http:' && target.protocol !== 'https:') ||
    !REDIRECT_STATUSES.has(status)
  ) {
    sendJson(res, 400, {
      error: 'invalid_request',
      error_description: 'to must be an absolute http(s) URL; status one of 301 302 303 307 308',
    });
    return;
  }
  res.writeHead(status, { location: target.href, 'cache-control': 'no-store', 'content-length': 0 });
  res.end();
}
