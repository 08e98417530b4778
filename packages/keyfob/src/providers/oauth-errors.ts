/**
 * openid-client's, oauth4webapi's and fetch's errors in words a user acts on: the HTTP status,
 * the provider's `error` and `error_description` (sanitized), which check failed (state, iss,
 * nonce, the discovered issuer), and the host that refused a connection. Never "invalid
 * response encountered".
 *
 * Loaded only with openid-client (see oauth-client.ts).
 */
import * as client from 'openid-client';
import { appNames } from '../config/names.js';
import {
  KeyfobError,
  LoginFailed,
  NetworkError,
  OAuthError,
  RefreshFailed,
  TlsVerificationFailed,
} from '../errors.js';
import { findTlsFailure, tlsFixes } from '../http/dispatcher.js';
import { networkFailure } from '../network-failure.js';
import { isRecord } from '../shape.js';
import { safeText } from '../text.js';
import { errorBodyOf } from './answer-bodies.js';

/**
 * The three ways out of a certificate failure, for errors that did not pass through keyfob's
 * own dispatcher (a `fetch` given to `createKeyfob`); the dispatcher names the app's prefix.
 */
export const TLS_FIXES = tlsFixes(appNames());

/** What the hint says when the provider does not accept the client's own credentials. */
const INVALID_CLIENT_HINT =
  'check client_id and the client secret or key, and token_endpoint_auth_method (client_secret_basic, client_secret_post, private_key_jwt, none) against what the provider registered';

/**
 * Maps an error from openid-client, oauth4webapi or fetch to a keyfob error whose message is
 * safe to print: server-supplied text is trimmed to printable characters and never echoes a
 * request parameter.
 */
export function toKeyfobError(error: unknown, context: { action: string }): KeyfobError {
  const transport = transportError(error, context);
  if (transport) return transport;
  const { action } = context;
  if (error instanceof client.AuthorizationResponseError) {
    const description = error.error_description ? ` (${safeText(error.error_description)})` : '';
    if (error.error === 'access_denied') {
      return new LoginFailed(`the login was denied at the provider (access_denied${description})`, {
        hint: 'run the login again and approve the request',
        cause: error,
      });
    }
    return new LoginFailed(`the provider refused the login: ${safeText(error.error)}${description}`, {
      cause: error,
    });
  }
  const refusal = providerRefusal(error);
  if (refusal) {
    const message = `${action} failed: the provider answered HTTP ${refusal.status} ${refusal.words}`;
    if (refusal.error === 'access_denied') return new LoginFailed(message, { cause: error });
    if (refusal.error === 'expired_token') {
      return new LoginFailed(`${action} failed: the device code expired before it was approved`, {
        hint: 'run the login again',
        cause: error,
      });
    }
    return new OAuthError(message, refusal.error ?? 'invalid_response', {
      cause: error,
      ...(refusal.error === 'invalid_client' ? { hint: INVALID_CLIENT_HINT } : {}),
    });
  }
  const processing = processingFailure(error);
  if (processing) {
    if (processing.code === 'OAUTH_TIMEOUT') {
      return new NetworkError(`${action} failed: timed out`, { cause: error });
    }
    if (processing.code === 'OAUTH_ABORT')
      return new LoginFailed(`${action} was cancelled`, { cause: error });
    return new OAuthError(`${action} failed: ${processingWords(processing)}`, 'invalid_response', {
      cause: error,
    });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new LoginFailed(`${action} was cancelled`, { cause: error });
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.message.includes('timeout'))) {
    return new NetworkError(`${action} failed: timed out`, { cause: error });
  }
  return new OAuthError(
    `${action} failed: ${safeText(error instanceof Error ? error.message : String(error))}`,
    'unknown',
    { cause: error },
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
  return networkFailure(error, context.action);
}

/**
 * Wraps a renewal failure. The session is gone, whatever else the server said, on
 * `invalid_grant`, and on a 400 or 401 that names no error at all (no body, or not JSON): both
 * are `AuthenticationRequired`, which the caller turns into "run login".
 */
export function renewalError(error: unknown, action: string): KeyfobError {
  const mapped = toKeyfobError(error, { action });
  if (mapped instanceof OAuthError && mapped.error === 'invalid_grant') {
    return new RefreshFailed(`${action} failed: the refresh token was rejected (invalid_grant)`, {
      cause: error,
    });
  }
  const status = unexplainedStatus(error);
  if (status === 400 || status === 401) {
    // The message up to its first ';' is what the "run login" wrapper quotes.
    const words = mapped.message.slice(`${action} failed: `.length).split(';')[0];
    return new RefreshFailed(`${action} failed: ${words}`, { cause: error });
  }
  return mapped;
}

// ---------------------------------------------------------------------------------------------
// The provider's own refusal: an OAuth error in the body or in a WWW-Authenticate challenge

