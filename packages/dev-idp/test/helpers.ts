/**
 * Shared test helpers: a dev-idp per test file, PKCE, a loopback callback listener, and token
 * endpoint calls with plain fetch (the protocol is what is under test, so no client library
 * hides it).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { TestContext } from 'node:test';
import {
  approveDeviceLogin,
  completeBrowserLogin,
  type DevIdp,
  type DevIdpOptions,
  startDevIdp,
} from '../src/index.js';

export const ALICE = { email: 'alice@example.com', password: 'alice-password-1', sub: 'user-alice' };
export const BOB = { email: 'bob@example.com', password: 'bob-password-2', sub: 'user-bob' };
export const LOGIN_SCOPE = 'openid profile email offline_access';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Starts a dev-idp that the test closes when it ends. */
export async function startIdp(
  t: TestContext | { after(fn: () => Promise<void>): void },
  options: DevIdpOptions = {},
) {
  const idp = await startDevIdp(options);
  t.after(() => idp.close());
  return idp;
}

/** A PKCE verifier and its S256 challenge. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** What a token endpoint answered. */
export interface TokenReply {
  status: number;
  body: Record<string, unknown>;
}

/** POSTs a form to the token endpoint; `basic` authenticates a confidential client. */
export async function tokenRequest(
  idp: DevIdp,
  params: Record<string, string>,
  basic?: { id: string; secret: string },
): Promise<TokenReply> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`).toString('base64')}`;
  }
  const response = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(params),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A refresh_token grant of the CLI client. */
export function refresh(
  idp: DevIdp,
  refreshToken: string,
  extra: Record<string, string> = {},
): Promise<TokenReply> {
  return tokenRequest(idp, {
    grant_type: 'refresh_token',
    client_id: idp.clients.cli.client_id,
    refresh_token: refreshToken,
    ...extra,
  });
}

/** A one-shot loopback listener for `/callback` on a random port, like a CLI's. */
export async function loopback(t: { after(fn: () => Promise<void> | void): void }) {
  let resolveQuery!: (query: URLSearchParams) => void;
  const query = new Promise<URLSearchParams>((resolve) => {
    resolveQuery = resolve;
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You can close this window.\n');
    if (url.pathname === '/callback') resolveQuery(url.searchParams);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return { redirectUri: `http://127.0.0.1:${address.port}/callback`, query };
}

/** The authorization URL keyfob's CLI would open. */
export function authorizationUrl(
  idp: DevIdp,
  redirectUri: string,
  challenge: string,
  extra: Record<string, string> = {},
): { url: string; state: string } {
  const state = randomBytes(8).toString('hex');
  const url = new URL(`${idp.issuer}/auth`);
  url.search = new URLSearchParams({
    client_id: idp.clients.cli.client_id,
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: LOGIN_SCOPE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce: randomBytes(8).toString('hex'),
    ...extra,
  }).toString();
  return { url: url.href, state };
}

/** A full browser login through the robot and the code exchange; returns the token response. */
export async function browserLogin(
  t: { after(fn: () => Promise<void> | void): void },
  idp: DevIdp,
  options: { scope?: string; user?: { email: string; password: string } } = {},
): Promise<Record<string, unknown>> {
  const { redirectUri, query } = await loopback(t);
  const { verifier, challenge } = pkce();
  const { url } = authorizationUrl(
    idp,
    redirectUri,
    challenge,
    options.scope ? { scope: options.scope } : {},
  );
  const user = options.user ?? ALICE;
  await completeBrowserLogin({ authorizationUrl: url, email: user.email, password: user.password });
  const code = (await query).get('code');
  if (!code) throw new Error('no code in the callback');
  const reply = await tokenRequest(idp, {
    grant_type: 'authorization_code',
    client_id: idp.clients.cli.client_id,
    code,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  });
  if (reply.status !== 200) throw new Error(`code exchange failed: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Starts a device authorization for the CLI client. */
export async function deviceAuthorization(idp: DevIdp, scope = LOGIN_SCOPE): Promise<Record<string, string>> {
  const response = await fetch(`${idp.issuer}/device/auth`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: idp.clients.cli.client_id, scope }),
  });
  if (response.status !== 200) throw new Error(`device authorization failed: ${response.status}`);
  return (await response.json()) as Record<string, string>;
}

/** A full device login through the robot; returns the token response. */
export async function deviceLogin(idp: DevIdp, scope = LOGIN_SCOPE): Promise<Record<string, unknown>> {
  const device = await deviceAuthorization(idp, scope);
  await approveDeviceLogin({
    verificationUri: device.verification_uri ?? '',
    verificationUriComplete: device.verification_uri_complete,
    userCode: device.user_code ?? '',
    email: ALICE.email,
    password: ALICE.password,
  });
  const reply = await tokenRequest(idp, {
    grant_type: DEVICE_GRANT,
    client_id: idp.clients.cli.client_id,
    device_code: device.device_code ?? '',
  });
  if (reply.status !== 200) throw new Error(`device token request failed: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** GET with a bearer token. */
export async function getWithToken(url: string, token?: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body: body as Record<string, unknown> };
}

/** The decoded payload of a JWT (no verification: the tests verify separately). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1];
  if (!part) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The decoded header of a JWT. */
export function jwtHeader(token: string): Record<string, unknown> {
  const part = token.split('.')[0];
  if (!part) throw new Error('not a JWT');
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Introspects a token as the CLI client. */
export async function introspect(idp: DevIdp, token: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${idp.issuer}/token/introspection`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: idp.clients.cli.client_id, token }),
  });
  return (await response.json()) as Record<string, unknown>;
}
