/**
 * The `keyfob` command: the auth command set plus the local identity server.
 */
import type { AppIdentity } from './command.js';
import { authCommands } from './commands/index.js';
import { processIO } from './io.js';
import { cliProcess } from './process.js';
import { type CommandTable, runCommandLine } from './run.js';

cliProcess();

const app: AppIdentity = { name: 'keyfob', commandPrefix: 'keyfob', envPrefix: 'KEYFOB' };

const table: CommandTable = {
  ...authCommands,
  'dev-idp': {
    summary: 'run the local identity server',
    load: async () => (await import('./commands/dev-idp.js')).devIdp,
  },
};

let finished = false;
void runCommandLine(process.argv.slice(2), app, table, processIO()).then((code) => {
  finished = true;
  process.exitCode = code;
});

// Node ends a process whose event loop has nothing left to wait on with status 0, even when the
// command is still awaiting something (a promise nothing will settle). That must never read as
// success: say so and fail. (A signal or process.exit() does not come through here.)
process.on('beforeExit', () => {
  if (finished) return;
  finished = true;
  process.stderr.write(`${app.name}: internal error: the command ended before it finished; run it again\n`);
  process.exitCode = 1;
});
