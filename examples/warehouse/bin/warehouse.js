#!/usr/bin/env node
// The warehouse command: argument handling and output only; authentication is src/auth.js.
// src/auth.js is imported inside the try below: createKeyfob() throws at once when it cannot
// tell where the home is (no HOME), and that must be a one-line error, not a stack trace.
let kf;

const USAGE = `Usage: warehouse COMMAND
  login [--account ID]                       log in in the browser; saved to [default] of ~/.warehouse/credentials
  service-principal create --name N [--save-profile P]
                                             create a service principal in the account of [default];
                                             with --save-profile, saved as section [P] (else its secret is printed once)
  jwt [--profile P]                          print a token of [default] (or of section P) for scripts
  account get                                print the account of [default]
  account set ID                             make ID the account of [default] (no new login)
  whoami [--profile P] [--account ID]        connect (the SDK's getConnection) and print who you are there`;

const terminalSafe = (text) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  String(text).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
const json = (value) => terminalSafe(JSON.stringify(value, null, 2));

/** `--name VALUE` taken out of `args`; `undefined` when absent, `null` when given without a value. */
function option(args, name) {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const [, value = null] = args.splice(at, 2);
  return value === null || value.startsWith('--') ? null : value;
}

async function main(argv) {
  const args = [...argv];
  const [account, profile, name, saveProfile] = ['--account', '--profile', '--name', '--save-profile'].map(
    (o) => option(args, o),
  );
  if ([account, profile, name, saveProfile].includes(null)) return usage();
  const [command, sub, value, ...extra] = args;
  if (extra.length > 0) return usage();
  const auth = await import('../src/auth.js');
  // The command's own instance never starts a login by itself: only `login` does.
  kf = auth.warehouseKeyfob({ web: false });
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'login': {
      const result = await kf.login({
        profile: 'default',
        flow: 'browser',
        persist: true,
        ...(account ? { tenant: account } : {}),
      });
      console.error(
        `Logged in as ${terminalSafe(result.subject)} in account ${terminalSafe(result.tenant?.id)}.`,
      );
      return 0;
    }
    case 'service-principal create': {
      if (!name || value !== undefined) return usage();
      const made = await kf.servicePrincipals.create({
        name,
        ...(saveProfile ? { saveProfile } : {}),
      });
      const { clientId, tenantId } = made.servicePrincipal;
      console.log(
        json({
          client_id: clientId,
          account_id: tenantId,
          ...(made.clientSecret ? { client_secret: made.clientSecret } : {}),
        }),
      );
      console.error(
        made.savedProfile
          ? `Saved service principal ${terminalSafe(clientId)} as [${made.savedProfile}] in the credentials file.`
          : 'The client secret is not shown again.',
      );
      return 0;
    }
    case 'jwt': {
      // Without --profile, the resolver's choice ([default] unless WAREHOUSE_PROFILE says otherwise).
      const token = await kf.getToken(profile ? { profile } : {});
      console.log(token.access_token);
      return 0;
    }
    case 'account get': {
      if (value !== undefined) return usage();
      const found = (await kf.status()).profiles.find((p) => p.name === 'default');
      if (!found?.tenant) {
        console.error('warehouse: no account: run `warehouse login --account ID`');
        return 2;
      }
      console.log(terminalSafe(found.tenant.id));
      return 0;
    }
    case 'account set': {
      if (!value) return usage();
      const { tenant } = await kf.switchTenant(value, { profile: 'default' });
      console.error(`The account of [default] is now ${terminalSafe(tenant.id)}.`);
      return 0;
    }
    case 'whoami': {
      await kf.close();
      kf = undefined;
      const { getConnection } = await import('../src/connection.js');
      const connection = await getConnection({
        ...(profile ? { profile } : {}),
        ...(account ? { accountId: account } : {}),
      });
      try {
        console.log(json({ account_id: connection.accountId, ...(await connection.whoami()) }));
      } finally {
        await connection.close();
      }
      return 0;
    }
    default:
      return usage(command === undefined || command === 'help' || command === '--help' ? 0 : 1);
  }
}

function usage(code = 1) {
  (code === 0 ? console.log : console.error)(USAGE);
  return code;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  // keyfob's errors say what failed and what to run, with no secret in them; 2 = log in again.
  console.error(`warehouse: ${terminalSafe(error instanceof Error ? error.message : String(error))}`);
  process.exitCode = typeof error?.exitCode === 'number' ? error.exitCode : 1;
} finally {
  await kf?.close();
}
