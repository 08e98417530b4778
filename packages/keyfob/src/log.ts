/**
 * The redacting logger shared by the library and the CLI.
 *
 * Redaction works by allow-list: a field is printed only when its name is known to carry no
 * secret, and URLs lose their query and fragment. Anything else shows as `[redacted]`, so a
 * new field can never leak a token by being forgotten in a deny-list.
 */

export interface Logger {
  /** A debug event; printed only when debugging is on (`KEYFOB_DEBUG=1`). */
  debug(event: string, fields?: Readonly<Record<string, unknown>>): void;
  /** A warning for the person; printed once per distinct message per process. */
  warn(message: string): void;
}

/** Field names whose values are never secret. */
const SAFE_FIELDS = new Set([
  'attempt',
  'count',
  'dropped_headers',
  'duration_ms',
  'error',
  'error_description',
  'expires_at',
  'flow',
  'grant_type',
  'method',
  'origin',
  'path',
  'profile',
  'provider',
  'reason',
  'resource',
  'scopes',
  'status',
  'store',
  'type',
]);

/** Fields that hold URLs: printed without query or fragment, which may carry codes. */
const URL_FIELDS = new Set(['url', 'issuer', 'endpoint', 'redirect_uri']);

/** Renders a field value for a log line, redacting everything not allow-listed. */
export function redactField(name: string, value: unknown): string {
  if (URL_FIELDS.has(name) && typeof value === 'string') return stripUrl(value);
  if (!SAFE_FIELDS.has(name)) return '[redacted]';
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (value === null || value === undefined) return String(value);
  return '[redacted]';
}

function stripUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '[redacted]';
  }
}

/** `createLogger()`: where lines go, their prefix, and whether debug lines are written. */
export interface LoggerOptions {
  debug: boolean;
  /** Where lines go; the CLI passes stderr. */
  write: (line: string) => void;
  /** Prefix of every line, e.g. the app name. */
  prefix?: string;
}

/** A logger writing redacted lines; warnings are deduplicated per logger. */
export function createLogger(options: LoggerOptions): Logger {
  const prefix = options.prefix ?? 'keyfob';
  const warned = new Set<string>();
  return {
    debug(event, fields = {}) {
      if (!options.debug) return;
      const rendered = Object.entries(fields)
        .map(([key, value]) => `${key}=${redactField(key, value)}`)
        .join(' ');
      options.write(`${prefix} debug: ${event}${rendered ? ` ${rendered}` : ''}\n`);
    },
    warn(message) {
      if (warned.has(message)) return;
      warned.add(message);
      options.write(`${prefix}: warning: ${message}\n`);
    },
  };
}

/** A logger that prints nothing, for library callers that did not ask for one. */
export const silentLogger: Logger = { debug() {}, warn() {} };
