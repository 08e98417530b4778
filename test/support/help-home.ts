/**
 * A fresh home for the help and completion tests: two providers, two profiles, and a bin
 * directory holding `keyfob` and an integrator's `acme` as `npm link` would put them on the PATH
 * (the completion scripts call the command back by its name).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEnv, KEYFOB_BIN } from './cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ACME = fileURLToPath(new URL('../fixtures/acme.ts', import.meta.url));

/** A fresh home with two providers and a `ci` profile; and a bin directory holding the CLIs. */
export function fixture(issuerUrl: string) {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-help-'));
  const config = [
    'default_provider: dev',
    'providers:',
    '  dev:',
    '    type: oidc',
    `    issuer: ${issuerUrl}`,
    '    client_id: keyfob-cli',
    '  robot:',
    '    type: client_credentials',
    `    issuer: ${issuerUrl}`,
    '    client_id: keyfob-machine',
    '    client_secret: ${ROBOT_SECRET}',
    'profiles:',
    '  ci:',
    '    provider: robot',
    '  staging:',
    '    provider: dev',
    '',
  ].join('\n');
  writeFileSync(join(home, 'config.yaml'), config);
  const bin = join(home, 'bin');
  mkdirSync(bin);
  // What `npm link` puts on the PATH: the completion scripts call the command back by its name.
  writeFileSync(join(bin, 'keyfob'), `#!/bin/sh\nexec '${process.execPath}' '${KEYFOB_BIN}' "$@"\n`);
  writeFileSync(
    join(bin, 'acme'),
    `#!/bin/sh\ncd '${ROOT}' && exec '${process.execPath}' --import tsx '${ACME}' "$@"\n`,
  );
  chmodSync(join(bin, 'keyfob'), 0o755);
  chmodSync(join(bin, 'acme'), 0o755);
  writeFileSync(join(home, 'acme-config.yaml'), config);
  const env = {
    ...cliEnv(home),
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    ACME_HOME: home,
    ACME_CONFIG: join(home, 'acme-config.yaml'),
  };
  return { home, env };
}

export function run(command: string, args: string[], env: Record<string, string>, input = '') {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(command, args, { env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.stdin.end(input);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs the bash completion function as bash does on TAB after `line`. */
export async function bashComplete(script: string, line: string, env: Record<string, string>) {
  const program = [
    script,
    'complete -p keyfob acme 2>&1',
    `read -ra COMP_WORDS <<<${JSON.stringify(line)}`,
    `[[ ${JSON.stringify(line)} == *" " ]] && COMP_WORDS+=("")`,
    'COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))',
    'fn=$(complete -p "${COMP_WORDS[0]}" | sed -E "s/.* -F ([^ ]+) .*/\\1/")',
    '"$fn"',
    'for r in "${COMPREPLY[@]}"; do printf "reply:%s\\n" "$r"; done',
  ].join('\n');
  const result = await run('bash', ['--norc', '--noprofile', '-c', program], env);
  assert.equal(result.code, 0, result.stderr);
  return {
    registered: result.stdout,
    reply: result.stdout.split('\n').flatMap((l) => (l.startsWith('reply:') ? [l.slice(6)] : [])),
  };
}
