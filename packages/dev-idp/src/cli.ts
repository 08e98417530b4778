/**
 * `keyfob dev-idp`: argument parsing, the ready line on stdout, logs on stderr, and a clean stop
 * on SIGINT, SIGTERM or an abort signal.
 */
import { readFileSync } from 'node:fs';
import { USERS } from './accounts.js';
import {
  CLI_CLIENT_ID,
  DEFAULT_FIXED_REDIRECT_PORT,
  FIXED_PORT_CLIENT_ID,
  MACHINE_CLIENT_ID,
  MACHINE_CLIENT_SECRET,
} from './clients.js';
import type { DevIdpOptions } from './contract.js';
import { ADMIN_API_KEY } from './control-plane/context.js';
import { DEFAULT_CONTROL_PLANE_TTL } from './control-plane/start.js';
import { membershipLines, SEEDED_TENANTS } from './control-plane/tenants.js';
import { DEFAULT_LIFETIMES, startDevIdp } from './server.js';

/** The port `keyfob dev-idp` uses without `--port`: 0, a free one (the ready line names it). */
export const DEFAULT_CLI_PORT = 0;

/** Streams and environment the runner uses; `env` defaults to `process.env`. */
export interface DevIdpCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

type NumericOption =
  | 'port'
  | 'accessTokenTtl'
  | 'idTokenTtl'
  | 'refreshTokenTtl'
  | 'deviceCodeTtl'
  | 'refreshReuseGraceSeconds'
  | 'fixedRedirectPort'
  | 'controlPlaneTokenTtl'
  | 'assumeUserTokenTtl';

/** Options that name a file: `dataFile` is passed on, the TLS files are read at start. */
type FileOption = 'dataFile' | 'tlsKey' | 'tlsCert';

/** Text options that become `firebase` together. */
type FirebaseOption = 'firebaseProject' | 'firebaseEmulatorHost';

interface FlagSpec {
  option: NumericOption | FileOption | FirebaseOption;
  env: string;
  /** Smallest accepted value. */
  min?: number;
}

const FLAGS: Record<string, FlagSpec> = {
  '--port': { option: 'port', env: 'KEYFOB_DEV_IDP_PORT', min: 0 },
  '--data': { option: 'dataFile', env: 'KEYFOB_DEV_IDP_DATA' },
  '--access-token-ttl': { option: 'accessTokenTtl', env: 'KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL', min: 1 },
  '--id-token-ttl': { option: 'idTokenTtl', env: 'KEYFOB_DEV_IDP_ID_TOKEN_TTL', min: 1 },
  '--refresh-token-ttl': { option: 'refreshTokenTtl', env: 'KEYFOB_DEV_IDP_REFRESH_TOKEN_TTL', min: 1 },
  '--device-code-ttl': { option: 'deviceCodeTtl', env: 'KEYFOB_DEV_IDP_DEVICE_CODE_TTL', min: 1 },
  '--reuse-grace': { option: 'refreshReuseGraceSeconds', env: 'KEYFOB_DEV_IDP_REUSE_GRACE', min: 0 },
  '--tls-key': { option: 'tlsKey', env: 'KEYFOB_DEV_IDP_TLS_KEY' },
  '--tls-cert': { option: 'tlsCert', env: 'KEYFOB_DEV_IDP_TLS_CERT' },
  '--fixed-redirect-port': {
    option: 'fixedRedirectPort',
    env: 'KEYFOB_DEV_IDP_FIXED_REDIRECT_PORT',
    min: 1,
  },
  '--control-plane-token-ttl': {
    option: 'controlPlaneTokenTtl',
    env: 'KEYFOB_DEV_IDP_CONTROL_PLANE_TOKEN_TTL',
    min: 1,
  },
  '--assume-user-token-ttl': {
    option: 'assumeUserTokenTtl',
    env: 'KEYFOB_DEV_IDP_ASSUME_USER_TOKEN_TTL',
    min: 1,
  },
  '--firebase-project': { option: 'firebaseProject', env: 'KEYFOB_DEV_IDP_FIREBASE_PROJECT' },
  '--firebase-emulator-host': { option: 'firebaseEmulatorHost', env: 'FIREBASE_AUTH_EMULATOR_HOST' },
};

