/**
 * Server-supplied text made safe to print. Kept apart from the modules that import openid-client,
 * so light modules (socket failures, the CLI's error path) can use it without loading the OAuth
 * client.
 */

/**
 * Characters no server-supplied text may print raw: C0 controls (ESC, BEL, CR, …), DEL, C1
 * controls (a lone 0x9b is CSI to many terminals), the line and paragraph separators, and the
 * bidirectional marks, overrides and isolates that make a terminal show text other than it is.
 * The CLI's `sanitize` (packages/cli/src/io.ts) replaces exactly this set; a test holds them equal.
 */
export const CONTROL_CHARACTERS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Server-supplied text, cut to a printable line of at most `max` characters. */
export function safeText(text: string, max = 200): string {
  const printable = text.replace(CONTROL_CHARACTERS, ' ').trim();
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
