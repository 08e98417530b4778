/**
 * Error classes and their stable codes.
 *
 * Every failure a caller can act on has its own class and a `code` that never changes between
 * releases; the message names the fix. Messages never contain a token, a secret or a code:
 * callers may log them as they are.
 */

/** Exit status the CLI uses for an error: 2 means "authentication required", 1 everything else. */
export type ExitCode = 1 | 2 | 3;

/** Stable codes, one per error class. */
export type KeyfobErrorCode =
  | 'AUTHENTICATION_REQUIRED'
  | 'INSUFFICIENT_SCOPE'
  | 'PERMISSION_DENIED'
  | 'ORIGIN_NOT_ALLOWED'
  | 'CONFLICTING_CREDENTIALS'
  | 'PROFILE_NOT_FOUND'
  | 'PROVIDER_NOT_FOUND'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_REQUIRED'
  | 'USER_NOT_FOUND'
  | 'CONTROL_PLANE_ERROR'
  | 'INVALID_CONFIG'
  | 'INVALID_INPUT'
  | 'TOKEN_INVALID'
  | 'STORE_UNAVAILABLE'
  | 'STORE_CORRUPT'
  | 'UNSUPPORTED_SCHEMA_VERSION'
  | 'UNSAFE_PATH'
  | 'LOCK_TIMEOUT'
  | 'LOGIN_FAILED'
  | 'LOGIN_TIMEOUT'
  | 'OAUTH_ERROR'
  | 'INSECURE_URL'
  | 'TLS_VERIFICATION_FAILED'
  | 'NETWORK'
  | 'VALIDATION_UNDECIDED'
  | 'RESPONSE_TOO_LARGE'
  | 'INSECURE_PERMISSIONS'
  | 'REFRESH_FAILED'
  | 'FLEET_UNAVAILABLE';

/** Options every keyfob error accepts. */
export interface KeyfobErrorOptions {
  /** The underlying error; kept for `KEYFOB_DEBUG=1`, never shown in the first line. */
  cause?: unknown;
  /** What to run or change to get past this error, appended to the message. */
  hint?: string;
}

