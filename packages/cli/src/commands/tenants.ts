/**
 * `keyfob tenants`: the tenants the profile's login belongs to, from its control plane, the
 * current one marked.
 */
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { paint, table, toJson } from '../io.js';
import { tenantJson } from '../tenant-choice.js';
import { openKeyfob, optionalString } from './shared.js';

export const tenants: Command = {
  name: 'tenants',
  summary: "list the tenants of the profile's login, the current one marked",
  usage: '[flags]',
  examples: [
    { what: 'the tenants you belong to, the current one marked with *', run: 'keyfob tenants' },
    { what: 'the same as JSON, for a script', run: 'keyfob tenants --json' },
  ],
  description:
    "Asks the control plane of the profile's provider (type exchange) with the login's token; switch with `keyfob switch --tenant ID`.",
  maxPositionals: 0,
  flags: { ...profileFlags, ...jsonFlag },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const profile = optionalString(values.profile);
    const result = await kf.tenants(profile !== undefined ? { profile } : {});
    if (values.json) {
      io.stdout.write(
        toJson({ current: result.current, tenants: result.tenants.map((t) => tenantJson(t)) }, 2),
      );
      return 0;
    }
    const rows = result.tenants.map((t) => [
      `${t.id === result.current ? '*' : ' '} ${t.id}`,
      t.name ?? '-',
      t.region ?? '-',
      t.server_url ?? '-',
    ]);
    io.stdout.write(table(['  TENANT', 'NAME', 'REGION', 'SERVER'], rows, paint(io.stdout, io.env)));
    return 0;
  },
};
