/**
 * `keyfob fleet status`: what the fleet's Redis holds for this app (DESIGN.md, Fleets): each
 * entry's name, expiry and key, and which of them are identities this machine knows. Never a
 * token: entries are not opened.
 */
import { InvalidInput } from '@keyfob/core';
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { paint, sanitize, table, toJson } from '../io.js';
import { openKeyfob } from './shared.js';
import { relativeTime } from './status.js';

export const fleet: Command = {
  name: 'fleet',
  summary: "show the fleet's cached identities: names and expiries, never a token",
  usage: 'status [flags]',
  examples: [
    { what: 'what the fleet holds, which key seals each entry', run: 'keyfob fleet status' },
    {
      what: 'with the fleet from the environment, as JSON',
      run: 'KEYFOB_FLEET_REDIS=redis://127.0.0.1:6379 KEYFOB_FLEET_KEY=… keyfob fleet status --json',
    },
  ],
  description:
    'Machine tokens are shared through Redis when the config has fleet: or KEYFOB_FLEET_REDIS and\nKEYFOB_FLEET_KEY are set. Exit 1 when Redis does not answer.',
  completes: ['status'],
  maxPositionals: 1,
  flags: { ...profileFlags, ...jsonFlag },
  async run({ io, app, values, positionals }) {
    const [sub] = positionals;
    if (sub !== 'status') {
      throw new InvalidInput(`\`${app.commandPrefix} fleet\` takes one subcommand: status`);
    }
    const kf = await openKeyfob(io, app, values);
    const report = await kf.fleetStatus();
    if (values.json) {
      io.stdout.write(toJson(report, 2));
      return 0;
    }
    const colors = paint(io.stdout, io.env);
    const now = Date.now();
    io.stdout.write(
      `Fleet at ${sanitize(report.redis)}, key prefix ${sanitize(report.key_prefix)} (from ${sanitize(report.source)}); ${report.entries.length} cached ${report.entries.length === 1 ? 'identity' : 'identities'}.\n`,
    );
    if (report.entries.length > 0) {
      const rows = report.entries.map((e) => [
        e.name,
        `${e.expires_at} (${relativeTime(Date.parse(e.expires_at), now)})`,
        e.key,
        e.identity ?? '-',
      ]);
      io.stdout.write(table(['NAME', 'EXPIRES', 'KEY', 'IDENTITY'], rows, colors));
    }
    const unknown = report.entries.filter((e) => e.key === 'unknown').length;
    if (unknown > 0) {
      io.stdout.write(
        `${colors.yellow('Note:')} ${unknown} ${unknown === 1 ? 'entry is' : 'entries are'} sealed under a key this machine does not have: its workers acquire alone.\n`,
      );
    }
    return 0;
  },
};
