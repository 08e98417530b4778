/**
 * What an agent gets back from a tool call: `{ success, status, data, error, metadata }`. An
 * authentication problem is a result (with the command a person runs), never a thrown error;
 * server text is made printable and bounded; every credential keyfob holds is redacted.
 */
import {
  AuthenticationRequired,
  InsufficientScope,
  isKeyfobError,
  OAuthError,
  PermissionDenied,
} from '../errors.js';
import { safeText } from '../text.js';
import { type HeldSecrets, REDACTED, redactValue } from './redact.js';

/** What `execute` returns. */
export interface ToolResult {
  success: boolean;
  /** The HTTP status, or `null` when no answer came (refused before sending, network failure). */
  status: number | null;
  /** The response body: parsed JSON, else text; credentials redacted. `null` when there is none. */
  data: unknown;
  /** What went wrong, one printable line (server words sanitized, at most 500 characters). */
  error: string | null;
  metadata: ToolResultMetadata;
}

export interface ToolResultMetadata {
  tool: string;
  /** The action called (tools with `actions`). */
  action?: string;
  /** No usable credential: a person runs `command`. */
  auth_required?: true;
  /** What a person runs: the login, or the step-up that adds `required_scope`. */
  command?: string;
  /** The scope the call needs and the credential lacks (or the server's 403 names). */
  required_scope?: string;
  /** How many credentials a server echoed and the executor replaced by `[REDACTED]`. */
  redacted?: number;
}

/** The most of a response body the executor reads (1 MiB); past it the call fails, saying so. */
export const MAX_DATA_BYTES = 1024 * 1024;
/** Bound of an error line. */
const MAX_ERROR = 500;

/** The result of a call that failed before or instead of an answer. */
export function failure(
  meta: ToolResultMetadata,
  error: string,
  held: HeldSecrets | null,
  extra: Partial<ToolResultMetadata> = {},
  status: number | null = null,
): ToolResult {
  return {
    success: false,
    status,
    data: null,
    error: clean(error, held),
    metadata: { ...meta, ...extra },
  };
}

/** The command in a keyfob error's hint (`run \`keyfob login\``), when it names one. */
function commandOf(error: { hint: string | undefined; message: string }): string | undefined {
  return /`([^`]+)`/.exec(error.hint ?? error.message)?.[1];
}

/**
 * A keyfob error met while calling, as a result: `auth_required` with the login command,
 * `required_scope` with the step-up command, the words of `NetworkError` and the others.
 * @returns `undefined` for an error that is not keyfob's (a bug: the caller rethrows it).
 */
export function errorResult(
  meta: ToolResultMetadata,
  error: unknown,
  held: HeldSecrets | null,
  fallbackLogin: string,
  /** The scope the call asked for, if any. */
  wanted?: string,
): ToolResult | undefined {
  if (!isKeyfobError(error)) return undefined;
  if (error instanceof InsufficientScope) {
    const command = commandOf(error);
    return failure(meta, error.message, held, {
      required_scope: error.missingScopes.join(' '),
      ...(command ? { command } : {}),
    });
  }
  if (error instanceof AuthenticationRequired) {
    // RefreshFailed, TokenExpired and CredentialRefused are AuthenticationRequired too.
    // A server's final 401 keeps its status; no request, or a refused refresh, has none.
    return failure(
      meta,
      error.message,
      held,
      { auth_required: true, command: commandOf(error) ?? fallbackLogin },
      error.status ?? null,
    );
  }
  if (error instanceof PermissionDenied) {
    const scope = error.requiredScope ? safeText(error.requiredScope, 200) : undefined;
    const command = scope ? commandOf(error) : undefined;
    return failure(
      meta,
      error.message,
      held,
      { ...(scope ? { required_scope: scope } : {}), ...(command ? { command } : {}) },
      403,
    );
  }
  if (error instanceof OAuthError && error.error === 'invalid_scope' && wanted) {
    // A machine client asked for a token with the action's scope, and its provider refused it.
    return failure(meta, error.message, held, { required_scope: wanted });
  }
  // NetworkError, ResponseTooLarge, OriginNotAllowed, …: their own words.
  return failure(meta, error.message, held);
}

/**
 * An answer as a result: the body read up to {@link MAX_DATA_BYTES}, parsed as JSON when it
 * says so (else text), redacted; a non-2xx keeps its status and the server's `error` and
 * `error_description`.
 */
export async function responseResult(
  meta: ToolResultMetadata,
  response: Response,
  held: HeldSecrets,
): Promise<ToolResult> {
  const body = await readBounded(response);
  if (body === null) {
    return failure(
      meta,
      `the response is larger than ${MAX_DATA_BYTES} bytes, the most a tool result holds; nothing of it is returned`,
      held,
      {},
      response.status,
    );
  }
  const text = new TextDecoder().decode(body);
  let data: unknown = text === '' ? null : text;
  const type = response.headers.get('content-type') ?? '';
  if (text !== '' && /\bjson\b/i.test(type)) {
    try {
      data = JSON.parse(text);
    } catch {
      // Not JSON after all: kept as text.
    }
  }
  let redacted: { value: unknown; count: number };
  try {
    redacted = redactValue(data, held);
  } catch {
    // JSON nested too deep to walk: returned as its (redacted) text.
    redacted = redactValue(text, held);
  }
  const meta2: ToolResultMetadata = { ...meta, ...(redacted.count > 0 ? { redacted: redacted.count } : {}) };
  if (response.ok) {
    return { success: true, status: response.status, data: redacted.value, error: null, metadata: meta2 };
  }
  return {
    success: false,
    status: response.status,
    data: redacted.value,
    error: clean(httpError(response, redacted.value), held),
    metadata: meta2,
  };
}

/** `HTTP 404: not_found: no such package`, from an OAuth-style error body when there is one. */
function httpError(response: Response, data: unknown): string {
  const parts = [`HTTP ${response.status}`];
  if (typeof data === 'object' && data !== null) {
    const { error, error_description } = data as { error?: unknown; error_description?: unknown };
    if (typeof error === 'string') parts.push(safeText(error, 100));
    if (typeof error_description === 'string') parts.push(safeText(error_description, 300));
  }
  return parts.join(': ');
}

/** Printable, bounded, redacted. */
function clean(text: string, held: HeldSecrets | null): string {
  const redacted = held ? held.redact(text).text : text;
  return safeText(redacted, MAX_ERROR);
}

/** The body, or `null` when it is larger than the bound (then the stream is cancelled). */
async function readBounded(response: Response): Promise<Uint8Array | null> {
  if (!response.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DATA_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

export { REDACTED };
