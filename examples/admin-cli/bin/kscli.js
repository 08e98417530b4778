#!/usr/bin/env node
// The kscli command: argument handling and output only; authentication is src/auth.js.
// src/auth.js is imported inside the try below, so that a createKeyfob() error (no HOME, a bad
// option) is one line, not a stack trace.
import { clean, jsonText, TLS_HELP, table, withoutHint } from '../src/text.js';

let auth;

const ASSUME = 'kscli assume-user --tenant-id TENANT --user-id USER';

const USAGE = `Usage: kscli COMMAND
  assume-user --tenant-id T --user-id U [--admin-key-stdin]
                        act as user U in tenant T (admin API key from ADMIN_API_KEY, or stdin)
  whoami [--json]       the assumed user, as a table (or JSON)
  get PATH              GET PATH of the regional API (KSCLI_API_URL) and print the body
  status | logout       the session kept in the credentials file (KSCLI_CREDENTIALS_PATH,
                        default /tmp/kscli/.credentials); see \`kscli status --help\`
Environment: ADMIN_API_KEY, KSCLI_CONTROL_PLANE, KSCLI_API_URL, KSCLI_CREDENTIALS_PATH,
  KSCLI_CA_BUNDLE, KSCLI_VERIFY_SSL=false (development only).`;

/** The value after `--name`, or undefined; the pair is taken out of `args`. */
function option(args, name) {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
}

/** Everything piped to stdin, without the final newline. */
async function readStdin() {
  let text = '';
  for await (const chunk of process.stdin.setEncoding('utf8')) text += chunk;
  return text.replace(/\r?\n$/, '');
}

async function main(argv) {
  const [command, ...args] = argv;
  if (command === 'status' || command === 'logout') {
    auth = await import('../src/auth.js');
    return (await auth.authCommands()).run(argv);
  }
  if (command === undefined || command === 'help' || command === '--help') return usage(0);
  auth = await import('../src/auth.js');
  switch (command) {
    case 'assume-user': {
      const tenantId = option(args, '--tenant-id');
      const userId = option(args, '--user-id');
      const fromStdin = args.includes('--admin-key-stdin');
      if (!tenantId || !userId || args.some((a) => a !== '--admin-key-stdin')) return usage();
      const result = await auth.assumeUser(tenantId, userId, fromStdin ? await readStdin() : undefined);
      console.log(`Authenticated as user ${clean(result.userId)} in tenant ${clean(result.tenantId)}`);
      console.log(`Token expires: ${result.expiresAt ?? 'unknown'}`);
      return 0;
    }
    case 'whoami': {
      if (args.some((a) => a !== '--json')) return usage();
      const me = await auth.whoami();
      console.log(args.includes('--json') ? jsonText(me) : table(me));
      return 0;
    }
    case 'get': {
      if (args.length !== 1) return usage();
      // Plain JavaScript on Node 20 has no `await using`: try/finally closes the client.
      const api = auth.api();
      let response;
      let body;
      try {
        response = await api.get(args[0]);
        body = await response.text();
      } finally {
        await api.close();
      }
      process.stdout.write(process.stdout.isTTY ? `${clean(body)}\n` : body);
      if (response.ok) return 0;
      console.error(`kscli: GET ${clean(args[0])} failed: HTTP ${response.status}`);
      return 1;
    }
    default:
      return usage();
  }
}

function usage(code = 1) {
  (code === 0 ? console.log : console.error)(USAGE);
  return code;
}

/** kscli's error texts, keyfob's detail after them; exit 2 when the user must authenticate again. */
function report(error) {
  const kind = auth?.errorKind(error) ?? null;
  const detail = clean(error instanceof Error ? error.message : String(error));
  if (kind === 'tls') {
    console.error(`kscli: SSL certificate verification failed: ${clean(withoutHint(error))}\n${TLS_HELP}`);
  } else if (kind === 'auth') {
    // keyfob's "run `kscli login`" does not fit an admin CLI: kscli names its own command.
    const relogin = / login\b/.test(error.hint ?? '');
    const text = relogin ? `${withoutHint(error)}; run \`${ASSUME}\`` : error.message;
    console.error(`kscli: Authentication required: ${clean(text)}`);
  } else if (kind === 'forbidden') {
    // keyfob's hint (a new login with more scopes) does not fit an assumed user either.
    console.error(`kscli: Permission denied: ${clean(withoutHint(error))}`);
  } else {
    console.error(`kscli: ${detail}`);
  }
  return typeof error?.exitCode === 'number' ? error.exitCode : 1;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  process.exitCode = report(error);
} finally {
  await auth?.close();
}
