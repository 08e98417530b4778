/**
 * Small type guards for values read from JSON (stores, the state file, server answers). They
 * live below every layer that parses such data, so config, stores and providers share them
 * without importing each other.
 */

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string with at least one character. */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** A string or `null`. */
export function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** An array of strings. */
export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}