interface Refusal {
  status: number;
  /** The OAuth `error` code, when the provider gave one. */
  error: string | undefined;
  /** `invalid_client (client authentication failed)`, or what the answer was instead. */
  words: string;
}

function providerRefusal(error: unknown): Refusal | null {
  if (error instanceof client.ResponseBodyError) {
    return {
      status: error.status,
      error: error.error,
      words: errorWords(error.error, error.error_description),
    };
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    const challenges = Array.isArray(error.cause) ? error.cause : [];
    const named = challenges.find((c) => typeof c.parameters.error === 'string' && c.parameters.error !== '');
    // The body may say more than the challenge (oidc-provider sends both).
    const body = bodyError(errorBodyOf(error.response));
    if (named) {
      const code = named.parameters.error as string;
      const description =
        named.parameters.error_description ?? (body?.error === code ? body.description : undefined);
      return { status: error.status, error: code, words: errorWords(code, description) };
    }
    if (body)
      return { status: error.status, error: body.error, words: errorWords(body.error, body.description) };
    const scheme = safeText(challenges[0]?.scheme ?? 'an authentication', 40);
    return { status: error.status, error: undefined, words: `with a ${scheme} challenge and no error` };
  }
  return null;
}

/** `{ error, error_description }` from a JSON error body, when it is one. */
function bodyError(text: string | undefined): { error: string; description: unknown } | null {
  if (!text) return null;
  try {
    const json = JSON.parse(text) as unknown;
    if (isRecord(json) && typeof json.error === 'string' && json.error !== '') {
      return { error: json.error, description: json.error_description };
    }
  } catch {
    // Not JSON: the challenge's words are all there is.
  }
  return null;
}

function errorWords(code: string, description: unknown): string {
  const detail = typeof description === 'string' && description !== '' ? ` (${safeText(description)})` : '';
  return `${safeText(code, 80)}${detail}`;
}

// ---------------------------------------------------------------------------------------------
// A check that failed on the client side (oauth4webapi's OperationProcessingError)

interface Processing {
  /** oauth4webapi's (or openid-client's) code, e.g. `OAUTH_INVALID_RESPONSE`. */
  code: string;
  /** oauth4webapi's own message: developer words, used to tell which check failed. */
  message: string;
  /** Its details: a `Response`, or `{ expected, parameters | body | claims, attribute | claim }`. */
  details: unknown;
}

/** The processing error in `error`: openid-client's ClientError wraps oauth4webapi's. */
function processingFailure(error: unknown): Processing | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (error.name === 'OperationProcessingError') {
    return {
      code: typeof code === 'string' ? code : 'unknown',
      message: error.message,
      details: error.cause,
    };
  }
  if (!(error instanceof client.ClientError) || typeof code !== 'string') return null;
  const inner = error.cause;
  if (inner instanceof Error && inner.name === 'OperationProcessingError') {
    return { code, message: inner.message, details: inner.cause };
  }
  // openid-client hands a Response (not the error) for a wrong status or content type.
  return { code, message: error.message, details: inner };
}

/** Words for a failed check or a malformed answer. */
function processingWords(p: Processing): string {
  const details = isRecord(p.details) ? p.details : {};
  const response = asResponse(p.details);
  switch (p.code) {
    case 'OAUTH_RESPONSE_IS_NOT_CONFORM':
    case 'OAUTH_RESPONSE_IS_NOT_JSON':
      return response
        ? answerWords(response)
        : 'the provider answered with something that is not an OAuth answer';
    case 'OAUTH_PARSE_ERROR':
      return 'the provider answered with a body that is not valid JSON';
    case 'OAUTH_INVALID_RESPONSE':
      return invalidResponseWords(p.message, details);
    case 'OAUTH_JWT_CLAIM_COMPARISON_FAILED':
      return claimWords(details);
    case 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED': {
      const attribute = typeof details.attribute === 'string' ? details.attribute : 'an attribute';
      const body = isRecord(details.body) ? details.body : {};
      const got =
        typeof body[attribute] === 'string' ? safeText(body[attribute] as string, 120) : 'something else';
      const expected = typeof details.expected === 'string' ? safeText(details.expected, 120) : '?';
      return attribute === 'issuer'
        ? `issuer mismatch: the discovery document names issuer ${got}, expected ${expected}`
        : `the provider's ${safeText(attribute, 40)} is ${got}, expected ${expected}`;
    }
    case 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED': {
      const claim = typeof details.claim === 'string' ? details.claim : 'a time';
      return `the ID token's ${safeText(claim, 20)} check failed (expired, not yet valid, or clocks differ)`;
    }
    case 'OAUTH_KEY_SELECTION_FAILED':
      return "no key in the provider's key set (JWKS) matches the token's signature header";
    case 'OAUTH_MISSING_SERVER_METADATA':
    case 'OAUTH_INVALID_SERVER_METADATA': {
      const attribute =
        typeof details.attribute === 'string' ? safeText(details.attribute, 60) : 'an endpoint';
      return `the provider's metadata has no valid ${attribute}`;
    }
    case 'OAUTH_HTTP_REQUEST_FORBIDDEN':
    case 'OAUTH_REQUEST_PROTOCOL_FORBIDDEN':
      return 'an endpoint is not https (plain http is allowed only on loopback)';
    default:
      return `${safeText(p.message)} (${safeText(p.code, 60)})`;
  }
}

