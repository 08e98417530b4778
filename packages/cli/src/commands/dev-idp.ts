/**
 * `keyfob dev-idp`: the local identity server, for development, demos and tests.
 */
import type { Command } from '../command.js';

export const devIdp: Command = {
  name: 'dev-idp',
  summary: 'run the local identity server',
  usage: '[--port N] [--data FILE] [flags]',
  examples: [
    { what: 'run it on a free port; the JSON ready line names the issuer', run: 'keyfob dev-idp' },
    {
      what: 'a fixed port a config file can name, with state kept across restarts',
      run: 'keyfob dev-idp --port 9400 --data dev-idp.json',
    },
    {
      what: 'HTTPS with your own certificate (it must name IP 127.0.0.1), no request log',
      run: 'keyfob dev-idp --tls-key server.key --tls-cert server.pem --quiet',
    },
  ],
  description: [
    'Prints one JSON line when ready (issuer, api, client ids, seeded users) and runs until interrupted.',
    'State lives in memory unless --data is given. Each flag has a variable (KEYFOB_DEV_IDP_PORT,',
    'KEYFOB_DEV_IDP_DATA, KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL, …, KEYFOB_DEV_IDP_TLS_CERT); a flag wins over it.',
    'Seeded for development (public values): alice@example.com / alice-password-1, bob@example.com /',
    'bob-password-2, the public client keyfob-cli, the machine client keyfob-machine / dev-machine-secret.',
  ].join('\n'),
  maxPositionals: 0,
  flags: {
    port: { type: 'string', value: 'N', description: 'port on 127.0.0.1 (0 picks a free one; default 0)' },
    data: {
      type: 'string',
      value: 'FILE',
      description: 'keep keys, sessions and tokens in FILE across restarts',
    },
    'access-token-ttl': {
      type: 'string',
      value: 'SECONDS',
      description: 'access token lifetime (default 600)',
    },
    'id-token-ttl': { type: 'string', value: 'SECONDS', description: 'ID token lifetime (default 3600)' },
    'refresh-token-ttl': {
      type: 'string',
      value: 'SECONDS',
      description: 'refresh token lifetime (default 14 days, restarted by each rotation)',
    },
    'device-code-ttl': {
      type: 'string',
      value: 'SECONDS',
      description: 'device code lifetime (default 600)',
    },
    'reuse-grace': {
      type: 'string',
      value: 'SECONDS',
      description:
        'accept a spent refresh token again within this window (default 0: reuse revokes the grant)',
    },
    'tls-key': {
      type: 'string',
      value: 'FILE',
      description: 'serve HTTPS with this PEM private key (with --tls-cert)',
    },
    'tls-cert': {
      type: 'string',
      value: 'FILE',
      description: 'serve HTTPS with this PEM certificate; it must name IP 127.0.0.1',
    },
    quiet: { type: 'boolean', description: 'no request log on stderr' },
  },
  async run({ io, values }) {
    const devIdpModule = await loadDevIdp();
    if (!devIdpModule) {
      io.stderr.write(
        'keyfob: dev-idp is not installed (it is an optional package, left out so that a CLI never pulls in oidc-provider); run `npm install @keyfob/dev-idp`\n',
      );
      return 1;
    }
    const { runDevIdpCli } = devIdpModule;
    // Every flag goes on as dev-idp's own command line, which checks the values.
    const argv = Object.entries(values).flatMap(([flag, value]) =>
      typeof value === 'string' ? [`--${flag}`, value] : value === true ? [`--${flag}`] : [],
    );
    return runDevIdpCli(argv, { stdout: io.stdout, stderr: io.stderr, env: io.env });
  },
};

/**
 * `@keyfob/dev-idp` is an optional peer dependency of `@keyfob/cli` (README, "Install"): loaded
 * here only, and `undefined` when it is not installed. Any other failure to load it is thrown.
 */
async function loadDevIdp(): Promise<typeof import('@keyfob/dev-idp') | undefined> {
  try {
    return await import('@keyfob/dev-idp');
  } catch (error) {
    const missing =
      error instanceof Error &&
      (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' &&
      error.message.includes("'@keyfob/dev-idp'");
    if (missing) return undefined;
    throw error;
  }
}
