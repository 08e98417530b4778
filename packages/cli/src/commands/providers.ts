/**
 * `keyfob providers`: every configured provider, its type and issuer, the flows it supports
 * (from the issuer's discovery document) and whether a credential is stored for it. An
 * unreachable issuer is shown on its line; the command still succeeds.
 */
import { describeProviders } from '@keyfob/core';
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { paint, sanitize, table, toJson } from '../io.js';
import { openKeyfob } from './shared.js';

export const providers: Command = {
  name: 'providers',
  summary: 'list the configured providers, their flows and stored credentials',
  usage: '[flags]',
  examples: [
    { what: 'every configured provider, its flows, and whether you are logged in', run: 'keyfob providers' },
    { what: 'the same as JSON, for a script', run: 'keyfob providers --json' },
  ],
  description:
    'Asks each issuer for its discovery document (5 s at most each, all at once); an issuer that does not answer is reported, not fatal.',
  maxPositionals: 0,
  flags: { ...profileFlags, ...jsonFlag },
  async run({ io, app, values }) {
    const kf = await openKeyfob(io, app, values);
    const config = await kf.config();
    const status = await kf.status();
    const stored = new Set(
      status.profiles.flatMap((p) => (p.logged_in && p.provider !== null ? [p.provider] : [])),
    );
    const described = await describeProviders(config, { fetch: kf.http, stored });
    if (values.json) {
      io.stdout.write(toJson({ default_provider: config.default_provider, providers: described }, 2));
      return 0;
    }
    if (described.length === 0) {
      const where = config.file ?? 'config.yaml in the home directory';
      io.stdout.write(`No providers configured; add one under providers: in ${where}.\n`);
      return 0;
    }
    const colors = paint(io.stdout, io.env);
    const rows = described.map((p) => [
      `${p.default ? '*' : ' '} ${p.name}`,
      p.type,
      p.issuer ?? '-',
      p.flows.join(', ') || '-',
      p.reachable === null ? '-' : p.reachable ? 'yes' : 'no',
      p.credential_stored ? 'yes' : 'no',
    ]);
    io.stdout.write(table(['  PROVIDER', 'TYPE', 'ISSUER', 'FLOWS', 'REACHABLE', 'STORED'], rows, colors));
    for (const p of described) {
      if (p.error)
        io.stdout.write(`${colors.yellow(`${p.name}:`)} ${sanitize(p.error)} (flows shown as configured)\n`);
    }
    return 0;
  },
};
