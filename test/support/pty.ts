/**
 * Running the built `keyfob` inside a pseudo-terminal (util-linux `script`), for what only
 * happens at a terminal: tables, colour, ✓/✗ marks.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { KEYFOB_BIN } from './cli.js';

const SCRIPT = '/usr/bin/script';

/** Runs `keyfob ARGS` at a terminal and returns everything the terminal showed. */
export function inTerminal(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ output: string; code: number | null }> {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} (util-linux) is needed to give keyfob a terminal`);
  const command = [process.execPath, KEYFOB_BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn(SCRIPT, ['-qfec', command, '/dev/null'], { env: { ...env, TERM: 'xterm' } });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    }),
  );
}
