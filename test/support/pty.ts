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

/** Runs `keyfob ARGS` in a pseudo-terminal to its end, answering once if asked to. */
export function inTerminal(
  args: readonly string[],
  env: Record<string, string>,
  interaction?: TerminalInteraction,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<{ output: string; code: number | null }> {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} (util-linux) is needed to give keyfob a terminal`);
  const command = [process.execPath, KEYFOB_BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn(SCRIPT, ['-qfec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' } });
  let output = '';
  let answered = false;
  child.stdout.on('data', (d) => {
    output += d;
    if (interaction && !answered && interaction.until.test(output)) {
      answered = true;
      if (interaction.answer !== undefined) child.stdin.write(interaction.answer);
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
