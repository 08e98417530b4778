/**
 * The `firebase` provider: email and password through Firebase Authentication's REST API
 * (`accounts:signInWithPassword`), then `securetoken` refresh. Its ID token is the access token
 * a Firebase-backed API takes. With an emulator host every request goes to the Auth emulator
 * (plain http, loopback only), else to Google's endpoints; a session stays bound to the one it
 * came from (lifecycle/binding.ts).
 */

import { decodeJwt } from 'jose';
import {
  AuthenticationRequired,
  InvalidInput,
  type KeyfobError,
  LoginFailed,
  NetworkError,
  OAuthError,
  RefreshFailed,
} from '../errors.js';
import { type CommandNames, commandLine } from '../instance/command-names.js';
import { type AccessToken, accessTokenKey, newSession, type Session } from '../session.js';
import { isRecord } from '../shape.js';
import { safeText, transportError } from './oauth-errors.js';
import type {
  CredentialProvider,
  LoginRequest,
  ProviderRuntime,
  RevocationResult,
  TokenRequest,
} from './provider.js';

export interface FirebaseProviderOptions {
  name: string;
  /** The web API key: a public identifier, not a secret. */
  apiKey: string;
  /** `host:port` of the Auth emulator, or `null` for Google's servers. */
  emulatorHost: string | null;
  resource: string | null;
  allowedOrigins: readonly string[];
  /** How people run the auth commands, for hints. */
  cliName: string;
  /** The vendor's names of keyfob's commands, for messages. */
  commandNames?: CommandNames;
}

/** Codes that mean the email or the password is wrong; Firebase says which, keyfob does not. */
const WRONG_CREDENTIALS = new Set(['EMAIL_NOT_FOUND', 'INVALID_PASSWORD', 'INVALID_LOGIN_CREDENTIALS']);
/** Refresh answers that mean the session is over: only a new login helps. */
const SESSION_OVER = new Set([
  'INVALID_REFRESH_TOKEN',
  'TOKEN_EXPIRED',
  'USER_DISABLED',
  'USER_NOT_FOUND',
  'INVALID_ID_TOKEN',
]);

/** The two endpoints, at the emulator or at Google. */
export function firebaseEndpoints(apiKey: string, emulatorHost: string | null) {
  const key = encodeURIComponent(apiKey);
  const identity = emulatorHost
    ? `http://${emulatorHost}/identitytoolkit.googleapis.com`
    : 'https://identitytoolkit.googleapis.com';
  const secure = emulatorHost
    ? `http://${emulatorHost}/securetoken.googleapis.com`
    : 'https://securetoken.googleapis.com';
  return {
    signIn: `${identity}/v1/accounts:signInWithPassword?key=${key}`,
    token: `${secure}/v1/token?key=${key}`,
  };
}

