/**
 * `keyfob token` on a cached token (file store) against `node -e 0`, both as whole processes,
 * measured alternately in one run; prints the medians and their ratio. Goal: at most 1.3×.
 *
 *   npx tsx --conditions=@keyfob/source bench/cli-startup.ts [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { KEYFOB_BIN as bin, machineHome, median } from './machine-home.js';

const runs = Number(process.argv[2] ?? 40);
const { env, close } = await machineHome();
try {
  const keyfobTimes: number[] = [];
  const nodeTimes: number[] = [];
  for (let i = 0; i < runs; i++) {
    nodeTimes.push(time([process.execPath, '-e', '0'], env));
    keyfobTimes.push(time([process.execPath, bin, 'token'], env));
  }
  const k = median(keyfobTimes);
  const n = median(nodeTimes);
  console.log(`runs: ${runs} each, alternating`);
  console.log(`node -e 0:                 median ${n.toFixed(1)} ms`);
  console.log(`keyfob token (cached):     median ${k.toFixed(1)} ms`);
  console.log(`ratio keyfob/node: ${(k / n).toFixed(2)}x (goal <= 1.30x)`);
} finally {
  await close();
}

function time(command: string[], env: Record<string, string>): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command[0] as string, command.slice(1), {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}: ${result.stderr}`);
  return elapsed;
}
