/**
 * `keyfob whoami`: who the token says you are: userinfo when the provider has it, else the ID
 * token's claims; for a machine (client credentials) the access token's claims, which name the
 * client and its scopes. A key/value table on a terminal, JSON with `--json` or when piped.
 */
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { keyValueTable, paint, toJson } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

/** Claims that hold a NumericDate (seconds since the epoch): shown as a time in the table. */
const TIME_CLAIMS = new Set(['exp', 'iat', 'nbf', 'auth_time', 'updated_at']);

export const whoami: Command = {
  name: 'whoami',
  summary: 'show who the token says you are',
  usage: '[flags]',
  examples: [
    { what: 'who you are logged in as', run: 'keyfob whoami' },
    { what: 'the same as JSON, for a script', run: 'keyfob whoami --json' },
    { what: 'who you are in another tenant', run: 'keyfob whoami --tenant acme-us' },
  ],
  description:
    "Userinfo for a person (or the ID token's claims when the provider has no userinfo endpoint); for a machine profile, the client id and scopes its token carries. With a control plane (exchange, assume_user, a saved service principal): its users/me (id, email, tenant) and the token's expiry.",
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    tenant: { type: 'string', value: 'ID', description: 'who you are in this tenant (exchange providers)' },
  },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const tenant = optionalString(values.tenant);
    const claims = await kf.whoami({
      profile: optionalString(values.profile),
      ...(tenant !== undefined ? { tenant } : {}),
    });
    if (values.json || !io.stdout.isTTY) {
      io.stdout.write(toJson(claims, 2));
      return 0;
    }
    const rows = Object.entries(claims).map(([key, value]) => [key, formatClaim(key, value)] as const);
    io.stdout.write(keyValueTable(rows, paint(io.stdout, io.env)));
    return 0;
  },
};

function formatClaim(key: string, value: unknown): string {
  if (TIME_CLAIMS.has(key) && typeof value === 'number' && Number.isFinite(value)) {
    const date = new Date(value * 1000);
    if (!Number.isNaN(date.getTime())) return `${date.toISOString().replace('.000Z', 'Z')} (${value})`;
  }
  // A claim is the provider's text: keyValueTable sanitizes it before it reaches the terminal.
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(' ');
  return JSON.stringify(value);
}
