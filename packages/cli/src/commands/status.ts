/**
 * `keyfob status`: every profile with its provider, subject, tenant, scopes, expiry, whether it
 * can refresh and where it is stored; the active one marked; what the environment overrides;
 * and a verdict: exit 0 when a command would get a credential, 2 (naming `login`) when not.
 */
import type { StatusReport } from '@keyfob/core';
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { paint, sanitize, table, toJson } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

type ProfileStatus = StatusReport['profiles'][number];

export const status: Command = {
  name: 'status',
  summary: 'show every profile, its session and the active one',
  usage: '[flags]',
  description:
    'Exit 0 when the selected profile (or a credential in the environment) can give a token; 2 when it is not logged in, or its token expired and cannot be renewed.',
  examples: [
    { what: 'every profile, its provider, expiry and store; the active one marked', run: 'keyfob status' },
    { what: 'the same as JSON, for a script', run: 'keyfob status --json' },
  ],
  maxPositionals: 0,
  flags: { ...profileFlags, ...jsonFlag },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const report = await kf.status();
    const now = Date.now();
    const verdict = judge(report, optionalString(values.profile), app.commandPrefix, now);
    if (values.json) {
      io.stdout.write(toJson(report, 2));
    } else {
      printReport(io, report, now);
    }
    if (verdict) {
      io.stderr.write(`${app.name}: ${verdict}\n`);
      return 2;
    }
    return 0;
  },
};

function printReport(io: Parameters<Command['run']>[0]['io'], report: StatusReport, now: number): void {
  const colors = paint(io.stdout, io.env);
  if (report.profiles.length > 0) {
    const rows = report.profiles.map((p) => [
      `${p.name === report.active_profile ? '*' : ' '} ${p.name}`,
      p.provider ?? '-',
      p.subject ?? '-',
      p.tenant ? p.tenant.id : '-',
      p.scopes.join(' ') || '-',
      expiry(p, now),
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
  // One line per reason, not per profile: ten profiles on one fallback store say it once.
  const byReason = new Map<string, string[]>();
  for (const p of report.profiles) {
    if (p.store_reason) byReason.set(p.store_reason, [...(byReason.get(p.store_reason) ?? []), p.name]);
  }
  for (const [reason, names] of byReason) {
    io.stdout.write(`${colors.dim(sanitize(`${names.join(', ')}: ${reason}`))}\n`);
  }
  for (const note of report.notes) io.stdout.write(`${sanitize(note)}\n`);
  const shared = report.profiles.filter((p) => p.from_fleet).map((p) => p.name);
  if (report.fleet) {
    const from = shared.length > 0 ? `; ${shared.join(', ')}: token from the fleet` : '';
    io.stdout.write(
      `${sanitize(`Machine tokens are shared through the fleet at ${report.fleet.redis} (prefix ${report.fleet.key_prefix})${from}.`)}\n`,
    );
  }
  if (report.overridden_by) {
    io.stdout.write(
      `${colors.yellow('Note:')} ${report.overridden_by} is set and takes precedence over these profiles.\n`,
    );
  }
}

/**
 * Why no command would get a credential from this report, or `null` when one would: a
 * credential in the environment, or the selected profile logged in (or a machine profile,
 * whose token is fetched on demand) and not expired beyond renewal.
 */
export function judge(
  report: StatusReport,
  named: string | undefined,
  prefix: string,
  now: number,
): string | null {
  if (report.overridden_by) return null;
  const name = named ?? report.active_profile;
  const login = `${prefix} login${named ? ` --profile ${named}` : ''}`;
  const selected = report.profiles.find((p) => p.name === name);
  if (!selected || (!selected.logged_in && !selected.refreshable)) {
    const which = report.profiles.some((p) => p.logged_in) || named ? ` (profile ${name})` : '';
    return `not logged in${which}; run \`${login}\``;
  }
  const expires = selected.expires_at ? Date.parse(selected.expires_at) : Number.NaN;
  if (selected.logged_in && !selected.refreshable && expires <= now) {
    return `the token of profile ${name} expired ${relativeTime(expires, now)} and cannot be renewed; run \`${login}\``;
  }
  return null;
}

/** The EXPIRES cell: the ISO time and how far it is from now, or why there is none. */
function expiry(p: ProfileStatus, now: number): string {
  if (!p.expires_at) return p.logged_in ? 'unknown' : 'not logged in';
  const at = Date.parse(p.expires_at);
  if (Number.isNaN(at)) return p.expires_at;
  const when = relativeTime(at, now);
  return `${p.expires_at} (${at <= now ? `expired ${when}` : when})`;
}

/** "in 9 min", "2 h ago", "in 3 d": coarse on purpose, beside the exact time. */
export function relativeTime(at: number, now: number): string {
  const seconds = Math.round((at - now) / 1000);
  const size = Math.abs(seconds);
  const amount =
    size < 60
      ? `${size} s`
      : size < 3600
        ? `${Math.round(size / 60)} min`
        : size < 48 * 3600
          ? `${Math.round(size / 3600)} h`
          : `${Math.round(size / 86400)} d`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
}
