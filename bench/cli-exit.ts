/**
 * How long a networked command (`keyfob refresh` of a machine profile) keeps its process alive
 * after its output, against the whole command and against `node -e 0`, measured alternately in
 * one run. Before `packages/cli/src/process.ts` and `kf.close()` the process lingered 250-400 ms
 * after its output (background WebAssembly compiles of undici's parser, keep-alive sockets).
 * Goal: the lag after output is under a quarter of a bare `node -e 0`.
 *
 *   npx tsx --conditions=@keyfob/source bench/cli-exit.ts [RUNS]
 */
import { spawn, spawnSync } from 'node:child_process';
import { KEYFOB_BIN as bin, machineHome, median } from './machine-home.js';

const runs = Number(process.argv[2] ?? 15);
const { env, close } = await machineHome();
try {
  const lags: number[] = [];
  const totals: number[] = [];
  const nodeTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    nodeTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
    const { lag, total } = await outputToExit([bin, 'refresh'], env);
    lags.push(lag);
    totals.push(total);
  }
  const lag = median(lags);
  const n = median(nodeTimes);
  console.log(`runs: ${runs} each, alternating`);
  console.log(`node -e 0:                          median ${n.toFixed(1)} ms`);
  console.log(`keyfob refresh, whole:              median ${median(totals).toFixed(1)} ms`);
  console.log(`keyfob refresh, output to exit:     median ${lag.toFixed(1)} ms`);
  console.log(`ratio lag/(node -e 0): ${(lag / n).toFixed(2)}x (goal < 0.25x)`);
} finally {
  await close();
}

/** Milliseconds from the first output byte to the process's exit, and the whole run. */
function outputToExit(args: string[], env: Record<string, string>): Promise<{ lag: number; total: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let first: bigint | undefined;
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const mark = () => {
      first ??= process.hrtime.bigint();
    };
    child.stdout.on('data', mark);
    child.stderr.on('data', mark);
    child.on('error', reject);
    child.on('exit', (code) => {
      const end = process.hrtime.bigint();
      if (code !== 0 || first === undefined) {
        reject(new Error(`keyfob ${args.slice(1).join(' ')} exited ${code}`));
        return;
      }
      resolve({ lag: Number(end - first) / 1e6, total: Number(end - start) / 1e6 });
    });
  });
}
