/**
 * `keyfob explain`: the resolution chain for the current environment, each step taken, hidden
 * by a higher level, or not set, and what a command would use. No value is ever printed.
 */
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { paint, sanitize, table, toJson } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

export const explain: Command = {
  name: 'explain',
  summary: 'show which credential a command would use, and why',
  usage: '[flags]',
  examples: [
    { what: 'which credential a command would use here, and why the others were not', run: 'keyfob explain' },
    { what: 'the same for another profile, as JSON', run: 'keyfob explain --profile ci --json' },
  ],
  description:
    'Levels, highest first: explicit flags > environment > selected profile > default. A higher level silently wins; two kinds of credential on one level are an error.',
  maxPositionals: 0,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    tenant: { type: 'string', value: 'ID', description: 'the tenant to use with the credential' },
  },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const report = await kf.explain({
      ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
      ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
    });
    if (values.json) {
      io.stdout.write(toJson(report, 2));
      return 0;
    }
    const colors = paint(io.stdout, io.env);
    const rows = report.steps.map((s) => [s.level, s.source, s.outcome, s.detail]);
    io.stdout.write(table(['LEVEL', 'SOURCE', 'OUTCOME', 'DETAIL'], rows, colors));
    const r = report.resolved;
    const what = r.profile ? `profile ${r.profile}` : r.source;
    const tenant = optionalString(r.tenant ?? undefined);
    io.stdout.write(
      `\nUsing ${sanitize(`${what} (${r.level} level)${tenant ? `, tenant ${tenant}` : ''}`)}.\n`,
    );
    if (report.fleet) {
      io.stdout.write(
        `${sanitize(`Its tokens come from the fleet at ${report.fleet.redis} (prefix ${report.fleet.key_prefix}) while Redis answers; acquired alone when it does not.`)}\n`,
      );
    }
    return 0;
  },
};