/** Base class of every error keyfob throws on purpose. */
export class KeyfobError extends Error {
  readonly code: KeyfobErrorCode;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(
    code: KeyfobErrorCode,
    message: string,
    options: KeyfobErrorOptions = {},
    exitCode: ExitCode = 1,
  ) {
    super(options.hint ? `${message}; ${options.hint}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** No usable credential: nothing stored, expired and not renewable, revoked, or a final 401. */
export class AuthenticationRequired extends KeyfobError {
  /** The HTTP status of the answer that said so (a resource server's final 401), if one came. */
  readonly status: number | undefined;
  constructor(
    message: string,
    options?: KeyfobErrorOptions & { status?: number },
    /** For subclasses only ({@link RefreshFailed}). */
    code: 'AUTHENTICATION_REQUIRED' | 'REFRESH_FAILED' = 'AUTHENTICATION_REQUIRED',
  ) {
    super(code, message, options, 2);
    this.status = options?.status;
  }
}

/** The session lacks a scope the call requires. */
export class InsufficientScope extends KeyfobError {
  readonly missingScopes: readonly string[];
  constructor(message: string, missingScopes: readonly string[], options?: KeyfobErrorOptions) {
    super('INSUFFICIENT_SCOPE', message, options);
    this.missingScopes = missingScopes;
  }
}

/** The server answered 403. */
export class PermissionDenied extends KeyfobError {
  /** The scope the server's `WWW-Authenticate` challenge names (`scope="…"`), when it names one. */
  readonly requiredScope: string | undefined;
  constructor(message: string, options?: KeyfobErrorOptions & { requiredScope?: string }) {
    super('PERMISSION_DENIED', message, options);
    this.requiredScope = options?.requiredScope;
  }
}

/** `kf.fetch` was asked to send a credential to an origin its provider does not own. */
export class OriginNotAllowed extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('ORIGIN_NOT_ALLOWED', message, options);
  }
}

/** Two kinds of credential were given on the same level of the resolution chain. */
export class ConflictingCredentials extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('CONFLICTING_CREDENTIALS', message, options);
  }
}

/** A profile named explicitly (option, `--profile`, `<PREFIX>_PROFILE`) that nothing knows of; exit 1, naming the known profiles and the login that creates it. */
export class ProfileNotFound extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('PROFILE_NOT_FOUND', message, options);
  }
}

/** A provider name that is not configured (a profile or `<PREFIX>_PROVIDER` names it). */
export class ProviderNotFound extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('PROVIDER_NOT_FOUND', message, options);
  }
}

/** A tenant the login does not belong to; the message names the ones it does. */
export class TenantNotFound extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('TENANT_NOT_FOUND', message, options);
  }
}

/**
 * Nothing decides the tenant (no `--tenant`, variable, profile or provider tenant, no default
 * and more than one to choose from) and nobody is there to choose; the message lists them.
 */
export class TenantRequired extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('TENANT_REQUIRED', message, options);
  }
}

/** A control plane does not know the user (assume_user `user_not_found`). */
export class UserNotFound extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('USER_NOT_FOUND', message, options);
  }
}

/**
 * A control plane answered something the protocol does not allow (malformed JSON, a missing
 * field, an `http` server URL off loopback, an unexpected status); the message says what and
 * keeps the server's own `error` and `error_description`, sanitized.
 */
export class ControlPlaneError extends KeyfobError {
  /** The HTTP status, when an answer arrived. */
  readonly status: number | undefined;
  constructor(message: string, options: KeyfobErrorOptions & { status?: number } = {}) {
    super('CONTROL_PLANE_ERROR', message, options);
    this.status = options.status;
  }
}

/** `config.yaml` (or a config given in code) is malformed; the message names the file and the key. */
export class InvalidConfig extends KeyfobError {
  readonly file: string | undefined;
  readonly key: string | undefined;
  constructor(message: string, where: { file?: string; key?: string } = {}, options?: KeyfobErrorOptions) {
    const prefix = [where.file, where.key].filter(Boolean).join(': ');
    super('INVALID_CONFIG', prefix ? `${prefix}: ${message}` : message, options);
    this.file = where.file;
    this.key = where.key;
  }
}

/** A command-line argument, flag value or piped input is not acceptable. */
export class InvalidInput extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('INVALID_INPUT', message, options);
  }
}

/** A token that is malformed or fails a validation step (`check`); exit 1. */
export class TokenInvalid extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('TOKEN_INVALID', message, options);
  }
}

/** A credential store cannot be reached (no keychain on the bus, unwritable home, …). */
export class StoreUnavailable extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/** Stored data could not be parsed; it has been moved aside to `movedTo`. */
export class StoreCorrupt extends KeyfobError {
  readonly movedTo: string;
  constructor(message: string, movedTo: string, options?: KeyfobErrorOptions) {
    super('STORE_CORRUPT', message, options);
    this.movedTo = movedTo;
  }
}

/** A file or payload was written by a newer keyfob; it is left exactly as it is. */
export class UnsupportedSchemaVersion extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('UNSUPPORTED_SCHEMA_VERSION', message, options);
  }
}

/** A path keyfob would write is a symlink, or a directory with unsafe ownership or mode. */
export class UnsafePath extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('UNSAFE_PATH', message, options);
  }
}

/** Another process held a profile's lock for longer than keyfob waits. */
export class LockTimeout extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('LOCK_TIMEOUT', message, options);
  }
}

/** A login did not complete: the user denied, the callback was forged, the code expired, … */
export class LoginFailed extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('LOGIN_FAILED', message, options);
  }
}

/** Nobody completed the login in time. */
export class LoginTimeout extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('LOGIN_TIMEOUT', message, options);
  }
}

/** The authorization server answered with an OAuth error this class does not map further. */
export class OAuthError extends KeyfobError {
  /** The `error` field of the server's response, e.g. `invalid_grant`. */
  readonly error: string;
  constructor(message: string, error: string, options?: KeyfobErrorOptions) {
    super('OAUTH_ERROR', message, options);
    this.error = error;
  }
}

/** A plain-`http` URL that is not on a loopback address. */
export class InsecureUrl extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('INSECURE_URL', message, options);
  }
}

/** A server's certificate was refused; the hint names the CA bundle variable and the other fixes. */
export class TlsVerificationFailed extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('TLS_VERIFICATION_FAILED', message, options);
  }
}

/** The network failed before any answer arrived (refused, reset, DNS, timeout). */
export class NetworkError extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('NETWORK', message, options);
  }
}

/** True for errors keyfob raised on purpose (they carry a stable code and a safe message). */
export function isKeyfobError(error: unknown): error is KeyfobError {
  return error instanceof KeyfobError;
}

/**
 * `check` could not decide whether a token is valid: the issuer, its JWKS or its introspection
 * endpoint did not answer usefully. Exit code 3, so a script can tell "invalid" (1) from
 * "ask again later" (3).
 */
export class ValidationUndecided extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('VALIDATION_UNDECIDED', message, options, 3);
  }
}

/**
 * A server sent more than keyfob reads of one response (1 MiB, 4 MiB for a token request):
 * keyfob stopped reading and closed the connection. The message names the URL and the bound.
 */
export class ResponseTooLarge extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('RESPONSE_TOO_LARGE', message, options);
  }
}

/**
 * A file or directory keyfob trusts (the home, `sessions/`, the state file, `config.yaml`, …)
 * belongs to another user or can be written by users other than its owner. The message names
 * the path, and the hint the `chmod` or `chown` that fixes it.
 */
export class InsecurePermissions extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('INSECURE_PERMISSIONS', message, options);
  }
}

/**
 * A credential keyfob stored that the server now refuses (a deleted service principal's
 * secret, a revoked admin API key): exit 2, and the message already says what to run, so the
 * renewal layer passes it on as it is.
 */
export class CredentialRefused extends AuthenticationRequired {}

/**
 * A request on an HTTP session (`kf.session()`) after its `close()` (or the end of its
 * `await using` block): create a new session. Code `INVALID_INPUT`, exit 1.
 */
export class SessionClosed extends InvalidInput {}

/**
 * A refresh was tried and refused (`invalid_grant`: a revoked or expired grant; an unexplained
 * 400 or 401 from the token endpoint): the session is over and `login` is the fix. A subclass
 * of {@link AuthenticationRequired} (exit 2), so callers that catch that still do.
 */
export class RefreshFailed extends AuthenticationRequired {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super(message, options, 'REFRESH_FAILED');
  }
}

/**
 * A token given from outside (the `token` option, `<PREFIX>_TOKEN`, `<PREFIX>_TOKEN_FILE`) whose
 * `exp` has passed: keyfob cannot renew what it did not obtain, so it is refused before anything
 * is sent. An {@link AuthenticationRequired} (code `AUTHENTICATION_REQUIRED`, exit 2) that an
 * SDK can tell apart to say it in its own words ("Token expired").
 */
export class TokenExpired extends AuthenticationRequired {}

/**
 * The fleet's Redis did not answer, refused the credentials, or answered beyond the bound
 * (`fleet status`). Token calls never throw it: a worker then acquires alone (DESIGN.md, Fleets).
 */
export class FleetUnavailable extends KeyfobError {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super('FLEET_UNAVAILABLE', message, options);
  }
}
