/**
 * Argument parsing, dispatch and exit codes, shared by the `keyfob` command and the command
 * sets integrators mount. Commands are loaded lazily, one module each, so `token` on a cached
 * token loads neither the OAuth client nor the browser opener nor the server.
 */
import { parseArgs } from 'node:util';
import { networkFailure } from '@keyfob/core';
import { attachNegativeValues, describeParseError, unknownCommand } from './argv.js';
import {
  type AppIdentity,
  appEnvVar,
  type Command,
  commandHelp,
  type FlagValues,
  withCommandNames,
} from './command.js';
import { type IO, isTruthy, sanitize } from './io.js';
import { closeOpened } from './opened.js';

/** A command the dispatcher can load on demand. */
export interface CommandEntry {
  summary: string;
  load(): Promise<Command>;
}

export type CommandTable = Readonly<Record<string, CommandEntry>>;

/** Runs one command line and returns the exit code; never throws. */
export async function runCommandLine(
  argv: readonly string[],
  app: AppIdentity,
  commandSet: CommandTable,
  io: IO,
): Promise<number> {
  const table = withBuiltins(commandSet);
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    // `keyfob` alone is a person finding their way, as `gh` alone is: help, exit 0.
    const { overview } = await import('./commands/help.js');
    io.stdout.write(overview(app, table));
    return 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write('0.1.0\n');
    return 0;
  }
  const entry = Object.hasOwn(table, name) ? table[name] : undefined;
  if (!entry) {
    const what = unknownCommand(name, Object.keys(table));
    io.stderr.write(`${app.name}: ${what}; run \`${app.commandPrefix} --help\`\n`);
    return 1;
  }
  let command: Command;
  try {
    command = await entry.load();
  } catch (error) {
    return reportError(error, app, io);
  }
  if (command.name === '__complete') {
    // The words being completed are not this command's flags: they pass through unparsed.
    return command.run({ io, app, values: {}, positionals: [...rest] }).catch(() => 0);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: attachNegativeValues(rest, command),
      options: { ...toParseArgs(command), help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message =
      describeParseError(error, command) ??
      (error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)).replace(/\.$/, '');
    io.stderr.write(
      `${app.name} ${command.name}: ${message}; run \`${app.commandPrefix} ${command.name} --help\`\n`,
    );
    return 1;
  }
  if (parsed.values.help) {
    io.stdout.write(commandHelp(app, command));
    return 0;
  }
  if (parsed.positionals.length > command.maxPositionals) {
    io.stderr.write(
      `${app.name} ${command.name}: too many arguments; run \`${app.commandPrefix} ${command.name} --help\`\n`,
    );
    return 1;
  }
  try {
    return await command.run({
      io,
      app,
      values: parsed.values as FlagValues,
      positionals: parsed.positionals,
    });
  } catch (error) {
    return reportError(error, app, io);
  } finally {
    // Idle keep-alive connections would hold a finished command's process open for seconds.
    await closeOpened();
  }
}

/**
 * The command set plus `help`, `completion` and the hidden `__complete` the completion scripts
 * call: every command set (keyfob's, an integrator's) gets them under its own name.
 */
export function withBuiltins(table: CommandTable): CommandTable {
  return {
    ...table,
    help: {
      summary: 'show help for a command, the environment variables, or the exit codes',
      load: async () => (await import('./commands/help.js')).helpCommand(withBuiltins(table)),
    },
    completion: {
      summary: 'print a shell completion script (bash, zsh or fish)',
      load: async () => (await import('./commands/completion.js')).completion,
    },
    __complete: {
      summary: 'candidates for shell completion',
      load: async () => (await import('./commands/completion.js')).completeCommand(withBuiltins(table)),
    },
  };
}

function toParseArgs(command: Command) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [flag, spec] of Object.entries(command.flags)) {
    options[flag] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  return options;
}

/**
 * Prints the one-line error (what failed and what to run) and returns its exit code. keyfob's
 * own errors carry safe messages; anything else is a bug, shown without details unless
 * debugging is on, because its message may hold anything.
 */
export function reportError(thrown: unknown, app: AppIdentity, io: IO): number {
  const debug = isTruthy(io.env[appEnvVar(app, 'DEBUG')]);
  // A socket failure that reached here unmapped (a fetch's TypeError) still names its host.
  const error = isKnownError(thrown) ? thrown : (networkFailure(thrown, 'a request') ?? thrown);
  const known = isKnownError(error);
  const message = known
    ? rename(error.message, app)
    : `unexpected error${error instanceof Error ? ` (${error.name})` : ''}; rerun with ${appEnvVar(app, 'DEBUG')}=1 for details`;
  // Errors keep the provider's words (error_description, names): sanitized, they cannot drive the terminal.
  io.stderr.write(`${app.name}: ${sanitize(message)}\n`);
  if (debug && error instanceof Error && error.stack) {
    io.stderr.write(`${error.stack.split('\n').map(sanitize).join('\n')}\n`);
  }
  return known ? error.exitCode : 1;
}

function isKnownError(error: unknown): error is Error & { code: string; exitCode: 1 | 2 | 3 } {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { exitCode?: unknown }).exitCode === 'number'
  );
}

/** Library messages name `keyfob` commands; an integrator's users see their own. */
function rename(message: string, app: AppIdentity): string {
  const prefixed =
    app.commandPrefix === 'keyfob' ? message : message.replaceAll('`keyfob ', `\`${app.commandPrefix} `);
  return withCommandNames(prefixed, app);
}
