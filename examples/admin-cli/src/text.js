// kscli's output: its texts and tables, with no keyfob in them.

/** Server text reaches the terminal without control characters (C0, DEL, C1, bidi). */
export const clean = (text) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  String(text).replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');

/** JSON for stdout, with the C1 and bidi controls JSON.stringify leaves raw escaped. */
export const jsonText = (value) =>
  JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** `whoami` as kscli prints it: a FIELD / VALUE table, one row per scalar field. */
export function table(record) {
  const rows = Object.entries(record)
    .filter(([, value]) => value === null || typeof value !== 'object')
    .map(([field, value]) => [clean(field), clean(value ?? '')]);
  const width = Math.max(5, ...rows.map(([field]) => field.length));
  return [['FIELD', 'VALUE'], ...rows].map(([field, value]) => `${field.padEnd(width)}  ${value}`).join('\n');
}

/** The three ways out of a certificate failure, in the order a person should try them. */
export const TLS_HELP = [
  'To fix this:',
  '  1. Install the system CA certificates (e.g. apt-get install ca-certificates)',
  '  2. Set KSCLI_CA_BUNDLE to a PEM file with your CA certificate',
  '  3. For development only: set KSCLI_VERIFY_SSL=false (disables verification)',
].join('\n');

/** keyfob's message without its appended hint (kscli says what to do its own way). */
export const withoutHint = (error) =>
  error.hint && error.message.endsWith(`; ${error.hint}`)
    ? error.message.slice(0, -error.hint.length - 2)
    : error.message;
