/**
 * What a command is: its flags (for `node:util` parseArgs and for `--help`), and a `run` that
 * gets parsed values and injected streams. Commands stay thin over the library.
 */
import type { Keyfob, KeyfobOptions } from '@keyfob/core';
import type { IO } from './io.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Shown in `--help`; the value's name for string flags, e.g. `SECONDS`. */
  value?: string;
  description: string;
}

/** The app a command set runs as: `keyfob` itself, or an integrator's CLI. */
export interface AppIdentity {
  /** Lower-case app name used in paths, e.g. `acme`. */
  name: string;
  /** How the person types the auth commands, e.g. `keyfob` or `acme auth`. */
  commandPrefix: string;
  /** Prefix of environment variables, e.g. `ACME`. */
  envPrefix: string;
  /**
   * Single variables the integrator renamed (`createKeyfob({ env })`), by keyfob's suffix:
   * `{ VERIFY_TLS: 'KSCLI_VERIFY_SSL' }`; read through {@link appEnvVar}.
   */
  envRenames?: Readonly<Record<string, string>>;
  /** The vendor's names for commands (`{ login: 'signin' }`), in dispatch, help and hints. */
  commandNames?: Readonly<Record<string, string>>;
  /** Options every command's instance is created with (`createAuthCommands({ ...options })`). */
  keyfobOptions?: KeyfobOptions;
  /** An instance the SDK already made: every command uses it (same files, same options). */
  keyfob?: Keyfob;
}

/** How the app's users type a command: its rename (`signin`), else its own name. */
export function commandName(app: AppIdentity, name: string): string {
  return app.commandNames && Object.hasOwn(app.commandNames, name) ? (app.commandNames[name] ?? name) : name;
}

/**
 * Renames commands after the app's prefix in a text: `acme auth login` → `acme auth signin`
 * when the app renamed `login`.
 */
export function withCommandNames(text: string, app: AppIdentity): string {
  if (!app.commandNames) return text;
  let out = text;
  for (const [from, to] of Object.entries(app.commandNames)) {
    const escaped = app.commandPrefix.replaceAll(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replaceAll(new RegExp(`(${escaped} )${from}(?![\\w-])`, 'g'), `$1${to}`);
  }
  return out;
}

/** The full name of one of the app's variables: its rename, else `<envPrefix>_<suffix>`. */
export function appEnvVar(app: AppIdentity, suffix: string): string {
  const renamed =
    app.envRenames && Object.hasOwn(app.envRenames, suffix) ? app.envRenames[suffix] : undefined;
  return renamed ?? `${app.envPrefix}_${suffix}`;
}

/** One example of `--help`: what it does, and the command line. */
export interface Example {
  what: string;
  run: string;
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  io: IO;
  app: AppIdentity;
  values: FlagValues;
  positionals: string[];
}

export interface Command {
  name: string;
  summary: string;
  /** Usage after the command name, e.g. `[PROVIDER] [flags]`. */
  usage: string;
  /** Paragraphs shown in `--help` after the usage line. */
  description?: string;
  /**
   * Shown under "Examples:" in `--help`, written for `keyfob` (`keyfob login --device`,
   * `KEYFOB_TOKEN=…`): an integrator's users see their own command and variables instead.
   */
  examples?: readonly Example[];
  flags: Record<string, FlagSpec>;
  /**
   * What the shell completes for a positional argument: profile or provider names, or the
   * command's own words for its first one (`agent start|stop|status`).
   */
  completes?: 'profiles' | 'providers' | readonly string[];
  /** Most positional arguments accepted. */
  maxPositionals: number;
  run(context: CommandContext): Promise<number>;
}

/** Flags every command that touches profiles accepts. */
export const profileFlags: Record<string, FlagSpec> = {
  profile: { type: 'string', value: 'NAME', description: 'use this profile instead of the active one' },
  config: { type: 'string', value: 'FILE', description: 'read this config file instead of the default' },
};

/** `--tenant ID`: a tenant of the profile's control plane (an exchange provider's). */
export const tenantFlag: Record<string, FlagSpec> = {
  tenant: {
    type: 'string',
    value: 'ID',
    description: "a tenant of the profile's control plane (for this call; switch --tenant makes it current)",
  },
};

export const jsonFlag: Record<string, FlagSpec> = {
  json: { type: 'boolean', description: 'print JSON instead of text' },
};

export const noInputFlag: Record<string, FlagSpec> = {
  'no-input': { type: 'boolean', description: 'never prompt; fail instead' },
};

/** `--help` text of a command. */
export function commandHelp(app: AppIdentity, command: Command): string {
  const lines = [
    `${command.summary}`,
    '',
    `Usage: ${app.commandPrefix} ${command.name} ${command.usage}`.trimEnd(),
  ];
  if (command.description) lines.push('', forApp(command.description, app));
  const entries = Object.entries({
    ...command.flags,
    help: { type: 'boolean', description: 'show this help' } as FlagSpec,
  });
  const rendered = entries.map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : '';
    return [`  ${short}--${name}${value}`, spec.description] as const;
  });
  const width = Math.max(...rendered.map(([left]) => left.length));
  lines.push('', 'Flags:', ...rendered.map(([left, text]) => `${left.padEnd(width)}  ${text}`));
  if (command.examples?.length) {
    lines.push('', 'Examples:');
    for (const example of command.examples) {
      lines.push(`  # ${forApp(example.what, app)}`, `  $ ${forApp(example.run, app)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Help text is written for `keyfob`; an integrator's users see their own command (`acme auth`)
 * and variables (`ACME_TOKEN`) instead, never the word keyfob.
 */
export function forApp(text: string, app: AppIdentity): string {
  const prefixed = text
    .replaceAll(/\bkeyfob\b(?!-)/g, app.commandPrefix)
    .replaceAll(/\bKEYFOB_([A-Z][A-Z0-9_]*)/g, (_, suffix: string) => appEnvVar(app, suffix));
  return withCommandNames(prefixed, app);
}
