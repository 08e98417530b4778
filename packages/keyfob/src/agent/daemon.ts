/**
 * The keyfob agent's process: `node daemon.js SPEC_JSON`, started detached by `start.ts` with a
 * scrubbed environment, its stdout and stderr appended to `<home>/agent.log`. The spec names
 * the app, home and config path; it holds no secret (argv is visible to every local user).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isKeyfobError } from '../errors.js';
import { runAgent } from './server.js';
import type { AgentSpec } from './socket.js';

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

function parseSpec(text: string | undefined): AgentSpec {
  const spec = JSON.parse(text ?? '') as AgentSpec;
  for (const key of ['app', 'envPrefix', 'cliName', 'home', 'configPath'] as const) {
    if (typeof spec[key] !== 'string' || spec[key] === '') throw new Error(`the agent's spec lacks ${key}`);
  }
  return spec;
}

// No top-level await: the library's files must load from CommonJS too (test/packaging.test.ts).
async function main(): Promise<void> {
  const spec = parseSpec(process.argv[2]);
  process.title = `${spec.app}-agent`;
  // Started from a terminal that may close: a hangup is not a reason to stop.
  process.on('SIGHUP', () => undefined);
  const agent = await runAgent({
    spec,
    env: process.env,
    log,
    onStop: () => process.exit(0),
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    // Stops listening, lets requests in flight (a refresh) commit, then exits.
    process.on(signal, () => void agent.stop(signal));
  }
}

// Only as the process's entry: loading this module (a bundler, a test requiring every file) runs nothing.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((error: unknown) => {
    log(`could not start: ${isKeyfobError(error) ? `${error.code}: ${error.message}` : String(error)}`);
    process.exit(1);
  });
}
