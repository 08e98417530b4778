/**
 * Running an example under `examples/` as its users would: its own command as a whole process,
 * importing `@keyfob/core` by package name: plain Node, which resolves the package to its built
 * `dist/` (`npm test` builds it first), as an integrator's installed copy would.
 */
import { fileURLToPath } from 'node:url';
import { type CliResult, type RunningCli, startCli } from './cli.js';

/** The directory of `examples/<name>`. */
export function exampleDir(name: string): string {
  return fileURLToPath(new URL(`../../examples/${name}/`, import.meta.url));
}

export interface ExampleOptions {
  env: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

/** Starts `node <dir>/<bin> ARGS` (the example's command) and lets the test watch its stderr. */
export function startExample(
  dir: string,
  bin: string,
  args: readonly string[],
  options: ExampleOptions,
): RunningCli {
  return startCli(args, { ...options, script: `${dir}${bin}` });
}

/** Runs the example's command to its end. */
export function runExample(
  dir: string,
  bin: string,
  args: readonly string[],
  options: ExampleOptions,
): Promise<CliResult> {
  return startExample(dir, bin, args, options).done;
}