/** The part of a fetch `Response` these words need. */
interface AnswerHead {
  status: number;
  headers: { get(name: string): string | null };
}

/**
 * A `Response` by its shape: keyfob's fetch returns undici's class, not the global one, so
 * `instanceof Response` would say no.
 */
function asResponse(value: unknown): AnswerHead | undefined {
  const candidate = value as Partial<AnswerHead> | null;
  return candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.status === 'number' &&
    typeof candidate.headers?.get === 'function'
    ? (candidate as AnswerHead)
    : undefined;
}

/** A wrong status or content type: the status and what the body was. */
function answerWords(response: AnswerHead): string {
  const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const empty = errorBodyOf(response) === '' || response.headers.get('content-length') === '0';
  const body = empty
    ? 'no body'
    : type === ''
      ? 'a body of no declared type'
      : `a ${safeText(type, 60)} body`;
  if (response.status >= 200 && response.status < 300) {
    return `the provider answered HTTP ${response.status} with ${body}, not JSON`;
  }
  const what = body === 'no body' ? body : `${body} and no OAuth error`;
  return `the provider answered HTTP ${response.status} with ${what}`;
}

/** oauth4webapi's OAUTH_INVALID_RESPONSE, told apart by its message (stable within a major). */
function invalidResponseWords(message: string, details: Record<string, unknown>): string {
  const parameters = details.parameters instanceof URLSearchParams ? details.parameters : undefined;
  const expected = typeof details.expected === 'string' ? safeText(details.expected, 120) : undefined;
  if (message.includes('"state" response parameter value')) {
    return "the callback's state does not match the one this login sent (possible forged callback)";
  }
  if (message.includes('"state" missing')) {
    return 'the callback has no state parameter (possible forged callback)';
  }
  if (message.includes('"state" response parameter encountered')) {
    return 'the callback has a state parameter this login did not send';
  }
  if (message.includes('"iss" (issuer) response parameter value')) {
    const iss = safeText(parameters?.get('iss') ?? '', 120);
    return `the callback's iss parameter names ${iss}, expected ${expected ?? 'the issuer'} (possible mix-up or forged callback)`;
  }
  if (message.includes('"iss" (issuer) missing')) {
    return 'the callback lacks the iss parameter this provider promises (RFC 9207)';
  }
  if (message.includes('no authorization code')) return 'the callback has no authorization code';
  // The rest name a field of the answer: '"response" body "expires_in" property must be …'.
  const field = /"response" body "([^"]+)" property/.exec(message)?.[1];
  if (field) return `the provider's answer has a missing or malformed ${safeText(field, 40)}`;
  if (/JWT|ID Token/.test(message)) return `the ID token is malformed: ${safeText(message, 120)}`;
  return `the provider's answer is malformed: ${safeText(message, 120)}`;
}

/** A JWT claim that does not match: which one, what it is, what was expected. */
function claimWords(details: Record<string, unknown>): string {
  const claim = typeof details.claim === 'string' ? details.claim : 'a claim';
  const claims = isRecord(details.claims) ? details.claims : {};
  const got = typeof claims[claim] === 'string' ? safeText(claims[claim] as string, 120) : undefined;
  const expected = typeof details.expected === 'string' ? safeText(details.expected, 120) : undefined;
  if (claim === 'nonce') {
    return "the ID token's nonce does not match the one this login sent (possible replayed token)";
  }
  if (claim === 'iss')
    return `the ID token's issuer is ${got ?? 'another'}, expected ${expected ?? 'the provider'}`;
  if (claim === 'aud' || claim === 'azp') return `the ID token was issued to another client (${claim})`;
  return `the ID token's ${safeText(claim, 20)} claim does not match${expected ? ` (expected ${expected})` : ''}`;
}

/** The status of an answer that named no OAuth error (no body, not JSON, a bare challenge). */
function unexplainedStatus(error: unknown): number | null {
  if (error instanceof client.WWWAuthenticateChallengeError) {
    return providerRefusal(error)?.error === undefined ? error.status : null;
  }
  const p = processingFailure(error);
  if (!p) return null;
  return asResponse(p.details)?.status ?? null;
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

export { safeText };
