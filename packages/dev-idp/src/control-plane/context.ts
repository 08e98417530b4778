/**
 * What every control-plane endpoint shares: the tenants, the minter, how subject tokens are
 * checked, the admin key, the lifetimes, the service principals and the counters. Plus the
 * small request helpers the endpoints share (bearer tokens, OAuth errors).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http.js';
import type { StatsRecorder } from '../stats.js';
import type { ControlPlaneClaims, Minter } from './mint.js';
import type { PrincipalStore } from './service-principals-store.js';
import type { SubjectVerifier } from './subject.js';
import type { Tenant } from './tenants.js';

/** The seeded admin API key for assume_user: a documented dev value, printed in `--help`. */
export const ADMIN_API_KEY = 'dev-admin-key-not-secret';

/** Everything the control plane's endpoints need. */
export interface ControlPlaneContext {
  /** `${issuer}/cp`: the control plane's base URL and the `iss` of its tokens. */
  base: string;
  minter: Minter;
  verifier: SubjectVerifier;
  tenants(): ReadonlyArray<Tenant>;
  adminApiKey: string;
  /** Token lifetimes in seconds. */
  ttl: { controlPlane: number; assumeUser: number };
  principals: PrincipalStore;
  stats: StatsRecorder;
  log(line: string): void;
}

/** RFC 6750 §2.1 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of a request, `null` when there is no Authorization header, `''` when it is not Bearer. */
export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  return BEARER.exec(header)?.[1] ?? '';
}

/** Sends an OAuth error body; 401s carry a Bearer challenge. */
export function sendOAuthError(
  res: ServerResponse,
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, { error, error_description: description }, headers);
}

/** Answers 401 with a Bearer challenge (naming the error when a token was given). */
export function sendUnauthorized(res: ServerResponse, realm: string, description?: string): void {
  if (description === undefined) {
    sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': `Bearer realm="${realm}"` });
    return;
  }
  sendOAuthError(res, 401, 'invalid_token', description, {
    'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${description}"`,
  });
}

/** Answers 403 insufficient_scope naming the scope, in the body and the challenge. */
export function sendInsufficientScope(res: ServerResponse, realm: string, scope: string): void {
  const description = `this endpoint needs scope ${scope}`;
  sendJson(
    res,
    403,
    { error: 'insufficient_scope', error_description: description, scope },
    {
      'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", error_description="${description}", scope="${scope}"`,
    },
  );
}

/** The control-plane claims of the request's bearer token, or undefined after answering 401. */
export async function requireControlPlaneToken(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<ControlPlaneClaims | undefined> {
  const token = bearerToken(req);
  if (token === null) {
    sendUnauthorized(res, 'control-plane');
    return undefined;
  }
  if (token === '') {
    sendUnauthorized(res, 'control-plane', 'the Authorization header is not a Bearer token');
    return undefined;
  }
  try {
    return await context.minter.verify(token);
  } catch {
    sendUnauthorized(res, 'control-plane', 'the token is not a valid control-plane token');
    return undefined;
  }
}

/** True when a space-separated scope string holds `scope`. */
export function hasScope(scopes: string, scope: string): boolean {
  return scopes.split(' ').includes(scope);
}
