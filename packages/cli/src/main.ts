/**
 * The `keyfob` command: the auth command set plus the local identity server.
 */
import type { AppIdentity } from './command.js';
import { authCommands } from './commands/index.js';
import { processIO } from './io.js';
import { type CommandTable, runCommandLine } from './run.js';

const app: AppIdentity = { name: 'keyfob', commandPrefix: 'keyfob', envPrefix: 'KEYFOB' };

const table: CommandTable = {
  ...authCommands,
  'dev-idp': {
    summary: 'run the local identity server',
    load: async () => (await import('./commands/dev-idp.js')).devIdp,
  },
};

void runCommandLine(process.argv.slice(2), app, table, processIO()).then((code) => {
  process.exitCode = code;
});