/** The `--help` text. Seeded credentials are documented dev values, shown on purpose. */
export function usage(): string {
  const users = USERS.map((user) => `    ${user.email} / ${user.password}`).join('\n');
  const tenants = SEEDED_TENANTS.map(
    (tenant) => `    ${tenant.tenant_id} "${tenant.tenant_name}", region ${tenant.region}`,
  ).join('\n');
  const members = membershipLines()
    .map((line) => `    ${line}`)
    .join('\n');
  return `Usage: keyfob dev-idp [options]

Run a local OpenID provider with a protected demo API on 127.0.0.1, for development and tests,
and a control plane beside it at <issuer>/cp: tenant discovery (GET /v1/tenants), token exchange
(POST /v1/token, RFC 8693), POST /v1/auth/assume_user, GET /v1/users/me, service principals
(/v1/service-principals, their tokens at /oauth/token). The control plane signs with its own key
(ES256, issuer <issuer>/cp, JWKS at /cp/.well-known/jwks.json). Each region has its own listener
serving a small API at <server_url>/v1/hello, /v1/admin, /v1/echo-auth, /v1/redirect that accepts
only control-plane tokens of that region's tenants (Bearer, or the cookie ks_uat).
Prints one JSON line when ready (issuer, api, control_plane, tenants, client ids), then logs
requests to stderr. Stops on Ctrl-C or SIGTERM.

Options:
  --port N               TCP port (default 0: a free one)                     env KEYFOB_DEV_IDP_PORT
  --data FILE            keep keys, sessions and tokens in FILE across restarts  env KEYFOB_DEV_IDP_DATA
  --access-token-ttl S   access token lifetime (default ${DEFAULT_LIFETIMES.accessToken})            env KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL
  --id-token-ttl S       ID token lifetime (default ${DEFAULT_LIFETIMES.idToken})               env KEYFOB_DEV_IDP_ID_TOKEN_TTL
  --refresh-token-ttl S  refresh token lifetime (default ${DEFAULT_LIFETIMES.refreshToken})       env KEYFOB_DEV_IDP_REFRESH_TOKEN_TTL
  --device-code-ttl S    device code lifetime (default ${DEFAULT_LIFETIMES.deviceCode})             env KEYFOB_DEV_IDP_DEVICE_CODE_TTL
  --reuse-grace S        accept a spent refresh token again for S seconds (default 0: off; reuse revokes the grant)
                                                                         env KEYFOB_DEV_IDP_REUSE_GRACE
  --tls-key FILE         serve HTTPS with this PEM private key (with --tls-cert)  env KEYFOB_DEV_IDP_TLS_KEY
  --tls-cert FILE        serve HTTPS with this PEM certificate, which must name IP 127.0.0.1
                                                                         env KEYFOB_DEV_IDP_TLS_CERT
  --fixed-redirect-port N  port of ${FIXED_PORT_CLIENT_ID}'s exact redirect URI (default ${DEFAULT_FIXED_REDIRECT_PORT})
                                                                         env KEYFOB_DEV_IDP_FIXED_REDIRECT_PORT
  --control-plane-token-ttl S  exchanged and service-principal token lifetime (default ${DEFAULT_CONTROL_PLANE_TTL})
                                                                         env KEYFOB_DEV_IDP_CONTROL_PLANE_TOKEN_TTL
  --assume-user-token-ttl S    assume_user token lifetime (default ${DEFAULT_CONTROL_PLANE_TTL})
                                                                         env KEYFOB_DEV_IDP_ASSUME_USER_TOKEN_TTL
  --firebase-project demo-X    accept Firebase Auth emulator ID tokens of this demo-* project at the
                               control plane, each confirmed by the emulator  env KEYFOB_DEV_IDP_FIREBASE_PROJECT
  --firebase-emulator-host H:P the Auth emulator (loopback)            env FIREBASE_AUTH_EMULATOR_HOST
  --quiet                no request log on stderr
  -h, --help             show this help

Seeded (development values, not secrets):
  users:
${users}
  clients: ${CLI_CLIENT_ID} (public, PKCE, loopback redirect http://127.0.0.1/callback on any port, device flow)
           ${MACHINE_CLIENT_ID} / ${MACHINE_CLIENT_SECRET} (client_credentials)
           ${FIXED_PORT_CLIENT_ID} (public, PKCE, only http://127.0.0.1:<fixed redirect port>/callback)
  tenants (server_url http://127.0.0.1:<region port>/<region>):
${tenants}
  memberships:
${members}
  admin API key (X-Admin-Api-Key of assume_user): ${ADMIN_API_KEY}
`;
}

/** Bad command line; the message is the one line printed. */
class UsageError extends Error {}

interface ParsedArgs {
  help: boolean;
  quiet: boolean;
  options: DevIdpOptions;
}

function parseNumber(name: string, raw: string, min: number): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} needs a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || (name.includes('port') && value > 65535)) {
    throw new UsageError(`${name} is out of range: ${raw}`);
  }
  return value;
}

