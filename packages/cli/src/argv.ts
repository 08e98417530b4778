/**
 * What the dispatcher says about a command line it cannot parse: the flag or command named (when
 * it looks like one: a mistyped argument may be a token), and the nearest one that exists.
 * `node:util` parseArgs' own messages are written for programmers ("argument is ambiguous",
 * "place it at the end of the command after '--'"); these are written for the person typing.
 */
import type { Command } from './command.js';

/** Something shaped like a flag or a command name, safe to echo back. */
const FLAG_SHAPE = /^--?[A-Za-z][A-Za-z0-9-]{0,39}$/;
const COMMAND_SHAPE = /^[a-z][a-z0-9-]{0,31}$/;

/**
 * `--min-ttl -5` as `--min-ttl=-5`: parseArgs refuses a string flag's value that starts with
 * `-` ("argument is ambiguous"), so a negative number never reached the command's own check,
 * which says what the flag takes.
 */
export function attachNegativeValues(args: readonly string[], command: Command): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--') return [...out, ...args.slice(i)];
    const next = args[i + 1];
    const spec = arg.startsWith('--') ? command.flags[arg.slice(2)] : undefined;
    if (spec?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The first line for an argument error of parseArgs, or `null` when it is not one. */
export function describeParseError(error: unknown, command: Command): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /option '([^']*)'/i.exec(message)?.[1] ?? '';
    if (!FLAG_SHAPE.test(flag)) return 'unknown flag';
    const names = [...Object.keys(command.flags), 'help'];
    const near = nearest(flag.replace(/^--?/, ''), names);
    return `unknown flag ${flag}${near ? ` (did you mean --${near}?)` : ''}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /option '(-[^' ]*)/i.exec(message)?.[1] ?? '';
    const name = /--([A-Za-z0-9-]+)/.exec(flag)?.[1];
    const spec = name ? command.flags[name] : undefined;
    if (!spec) return 'a flag is missing its value, or was given one it does not take';
    return spec.type === 'string'
      ? `--${name} needs a value (${spec.value ?? 'VALUE'})`
      : `--${name} takes no value`;
  }
  return null;
}

/** The line for a first argument that is no command: named when it looks like one. */
export function unknownCommand(name: string, commands: readonly string[]): string {
  if (name.startsWith('-')) {
    if (!FLAG_SHAPE.test(name)) return 'unknown flag';
    // `-v` is not `--version` (as in gh): in many tools it means verbose, as `check --verbose` does here.
    const near = /^-v$|^--?ver/i.test(name)
      ? 'version'
      : nearest(name.replace(/^--?/, ''), ['help', 'version']);
    return `unknown flag ${name}${near ? ` (did you mean --${near}?)` : ''}`;
  }
  if (!COMMAND_SHAPE.test(name)) return 'unknown command';
  const near = nearest(name, commands);
  return `unknown command "${name}"${near ? ` (did you mean ${near}?)` : ''}`;
}

/** The name within edit distance 2 of `typed` (and closer than half its length), if any. */
export function nearest(typed: string, names: readonly string[]): string | null {
  let best: { name: string; distance: number } | null = null;
  for (const name of names) {
    const distance = editDistance(typed.toLowerCase(), name);
    if (distance <= Math.min(2, Math.floor(name.length / 2)) && (!best || distance < best.distance)) {
      best = { name, distance };
    }
  }
  return best?.name ?? null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}
