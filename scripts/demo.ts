/**
 * `npm start`: the main job on the embedded default. Starts dev-idp, logs the seeded user in
 * with the real `keyfob` command, and shows what keyfob does, step by step.
 *
 * With no person at the terminal (CI, a pipe), the device login is approved in-process by an
 * HTTP robot playing the user; with one, the browser opens and the person logs in.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { approveDeviceLogin, keyfobConfig, startDevIdp } from '@keyfob/dev-idp';

const bin = fileURLToPath(new URL('../packages/cli/bin/keyfob.cjs', import.meta.url));
const personIsThere = Boolean(process.stdin.isTTY && process.stderr.isTTY && !process.env.CI);
const bold = (text: string) =>
  process.stdout.isTTY && !process.env.NO_COLOR ? `\u001b[1m${text}\u001b[22m` : text;

const idp = await startDevIdp({ accessTokenTtl: 300 });
const home = mkdtempSync(join(tmpdir(), 'keyfob-demo-'));
const user = idp.users[0];
if (!user) throw new Error('dev-idp seeded no user');

try {
  step('dev-idp is running', `issuer ${idp.issuer}, protected API ${idp.api}`);
  const config = keyfobConfig(idp);
  writeFileSync(join(home, 'config.yaml'), config);
  step(`A config in a fresh home (${home}/config.yaml)`, config.trimEnd());

  const env: Record<string, string> = { ...stringEnv(process.env), KEYFOB_HOME: home };
  if (personIsThere) {
    step('keyfob login', `Log in as ${user.email} with password ${user.password} in the browser that opens.`);
    await keyfob(['login'], env, { inherit: true });
  } else {
    step(
      'keyfob login --device',
      `No person at this terminal: a robot approves the device code as ${user.email}, over plain HTTP.`,
    );
    await deviceLogin(env, user);
  }

  step('keyfob status', 'Every profile, the active one marked:');
  await keyfob(['status'], env);

  step('keyfob whoami', 'Userinfo, fetched with a token that has no audience:');
  await keyfob(['whoami'], env);

  step(
    `keyfob fetch ${idp.api}/hello`,
    `The protected API, called by keyfob: it mints a token for the API resource from the same\nlogin and sends it only to the API's origin. The caller never holds the token:`,
  );
  const body = await keyfob(['fetch', `${idp.api}/hello`], env);
  if (!body.endsWith('\n')) console.log();

  step('keyfob refresh', 'Refreshing now; dev-idp rotates the refresh token on every use:');
  await keyfob(['refresh'], env);

  step('keyfob logout', 'Revokes the refresh token at dev-idp and removes the session:');
  await keyfob(['logout'], env);

  step('keyfob token', 'After logout there is nothing to give: exit 2 and what to run.');
  const code = await keyfob(['token'], env, { expectFailure: true });
  console.log(`  exit code ${code}`);
  console.log(
    `\n${bold('Done.')} Every step above ran the real keyfob command against a real OpenID provider.`,
  );
  console.log(`
${bold('Try next')} (put keyfob on the PATH first: export PATH=$PWD/node_modules/.bin:$PATH):
  keyfob dev-idp --port 9400        a dev-idp of your own, with the README's config.yaml (PORT: 9400)
  keyfob login --device             log in as ${user.email} / ${user.password}
  keyfob fetch http://127.0.0.1:9400/api/hello
  keyfob token | keyfob check - --verbose
  keyfob help                       every command; each one's --help has examples
  source <(keyfob completion bash)  TAB completion for commands, flags, profiles and providers`);
} finally {
  await idp.close();
  rmSync(home, { recursive: true, force: true });
}

function step(title: string, detail: string) {
  console.log(`\n${bold(`$ ${title}`)}`);
  for (const line of detail.split('\n')) console.log(`  ${line}`);
}

async function deviceLogin(env: Record<string, string>, person: { email: string; password: string }) {
  const child = spawn(process.execPath, [bin, 'login', '--device'], {
    env,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let stderr = '';
  let approving: Promise<void> | undefined;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    process.stderr.write(chunk.replace(/^/gm, '  '));
    stderr += chunk;
    const url = /open (\S+)/.exec(stderr)?.[1];
    const code = /code: (\S+)/.exec(stderr)?.[1];
    if (!approving && url && code) {
      approving = approveDeviceLogin({
        verificationUri: url,
        verificationUriComplete: url,
        userCode: code,
        email: person.email,
        password: person.password,
      });
    }
  });
  const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
  await approving;
  if (exit !== 0) throw new Error(`keyfob login --device exited ${exit}`);
}

async function keyfob(
  args: string[],
  env: Record<string, string>,
  options: { inherit?: boolean; quiet?: boolean; expectFailure?: boolean } = {},
): Promise<string> {
  const child = spawn(process.execPath, [bin, ...args], {
    env,
    stdio: options.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!options.quiet) process.stdout.write(chunk.replace(/^(?=.)/gm, '  '));
  });
  child.stderr
    ?.setEncoding('utf8')
    .on('data', (chunk: string) => process.stderr.write(chunk.replace(/^(?=.)/gm, '  ')));
  const exit = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (options.expectFailure) {
    if (exit === 0) throw new Error(`keyfob ${args.join(' ')} should have failed`);
    return String(exit);
  }
  if (exit !== 0) throw new Error(`keyfob ${args.join(' ')} exited ${exit}`);
  return stdout;
}

function stringEnv(source: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(source).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}
