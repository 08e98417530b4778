#!/usr/bin/env node
// The oidc-session command: argument handling and output only; authentication is src/auth.js.
// src/auth.js is imported inside the try below: createKeyfob() throws at once when it cannot
// tell where the home is (no HOME), and that must be a one-line error, not a stack trace.
let auth;

const USAGE = `Usage: oidc-session COMMAND [--profile NAME]
  login [--device]      log in (browser with PKCE, or the device flow)
  is-authenticated      exit 0 when logged in (true), 1 when not (false)
  userinfo              who you are, as JSON
  get URL               GET an API URL (relative URLs go under the API's base) and print the body
  logout                revoke and forget the session
The profile is corporate (OpenID Connect) unless --profile names another (partner: OAuth 2.0).`;

// C1 and bidi controls that JSON.stringify leaves raw; C0 controls it escapes itself.
const jsonText = (value) =>
  JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
const terminalSafe = (text) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');

async function main(argv) {
  auth = await import('../src/auth.js');
  const { apiClient, isAuthenticated, login, logout, userinfo } = auth;
  const args = [...argv];
  const at = args.indexOf('--profile');
  const profile = at >= 0 ? args.splice(at, 2)[1] : 'corporate';
  const device = args.includes('--device');
  const [command, url, ...extra] = args.filter((a) => a !== '--device');
  if (!profile || extra.length > 0 || (command === 'get') !== (url !== undefined)) return usage();
  switch (command) {
    case 'login': {
      const result = await login(profile, { device });
      console.error(`Logged in as ${terminalSafe(result.subject ?? 'unknown')} (profile ${result.profile}).`);
      return 0;
    }
    case 'is-authenticated': {
      const yes = await isAuthenticated(profile);
      console.log(yes ? 'true' : 'false');
      if (!yes) console.error(`Not logged in; run \`oidc-session login --profile ${profile}\``);
      return yes ? 0 : 1;
    }
    case 'userinfo':
      console.log(jsonText(await userinfo(profile)));
      return 0;
    case 'get': {
      // Plain JavaScript on Node 20 has no `await using`: try/finally closes the session.
      const api = apiClient(profile);
      let response;
      let body;
      try {
        response = await api.get(url);
        body = await response.text();
      } finally {
        await api.close();
      }
      process.stdout.write(process.stdout.isTTY ? `${terminalSafe(body)}\n` : body);
      if (response.ok) return 0;
      console.error(
        `oidc-session: GET ${terminalSafe(response.url || url)} answered HTTP ${response.status}`,
      );
      return 1;
    }
    case 'logout':
      await logout(profile);
      console.error(`Logged out of profile ${profile}.`);
      return 0;
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
  console.error(`oidc-session: ${terminalSafe(error instanceof Error ? error.message : String(error))}`);
  process.exitCode = typeof error?.exitCode === 'number' ? error.exitCode : 1;
} finally {
  await auth?.close();
}