/** What the command line names, before the TLS files are read. */
interface Collected {
  options: DevIdpOptions;
  tlsKey?: string;
  tlsCert?: string;
  firebaseProject?: string;
  firebaseEmulatorHost?: string;
}

function setOption(collected: Collected, spec: FlagSpec, name: string, raw: string): void {
  const { options } = collected;
  if (spec.option === 'firebaseProject' || spec.option === 'firebaseEmulatorHost') {
    if (!raw) throw new UsageError(`${name} needs a value`);
    collected[spec.option] = raw;
  } else if (spec.option === 'dataFile' || spec.option === 'tlsKey' || spec.option === 'tlsCert') {
    if (!raw) throw new UsageError(`${name} needs a file name`);
    if (spec.option === 'dataFile') options.dataFile = raw;
    else collected[spec.option] = raw;
  } else {
    options[spec.option] = parseNumber(name, raw, spec.min ?? 0);
  }
}

/** Reads the PEM files named by `--tls-key` and `--tls-cert`; both or neither. */
function tlsOption(collected: Collected): DevIdpOptions['tls'] {
  const { tlsKey, tlsCert } = collected;
  if (tlsKey === undefined && tlsCert === undefined) return undefined;
  if (tlsKey === undefined || tlsCert === undefined) {
    throw new UsageError('--tls-key and --tls-cert go together');
  }
  const read = (name: string, file: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new UsageError(
        `${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  };
  return { key: read('--tls-key', tlsKey), cert: read('--tls-cert', tlsCert) };
}

function parseArgs(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const collected: Collected = { options: {} };
  const { options } = collected;
  const given = new Set<string>();
  let help = false;
  let quiet = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (arg === '--quiet') {
      quiet = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[name];
    if (!spec) {
      throw new UsageError(
        arg.startsWith('-') ? `unknown option ${name}` : `unexpected argument ${JSON.stringify(arg)}`,
      );
    }
    let value: string | undefined;
    if (eq > 0 && arg.startsWith('--')) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      i += 1;
    }
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    setOption(collected, spec, name, value);
    given.add(spec.option);
  }
  for (const [name, spec] of Object.entries(FLAGS)) {
    const raw = env[spec.env];
    if (given.has(spec.option) || raw === undefined || raw === '') continue;
    try {
      setOption(collected, spec, name, raw);
    } catch (error) {
      throw new UsageError(`${spec.env}: ${(error as Error).message.replace(`${name} `, '')}`);
    }
  }
  options.port ??= DEFAULT_CLI_PORT;
  if (collected.firebaseProject !== undefined) {
    options.firebase = {
      projectId: collected.firebaseProject,
      ...(collected.firebaseEmulatorHost ? { emulatorHost: collected.firebaseEmulatorHost } : {}),
    };
  } else if (given.has('firebaseEmulatorHost')) {
    throw new UsageError('--firebase-emulator-host needs --firebase-project');
  }
  const tls = tlsOption(collected);
  if (tls) options.tls = tls;
  return { help, quiet, options };
}

function writeLine(stream: NodeJS.WritableStream, line: string): void {
  stream.write(`${line}\n`);
}

/**
 * `keyfob dev-idp` entry: parses `argv` (without the command name), prints the ready JSON line
 * to stdout, logs to stderr, and resolves with 0 after a clean stop on SIGINT, SIGTERM or
 * `signal`; with 1 after one error line for bad flags or a failed start.
 */
export async function runDevIdpCli(argv: string[], io: DevIdpCliIo, signal?: AbortSignal): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv, io.env ?? process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    writeLine(io.stderr, `keyfob dev-idp: ${error.message} (see --help)`);
    return 1;
  }
  if (parsed.help) {
    io.stdout.write(usage());
    return 0;
  }

  let stopRequested!: () => void;
  const stopped = new Promise<void>((resolve) => {
    stopRequested = resolve;
  });
  const onStop = () => stopRequested();
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  signal?.addEventListener('abort', onStop, { once: true });
  if (signal?.aborted) onStop();

  try {
    const log = parsed.quiet ? undefined : (line: string) => writeLine(io.stderr, `dev-idp: ${line}`);
    let idp: Awaited<ReturnType<typeof startDevIdp>>;
    try {
      idp = await startDevIdp({ ...parsed.options, log });
    } catch (error) {
      writeLine(io.stderr, `keyfob dev-idp: ${(error as Error).message}`);
      return 1;
    }
    writeLine(io.stdout, JSON.stringify(idp.readyLine()));
    await stopped;
    await idp.close();
    return 0;
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    signal?.removeEventListener('abort', onStop);
  }
}
