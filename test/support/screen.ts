/**
 * What a person sees: any command (`npx keyfob …` too) run in a pseudo-terminal made by
 * util-linux `script`, and its output replayed onto a screen that honours the few sequences that
 * erase text (carriage return, cursor to column, erase line), so a test can tell printed output
 * from output that was printed and then wiped.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const SCRIPT = '/usr/bin/script';

/** Runs `argv` in a pseudo-terminal in `cwd` to its end; returns the raw terminal output. */
export function runInTerminal(
  argv: readonly string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<{ output: string; code: number | null }> {
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} (util-linux) is needed to give the command a terminal`);
  const command = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const child = spawn(SCRIPT, ['-qfec', command, '/dev/null'], {
    env: { TERM: 'xterm', ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    output += d;
  });
  child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code });
    }),
  );
}

/**
 * The lines left on screen after `output` is drawn: `\r` returns to column 1, `\n` starts the
 * next line, `ESC[nG` moves to column n, `ESC[K`/`ESC[0K` erase to the end of the line,
 * `ESC[2K` the whole line; other escape sequences (colour) draw nothing.
 */
export function screenOf(output: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = () => lines[row] as string[];
  for (let i = 0; i < output.length; i++) {
    const c = output[i] as string;
    if (c === '\u001b') {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: reading terminal escapes is the point
      const csi = /^\u001b\[([0-9;?]*)([A-Za-z])/.exec(output.slice(i));
      // biome-ignore lint/suspicious/noControlCharactersInRegex: reading terminal escapes is the point
      const osc = /^\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)/.exec(output.slice(i));
      const match = csi ?? osc;
      if (csi) {
        const n = Number(csi[1] || '0');
        if (csi[2] === 'G') col = Math.max(0, (n || 1) - 1);
        if (csi[2] === 'K' && n === 0) line().length = Math.min(line().length, col);
        if (csi[2] === 'K' && n === 1) line().fill(' ', 0, col);
        if (csi[2] === 'K' && n === 2) line().length = 0;
      }
      i += (match?.[0].length ?? 1) - 1;
    } else if (c === '\r') {
      col = 0;
    } else if (c === '\n') {
      row++;
      col = 0;
      lines[row] ??= [];
    } else {
      while (line().length < col) line().push(' ');
      line()[col] = c;
      col++;
    }
  }
  return lines.map((l) => l.join('').trimEnd());
}
