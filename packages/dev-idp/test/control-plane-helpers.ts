/**
 * Helpers for the control-plane tests: real tokens from dev-idp itself (password grant for
 * people, client credentials for the machine), and raw requests to the control plane and the
 * regional listeners, so that the wire protocol itself is what is under test.
 */
import type { DevIdp } from '../src/index.js';
import { ALICE, refresh, tokenRequest } from './helpers.js';

export const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** A reply with its body parsed when it is JSON. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: response.status, headers: response.headers, body };
}

/** Tokens of a person by the CLI client's password grant: an ID token, an opaque access token, a refresh token. */
export async function personTokens(
  idp: DevIdp,
  user: { email: string; password: string } = ALICE,
): Promise<{ idToken: string; accessToken: string; refreshToken: string }> {
  const result = await tokenRequest(idp, {
    grant_type: 'password',
    client_id: idp.clients.cli.client_id,
    username: user.email,
    password: user.password,
    scope: 'openid email offline_access',
  });
  if (result.status !== 200) throw new Error(`password grant failed: ${JSON.stringify(result.body)}`);
  return {
    idToken: String(result.body.id_token),
    accessToken: String(result.body.access_token),
    refreshToken: String(result.body.refresh_token),
  };
}

/** A person's JWT access token for dev-idp's API (at+jwt, aud = the API). */
export async function personApiToken(idp: DevIdp, user = ALICE): Promise<string> {
  const { refreshToken } = await personTokens(idp, user);
  const result = await refresh(idp, refreshToken, { resource: idp.api });
  if (result.status !== 200) throw new Error(`refresh failed: ${JSON.stringify(result.body)}`);
  return String(result.body.access_token);
}

/** The machine client's JWT access token by client credentials. */
export async function machineToken(idp: DevIdp): Promise<string> {
  const { client_id: id, client_secret: secret } = idp.clients.machine;
  const result = await tokenRequest(idp, { grant_type: 'client_credentials' }, { id, secret });
  if (result.status !== 200) throw new Error(`client credentials failed: ${JSON.stringify(result.body)}`);
  return String(result.body.access_token);
}

/** POSTs a form to a control-plane path (e.g. `/v1/token`); `body` may be a raw string. */
export async function cpForm(
  idp: DevIdp,
  path: string,
  body: Record<string, string> | URLSearchParams | string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const form = typeof body === 'string' || body instanceof URLSearchParams ? body : new URLSearchParams(body);
  return reply(
    await fetch(`${idp.controlPlane}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: form,
    }),
  );
}

/** An RFC 8693 exchange with the usual parameters, overridable. */
export function exchange(
  idp: DevIdp,
  subjectToken: string,
  audience: string,
  extra: Record<string, string> = {},
): Promise<Reply> {
  return cpForm(idp, '/v1/token', {
    grant_type: EXCHANGE_GRANT,
    subject_token: subjectToken,
    subject_token_type: ID_TOKEN_TYPE,
    audience,
    requested_token_type: ACCESS_TOKEN_TYPE,
    ...extra,
  });
}

/** An exchanged control-plane token; throws unless the exchange succeeds. */
export async function exchangedToken(
  idp: DevIdp,
  subjectToken: string,
  audience: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const result = await exchange(idp, subjectToken, audience, extra);
  if (result.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(result.body)}`);
  return String(result.body.access_token);
}

/** A request with an optional bearer token to any URL. */
export async function call(
  url: string,
  token?: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return reply(
    await fetch(url, { method: init.method ?? 'GET', headers, body: init.body, redirect: 'manual' }),
  );
}

/** POSTs JSON to a control-plane path. */
export function cpJson(
  idp: DevIdp,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  token?: string,
): Promise<Reply> {
  return call(`${idp.controlPlane}${path}`, token, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Base64url of a JSON value, for hand-made JWTs. */
export function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
