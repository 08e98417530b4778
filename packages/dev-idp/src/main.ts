/**
 * Runs `keyfob dev-idp` directly: `node --import tsx packages/dev-idp/src/main.ts [options]`.
 * The keyfob CLI mounts `runDevIdpCli` itself; this file serves scripts and tests that need a
 * dev-idp in its own process.
 */
import { runDevIdpCli } from './cli.js';

process.exitCode = await runDevIdpCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
});
