/**
 * Running keyfob at a real terminal: util-linux `script` gives it a pseudo-terminal, so the
 * code paths for a person (spinner, prompts, colour) run as they would for one.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { KEYFOB_BIN } from './cli.js';

const SCRIPT = '/usr/bin/script';

export interface TerminalInteraction {
  /** When the output matches, type `answer` (or, without one, stop the command). */
  until: RegExp;
  answer?: string;
}

/** Long enough for a scrypt unlock on a loaded two-core machine. */
const DEFAULT_TIMEOUT_MS = 90_000;

/**
 * Runs `keyfob ARGS` in a pseudo-terminal to its end, answering if asked to: several
 * interactions are answered in turn, each matched against the output after the previous answer.
 */
export function inTerminal(
  args: readonly string[],
  env: Record<string, string>,
  interaction?: TerminalInteraction | readonly TerminalInteraction[],
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ output: string; code: number | null }> {
  return commandInTerminal([process.execPath, KEYFOB_BIN, ...args], env, interaction, timeoutMs);
}

/** Runs any command line (`node --import tsx examples/x/bin/x.js …`) as {@link inTerminal} does. */
export function commandInTerminal(
  argv: readonly string[],
  env: Record<string, string>,
  interaction?: TerminalInteraction | readonly TerminalInteraction[],
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ output: string; code: number | null }> {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} (util-linux) is needed to give keyfob a terminal`);
  const command = argv.map((a) => `'${a}'`).join(' ');
  const child = spawn(SCRIPT, ['-qfec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' } });
  let output = '';
  const pending =
    interaction === undefined ? [] : Array.isArray(interaction) ? [...interaction] : [interaction];
  let seen = 0;
  child.stdout.on('data', (d) => {
    output += d;
    const next = pending[0] as TerminalInteraction | undefined;
    if (next?.until.test(output.slice(seen))) {
      pending.shift();
      seen = output.length;
      if (next.answer !== undefined) child.stdin.write(next.answer);
      else child.kill('SIGTERM');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    }),
  );
}
