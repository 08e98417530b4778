/**
 * `keyfob whoami`: who the token says you are: userinfo when the provider has it, else the ID
 * token's claims. A key/value table on a terminal, JSON with `--json` or when piped.
 */
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { keyValueTable, paint } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

export const whoami: Command = {
  name: 'whoami',
  summary: 'show who the token says you are',
  usage: '[flags]',
  maxPositionals: 0,
  flags: { ...profileFlags, ...jsonFlag },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const claims = await kf.whoami({ profile: optionalString(values.profile) });
    if (values.json || !io.stdout.isTTY) {
      io.stdout.write(`${JSON.stringify(claims, null, 2)}\n`);
      return 0;
    }
    const rows = Object.entries(claims).map(([key, value]) => [key, formatClaim(value)] as const);
    io.stdout.write(keyValueTable(rows, paint(io.stdout, io.env)));
    return 0;
  },
};

function formatClaim(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}
