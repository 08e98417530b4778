/**
 * One request to a control plane, as every endpoint of the wire protocol makes it: the URL from
 * `control_plane` + path (or the endpoint setting that replaces it), JSON or form body, the
 * runtime's guarded fetch (https off loopback, bounded answers), and the answer's JSON read
 * without trusting it. Each endpoint module maps statuses and `error` values to keyfob's errors.
 */
import { ControlPlaneError } from '../errors.js';
import { transportError } from '../providers/oauth-errors.js';
import type { ProviderRuntime } from '../providers/provider.js';
import { isRecord } from '../shape.js';
import { safeText } from '../text.js';

/**
 * `base` + `path`, with one trailing `/` of `base` removed (`…/cp` + `/v1/token` =
 * `…/cp/v1/token`); an endpoint setting replaces the whole URL.
 */
export function controlPlaneUrl(base: string, path: string, override?: string): string {
  if (override !== undefined) return override;
  return `${base.endsWith('/') ? base.slice(0, -1) : base}${path}`;
}

/** An answer: status, the JSON body when it was JSON (else `undefined`), and `Date`. */
export interface ControlPlaneAnswer {
  status: number;
  body: unknown;
  /** The answer's `Date` header, parsed; `null` when absent or malformed. */
  date: Date | null;
  /** The `WWW-Authenticate` header, for 401/403 words. */
  wwwAuthenticate: string | null;
  /** When the answer arrived. */
  receivedAt: Date;
}

/** What to send. Exactly one of `json` and `form`, or neither (GET, DELETE). */
export interface ControlPlaneCall {
  method: 'GET' | 'POST' | 'DELETE';
  url: string;
  /** `Authorization: Bearer <token>`: to the control plane a token always goes as Bearer. */
  bearer?: string;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** For messages: "listing tenants at <url>". Never holds a secret. */
  action: string;
  signal?: AbortSignal;
}

/**
 * Sends `call` and reads the answer. Never throws for an HTTP status; throws for no answer at
 * all (`NetworkError`, `TlsVerificationFailed`, `InsecureUrl`, `ResponseTooLarge` from the guard).
 */
export async function callControlPlane(
  runtime: ProviderRuntime,
  call: ControlPlaneCall,
): Promise<ControlPlaneAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', ...call.headers };
  if (call.bearer !== undefined) headers.authorization = `Bearer ${call.bearer}`;
  let body: string | undefined;
  if (call.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(call.json);
  } else if (call.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(call.form).toString();
  }
  runtime.log.debug('control plane request', { method: call.method, url: call.url.split('?')[0] });
  let response: Response;
  try {
    response = await runtime.fetch(call.url, {
      method: call.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      // A control plane that redirects is misconfigured; following would carry the token on.
      redirect: 'manual',
      ...(call.signal ? { signal: call.signal } : {}),
    });
  } catch (error) {
    throw transportError(error, { action: call.action }) ?? error;
  }
  const receivedAt = runtime.now();
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const dateHeader = response.headers.get('date');
  const date = dateHeader ? new Date(dateHeader) : null;
  return {
    status: response.status,
    body: parsed,
    date: date && Number.isFinite(date.getTime()) ? date : null,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    receivedAt,
  };
}

/** The answer's OAuth-style `error` and `error_description`, sanitized; empty strings when absent. */
export function answerError(answer: ControlPlaneAnswer): { error: string; description: string } {
  const body = isRecord(answer.body) ? answer.body : {};
  return {
    error: typeof body.error === 'string' ? safeText(body.error, 80) : '',
    description: typeof body.error_description === 'string' ? safeText(body.error_description) : '',
  };
}

/**
 * "HTTP 500 (server_error: the description)" — the status and the server's own words, for the
 * first line of an error.
 */
export function answerWords(answer: ControlPlaneAnswer): string {
  const { error, description } = answerError(answer);
  const words = [error, description].filter((part) => part !== '').join(': ');
  return `HTTP ${answer.status}${words ? ` (${words})` : ''}`;
}

/** A {@link ControlPlaneError} for an answer the protocol does not allow. */
export function unexpectedAnswer(
  action: string,
  answer: ControlPlaneAnswer,
  what?: string,
): ControlPlaneError {
  return new ControlPlaneError(
    `${action} failed: the control plane answered ${what ?? answerWords(answer)}`,
    { status: answer.status },
  );
}
