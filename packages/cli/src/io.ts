/**
 * The streams a command talks through, injected so every command runs in tests without a
 * terminal: standard streams, terminal detection, colour, the spinner and tables.
 */
import type { Readable, Writable } from 'node:stream';

export type Env = Readonly<Record<string, string | undefined>>;

/** A stream that may be a terminal. */
export type MaybeTty = Writable & { isTTY?: boolean; columns?: number };

export interface IO {
  stdin: Readable & { isTTY?: boolean };
  stdout: MaybeTty;
  stderr: MaybeTty;
  env: Env;
}

/** The process's own streams and environment. */
export function processIO(): IO {
  return {
    // Touching process.stdin costs milliseconds: only commands that read it pay for it.
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  };
}

/**
 * DESIGN.md: a person is there when stdin and stderr are terminals, `CI` is unset, and neither
 * `--no-input` nor `<PREFIX>_NO_PROMPT` is given.
 */
export function personIsThere(io: IO, noPromptVariable: string, noInputFlag: boolean): boolean {
  if (noInputFlag) return false;
  if (io.env.CI || isTruthy(io.env[noPromptVariable])) return false;
  return Boolean(io.stdin.isTTY && io.stderr.isTTY);
}

export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== '' && !/^(0|false|no|off)$/i.test(value);
}

/** Colour only on a terminal and never with `NO_COLOR` (https://no-color.org). */
export function useColor(stream: MaybeTty, env: Env): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
}

const identity = (text: string) => text;
const plain: Paint = { bold: identity, dim: identity, green: identity, red: identity, yellow: identity };

/** ANSI styling for `stream`, or none at all when colour is off. */
export function paint(stream: MaybeTty, env: Env): Paint {
  if (!useColor(stream, env)) return plain;
  const wrap = (open: number, close: number) => (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
  };
}

/**
 * A spinner on stderr while waiting, only on a terminal; elsewhere it prints the message once so
 * a log still shows what keyfob was waiting for. Returns the function that stops it.
 */
export function startSpinner(stream: MaybeTty, message: string): () => void {
  if (!stream.isTTY) return () => {};
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  const draw = () => {
    stream.write(`\r${frames[frame % frames.length]} ${message}`);
    frame++;
  };
  draw();
  const timer = setInterval(draw, 100);
  timer.unref();
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    stream.write('\r\u001b[2K');
  };
}

// C0 controls (ESC, BEL, CR, …), DEL, C1 controls (a lone 0x9b is CSI to many terminals), the
// line and paragraph separators, and the bidirectional marks, overrides and isolates that make a
// terminal show text other than it is. The same set as the library's CONTROL_CHARACTERS (text.ts;
// a test holds them equal), repeated so the CLI's first module does not load the library.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A value from a provider, a token or a control plane, made safe to print: every control
 * character (C0, DEL, C1, bidi overrides) is replaced by `?`, so a server cannot move the
 * cursor, clear the screen, recolour, retitle the terminal or hide a link (DESIGN.md, Security
 * rules). Every printed server value goes through here: tables, key/value lists, login lines,
 * notices, errors.
 */
export function sanitize(text: string): string {
  return text.replace(CONTROL, '?');
}

/**
 * Text that is the person's data (a `fetch` body) as a terminal should show it: control
 * characters replaced as in {@link sanitize} except tab and line breaks (CRLF becomes LF, so a
 * lone CR cannot overwrite a line), ending with a newline so a prompt or a spinner that follows
 * (npm's, under `npx`) cannot erase the last line. Only for a terminal: piped output stays
 * byte-exact.
 */
export function forTerminal(text: string): string {
  const shown = text.replace(/\r\n/g, '\n').replace(CONTROL, (c) => (c === '\n' || c === '\t' ? c : '?'));
  return shown === '' || shown.endsWith('\n') ? shown : `${shown}\n`;
}

/**
 * JSON for stdout: `JSON.stringify` escapes C0 controls but leaves DEL, C1 and bidi controls
 * raw; those are escaped too (`\u009b`), which keeps the JSON equal and the terminal safe.
 */
export function toJson(value: unknown, indent?: number): string {
  // C0 inside strings is already escaped; what is left raw of CONTROL is the indentation's \n.
  const escaped = JSON.stringify(value, null, indent).replace(CONTROL, (c) =>
    c === '\n' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `${escaped}\n`;
}

/** Two aligned columns of keys and values, for `whoami` and the like; values are sanitized. */
export function keyValueTable(rows: ReadonlyArray<readonly [string, string]>, colors: Paint): string {
  const width = Math.max(0, ...rows.map(([key]) => sanitize(key).length));
  return rows
    .map(([key, value]) => `${colors.bold(sanitize(key).padEnd(width))}  ${sanitize(value)}\n`)
    .join('');
}

/** A table with a header row; columns padded to their widest cell; cells are sanitized. */
export function table(
  header: readonly string[],
  unsafeRows: ReadonlyArray<readonly string[]>,
  colors: Paint,
): string {
  const rows = unsafeRows.map((row) => row.map(sanitize));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [colors.bold(line(header)), ...rows.map(line)].map((l) => `${l}\n`).join('');
}

/** Reads all of stdin as text, up to `limit` bytes (larger input is refused, not truncated). */
export async function readStdin(io: IO, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of io.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > limit) throw new RangeError(`standard input is larger than ${limit} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Asks the person to pick one of `choices` by number on stderr; only call it when a person is
 * there. Re-asks on a wrong answer; end of input is a refusal.
 */
export async function askChoice(io: IO, question: string, choices: readonly string[]): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: Boolean(io.stdin.isTTY) });
  const closed = new Promise<never>((_, reject) => {
    rl.once('close', () => reject(new RangeError('no choice was made')));
  });
  closed.catch(() => {});
  try {
    io.stderr.write(`${question}\n${choices.map((c, i) => `  ${i + 1}) ${c}`).join('\n')}\n`);
    for (;;) {
      const answer = (await Promise.race([rl.question(`Choose 1-${choices.length}: `), closed])).trim();
      const index = Number(answer) - 1;
      const picked = Number.isInteger(index) ? choices[index] : undefined;
      if (picked !== undefined) return picked;
      if (choices.includes(answer)) return answer;
    }
  } finally {
    rl.close();
  }
}

/**
 * Reads a line from the terminal without echoing it (a passphrase). Only call it when a person
 * is there; Ctrl-C or end of input is a refusal.
 */
export function askHidden(io: IO, question: string, what = 'passphrase'): Promise<string> {
  const input = io.stdin as IO['stdin'] & { setRawMode?: (raw: boolean) => void };
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    return Promise.reject(new RangeError('a hidden prompt needs a terminal'));
  }
  // Echo off before the question shows: an answer typed (or pasted, or sent by a program)
  // the moment it appears must not reach the screen.
  input.setRawMode(true);
  io.stderr.write(question);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed = '';
    const done = (error: Error | null) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(null);
        if (char === '\u0003' || char === '\u0004') return done(new RangeError(`no ${what} was given`));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    input.on('data', onData);
  });
}
