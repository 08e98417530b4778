/**
 * `keyfob status`: every profile with its provider, subject, tenant, scopes, expiry, whether it
 * can refresh and where it is stored; the active one marked; what the environment overrides.
 */
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { paint, table } from '../io.js';
import { openKeyfob } from './shared.js';

export const status: Command = {
  name: 'status',
  summary: 'show every profile, its session and the active one',
  usage: '[flags]',
  examples: [
    { what: 'every profile, its provider, expiry and store; the active one marked', run: 'keyfob status' },
    { what: 'the same as JSON, for a script', run: 'keyfob status --json' },
  ],
  maxPositionals: 0,
  flags: { ...profileFlags, ...jsonFlag },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const report = await kf.status();
    if (values.json) {
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return 0;
    }
    const colors = paint(io.stdout, io.env);
    if (report.profiles.length === 0) {
      io.stdout.write(`No profiles yet; run \`${app.commandPrefix} login\`.\n`);
    } else {
      const rows = report.profiles.map((p) => [
        `${p.name === report.active_profile ? '*' : ' '} ${p.name}`,
        p.provider ?? '-',
        p.subject ?? '-',
        p.tenant ? (p.tenant.name ?? p.tenant.id) : '-',
        p.scopes.join(' ') || '-',
        p.expires_at ?? (p.logged_in ? 'unknown' : 'not logged in'),
        p.refreshable ? 'yes' : 'no',
        p.store ?? '-',
      ]);
      io.stdout.write(
        table(
          ['  PROFILE', 'PROVIDER', 'SUBJECT', 'TENANT', 'SCOPES', 'EXPIRES', 'REFRESH', 'STORE'],
          rows,
          colors,
        ),
      );
    }
    for (const p of report.profiles) {
      if (p.store_reason) io.stdout.write(`${colors.dim(`${p.name}: ${p.store_reason}`)}\n`);
    }
    for (const note of report.notes) io.stdout.write(`${note}\n`);
    if (report.overridden_by) {
      io.stdout.write(
        `${colors.yellow('Note:')} ${report.overridden_by} is set and takes precedence over these profiles.\n`,
      );
    }
    return 0;
  },
};
