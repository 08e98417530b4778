/**
 * `keyfob dev-idp`: the local identity server, for development, demos and tests.
 */
import type { Command } from '../command.js';

export const devIdp: Command = {
  name: 'dev-idp',
  summary: 'run the local identity server',
  usage: '[--port N] [--data FILE] [flags]',
  description:
    'Prints one JSON line when ready (issuer, api, client ids) and runs until interrupted. State lives in memory unless --data is given.',
  maxPositionals: 0,
  flags: {
    port: { type: 'string', value: 'N', description: 'port on 127.0.0.1 (0 picks a free one; default 0)' },
    data: { type: 'string', value: 'FILE', description: 'keep state in this file across restarts' },
    'access-token-ttl': { type: 'string', value: 'SECONDS', description: 'access token lifetime' },
    'refresh-token-ttl': { type: 'string', value: 'SECONDS', description: 'refresh token lifetime' },
    'reuse-grace': {
      type: 'string',
      value: 'SECONDS',
      description: 'accept a spent refresh token again within this window',
    },
  },
  async run({ io, values }) {
    const { runDevIdpCli } = await import('@keyfob/dev-idp');
    const argv = Object.entries(values).flatMap(([flag, value]) =>
      typeof value === 'string' ? [`--${flag}`, value] : [],
    );
    return runDevIdpCli(argv, { stdout: io.stdout, stderr: io.stderr });
  },
};
