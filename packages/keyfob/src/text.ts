/**
 * Server-supplied text made safe to print. Kept apart from the modules that import openid-client,
 * so light modules (socket failures, the CLI's error path) can use it without loading the OAuth
 * client.
 */

/** Server-supplied text, cut to a printable line of at most `max` characters. */
export function safeText(text: string, max = 200): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing control characters is the point
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}