/** Creates a Firebase provider. */
export function createFirebaseProvider(
  options: FirebaseProviderOptions,
  runtime: ProviderRuntime,
): CredentialProvider {
  const endpoints = firebaseEndpoints(options.apiKey, options.emulatorHost);
  const place = options.emulatorHost ? `the Firebase Auth emulator at ${options.emulatorHost}` : 'Firebase';
  const loginCommand = `${commandLine(options.cliName, options.commandNames, 'login')} ${options.name} --email EMAIL --password-stdin`;

  /** Sends one request and returns the answer's JSON, or throws the error it names. */
  async function call(
    url: string,
    init: RequestInit,
    action: string,
    onError: (code: string, detail: string, status: number) => KeyfobError,
  ): Promise<Record<string, unknown>> {
    runtime.log.debug('firebase request', { provider: options.name, url: url.split('?')[0] });
    let response: Response;
    try {
      response = await runtime.fetch(url, init);
    } catch (error) {
      throw (
        transportError(error, { action }) ??
        new NetworkError(`${action} failed: ${place} did not answer`, { cause: error })
      );
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (response.ok && isRecord(body)) return body;
    const error = isRecord(body) && isRecord(body.error) ? body.error : undefined;
    if (typeof error?.message === 'string') {
      // Firebase's messages are `CODE` or `CODE : detail`.
      const [code = '', ...rest] = error.message.split(' : ');
      throw onError(safeText(code.trim(), 80), safeText(rest.join(' : ')), response.status);
    }
    throw new OAuthError(
      `${action} failed: ${place} answered HTTP ${response.status} without a Firebase answer`,
      `http_${response.status}`,
    );
  }

  /** The ID token as the session's access token for `request`. */
  function accessToken(idToken: string, expiresIn: unknown, resource: string | null): AccessToken {
    const now = runtime.now();
    // Firebase sends `expiresIn` as a string of seconds.
    const seconds = typeof expiresIn === 'string' || typeof expiresIn === 'number' ? Number(expiresIn) : NaN;
    return {
      token: idToken,
      token_type: 'Bearer',
      expires_at:
        Number.isFinite(seconds) && seconds > 0
          ? new Date(now.getTime() + seconds * 1000).toISOString()
          : expiryClaim(idToken),
      obtained_at: now.toISOString(),
      scopes: [],
      resource,
    };
  }

  async function login(request: LoginRequest): Promise<Session> {
    if (request.flow !== 'password') {
      throw new InvalidInput(`provider ${options.name} (firebase) logs in with an email and a password`, {
        hint: `run \`${loginCommand}\``,
      });
    }
    if (!request.email || request.password === undefined || request.password === '') {
      throw new InvalidInput(`provider ${options.name} (firebase) needs an email and a password`, {
        hint: `run \`${loginCommand}\``,
      });
    }
    request.onTokenRequest?.();
    const body = await call(
      endpoints.signIn,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: request.email, password: request.password, returnSecureToken: true }),
        ...(request.signal ? { signal: request.signal } : {}),
      },
      `logging in at ${place}`,
      (code, detail, status) => loginError(code, detail, status, place),
    );
    const idToken = stringField(body, 'idToken', place);
    const session = newSession(options.name, 'password', runtime.now());
    session.subject = typeof body.localId === 'string' ? body.localId : subjectOf(idToken);
    session.id_token = idToken;
    session.refresh_token = typeof body.refreshToken === 'string' ? body.refreshToken : null;
    session.access_tokens[accessTokenKey(options.resource, [])] = accessToken(
      idToken,
      body.expiresIn,
      options.resource,
    );
    return session;
  }

  async function renew(session: Session, request: TokenRequest): Promise<Session> {
    if (!session.refresh_token) {
      throw new AuthenticationRequired(`the ${options.name} session has no refresh token`);
    }
    const action = `refreshing the ${options.name} session at ${place}`;
    const body = await call(
      endpoints.token,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: session.refresh_token,
        }).toString(),
      },
      action,
      (code, detail, status) =>
        SESSION_OVER.has(code)
          ? new RefreshFailed(`${action} failed: ${words(code)} (${code})`)
          : new OAuthError(`${action} failed: HTTP ${status}: ${words(code)} (${code})${tail(detail)}`, code),
    );
    const idToken = stringField(body, 'id_token', place);
    const next = structuredClone(session);
    next.id_token = idToken;
    if (typeof body.refresh_token === 'string') next.refresh_token = body.refresh_token;
    // One ID token serves every key: each stored entry and the one asked for get the new one.
    const keys = new Set([
      ...Object.keys(next.access_tokens),
      accessTokenKey(request.resource, request.scopes),
    ]);
    for (const key of keys) {
      const resource = next.access_tokens[key]?.resource ?? request.resource;
      next.access_tokens[key] = accessToken(idToken, body.expires_in, resource);
    }
    next.updated_at = runtime.now().toISOString();
    return next;
  }

  return {
    name: options.name,
    type: 'firebase',
    loginFlows: ['password'],
    allowedOrigins: options.allowedOrigins,
    defaultResource: options.resource,
    canReacquire: false,
    login,
    renew,
    async revoke(): Promise<RevocationResult> {
      return {
        revoked: false,
        detail:
          'Firebase has no refresh-token revocation endpoint for clients; the session was removed ' +
          'here, and its ID token stays valid until it expires',
      };
    },
    async userinfo(session, accessToken) {
      // Firebase has no userinfo endpoint: the ID token's claims say who it is (email, user id).
      try {
        return { ...decodeJwt(accessToken) };
      } catch {
        return { sub: session.subject };
      }
    },
  };
}

/** A login answer's error code in plain words (DESIGN.md, Providers: firebase). */
export function loginError(code: string, detail: string, status: number, place: string): KeyfobError {
  if (WRONG_CREDENTIALS.has(code)) {
    return new LoginFailed('wrong email or password', {
      hint: `${place} refused them (${code}); check both and try again`,
    });
  }
  if (code === 'USER_DISABLED') {
    return new LoginFailed('this account is disabled (USER_DISABLED)', {
      hint: "ask the project's administrator to enable it",
    });
  }
  if (code === 'TOO_MANY_ATTEMPTS_TRY_LATER') {
    return new LoginFailed('too many attempts; try again later (TOO_MANY_ATTEMPTS_TRY_LATER)', {
      hint: `${place} throttles this account or address for a while`,
    });
  }
  return new LoginFailed(
    `logging in at ${place} failed: HTTP ${status}: ${words(code)} (${code})${tail(detail)}`,
  );
}

/** `INVALID_EMAIL` → "invalid email". */
function words(code: string): string {
  return code.toLowerCase().replace(/_/g, ' ');
}

function tail(detail: string): string {
  return detail ? `: ${detail}` : '';
}

function stringField(body: Record<string, unknown>, field: string, place: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') {
    throw new OAuthError(`${place} answered without ${field}`, 'invalid_response');
  }
  return value;
}

/** Without `expiresIn`, the ID token's own `exp` (read, not trusted), so it is still renewed in time. */
function expiryClaim(token: string): string | null {
  try {
    const exp = decodeJwt(token).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? new Date(exp * 1000).toISOString() : null;
  } catch {
    return null;
  }
}

function subjectOf(token: string): string | null {
  try {
    const sub = decodeJwt(token).sub;
    return typeof sub === 'string' ? sub : null;
  } catch {
    return null;
  }
}
