/**
 * Running the built `keyfob` command as a whole process, against a temporary home and a
 * config that points at an in-process dev-idp.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoginInteraction } from '@keyfob/core';
import { type DevIdp, keyfobConfig } from '@keyfob/dev-idp';

export const KEYFOB_BIN = fileURLToPath(new URL('../../packages/cli/bin/keyfob.cjs', import.meta.url));

export interface TestHome {
  home: string;
  /** Environment for the CLI: the home, no terminal, no inherited keyfob variables. */
  env: Record<string, string>;
}

/** A fresh, empty keyfob home with a config for `idp` (providers `dev` and `robot`). */
/** dev-idp's first seeded user, who every login test signs in as. */
export function alice(idp: DevIdp): DevIdp['users'][number] {
  const user = idp.users[0];
  assert.ok(user, 'dev-idp seeds a first user');
  return user;
}

export function makeHome(idp: DevIdp, extraYaml = ''): TestHome {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-home-'));
  writeFileSync(join(home, 'config.yaml'), keyfobConfig(idp, { machine: true, extra: extraYaml }));
  return { home, env: cliEnv(home, { ROBOT_SECRET: idp.clients.machine.client_secret }) };
}

/**
 * Every file under `dir` with its bytes (`base64` by default), keyed by path: to prove a command
 * changed nothing on disk, or to look for a token in clear (`latin1`).
 */
export function filesUnder(dir: string, encoding: BufferEncoding = 'base64'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath ?? dir, entry.name);
    out[path] = readFileSync(path, encoding);
  }
  return out;
}

/** The environment of a CLI process: PATH and HOME kept, nothing else of the runner's. */
export function cliEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    KEYFOB_HOME: home,
    ...extra,
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `keyfob ARGS` to its end. */
export interface CliOptions {
  env: Record<string, string>;
  input?: string;
  timeoutMs?: number;
  /** Flags for node itself, before the script. */
  nodeArgs?: string[];
  /** The script to run instead of the built `keyfob` (an example's command). */
  script?: string;
}

export function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const child = startCli(args, options);
  return child.done;
}

export interface RunningCli {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Resolves with stderr so far once it matches `pattern`. */
  waitForStderr(pattern: RegExp): Promise<string>;
}

/** Starts `keyfob ARGS` and lets the test watch its stderr while it runs. */
export function startCli(args: readonly string[], options: CliOptions): RunningCli {
  const script = options.script ?? KEYFOB_BIN;
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve(text: string): void }> = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    for (const w of [...watchers]) {
      if (w.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(stderr);
      }
    }
  });
  // A command that exits without reading its input closes the pipe first: EPIPE here is not
  // the command's failure (its exit code and output are the result).
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForStderr(pattern) {
      if (pattern.test(stderr)) return Promise.resolve(stderr);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        done.then((r) =>
          reject(new Error(`keyfob exited (${r.code}) before stderr matched ${pattern}:\n${r.stderr}`)),
        );
      });
    },
  };
}

/** `keyfob login --device`, approved by dev-idp's HTTP robot as its first user. */
export async function loginWithDevice(
  idp: DevIdp,
  target: TestHome,
  args: string[] = [],
): Promise<CliResult> {
  const { approveDeviceLogin } = await import('@keyfob/dev-idp');
  const run = startCli(['login', '--device', ...args], { env: target.env });
  const stderr = await run.waitForStderr(/code: \S+/);
  const user = idp.users[0];
  if (!user) throw new Error('dev-idp seeded no user');
  const url = /open (\S+)/.exec(stderr)?.[1] ?? '';
  await approveDeviceLogin({
    verificationUri: url,
    verificationUriComplete: url,
    userCode: /code: (\S+)/.exec(stderr)?.[1] ?? '',
    email: user.email,
    password: user.password,
  });
  return run.done;
}

/** A login interaction whose "person" is dev-idp's HTTP robot approving the device code. */
export function robotApproving(idp: DevIdp): LoginInteraction {
  const user = idp.users[0];
  if (!user) throw new Error('dev-idp seeded no user');
  return {
    showAuthorizationUrl() {},
    showDeviceCode(prompt) {
      void import('@keyfob/dev-idp').then(({ approveDeviceLogin }) =>
        approveDeviceLogin({
          verificationUri: prompt.verificationUri,
          verificationUriComplete: prompt.verificationUriComplete ?? prompt.verificationUri,
          userCode: prompt.userCode,
          email: user.email,
          password: user.password,
        }),
      );
    },
    openBrowser: async () => false,
    waiting: () => () => {},
    notice() {},
  };
}

/** What dev-idp's token endpoint answers a password grant (the `cli` client). */
export interface PasswordTokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  expires_in: number;
}

/**
 * Tokens from dev-idp's token endpoint by the password grant, as a system that obtained them
 * elsewhere holds them (for importing, or exchanging, a session keyfob did not make).
 */
export async function passwordTokens(
  idp: DevIdp,
  user: { email: string; password: string },
  scope: string,
): Promise<PasswordTokens> {
  const answer = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: idp.clients.cli.client_id,
      username: user.email,
      password: user.password,
      scope,
    }),
  });
  if (answer.status !== 200) throw new Error(`dev-idp's password grant answered HTTP ${answer.status}`);
  return (await answer.json()) as PasswordTokens;
}
