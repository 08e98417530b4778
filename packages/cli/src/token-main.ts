/**
 * The full `keyfob token` command, bundled as CommonJS (Node starts a CommonJS file faster than
 * an ES module graph); `bin/keyfob.cjs` loads it when the fast path (`token-fast.ts`) cannot
 * answer. Every other command goes through `main.ts`.
 */
import { processIO } from './io.js';
import { cliProcess } from './process.js';
import { runCommandLine } from './run.js';

cliProcess();

const app = { name: 'keyfob', commandPrefix: 'keyfob', envPrefix: 'KEYFOB' };

void runCommandLine(
  process.argv.slice(2),
  app,
  {
    token: {
      summary: 'print an access token',
      load: async () => (await import('./commands/token.js')).token,
    },
  },
  processIO(),
).then((code) => {
  process.exitCode = code;
});
