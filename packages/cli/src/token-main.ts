/**
 * The `keyfob token` entry, bundled as CommonJS: Node starts a CommonJS script markedly faster
 * than an ES module graph, and `token` is the command scripts run before every API call. Any
 * other command goes through `main.ts`.
 */
import { processIO } from './io.js';
import { runCommandLine } from './run.js';

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
