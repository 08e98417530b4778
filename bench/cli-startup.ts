/**
 * `keyfob token` on a cached token (file store) against `node -e 0`, both as whole processes,
 * measured alternately in one run; prints the medians and their ratio. Goal: at most 1.3×.
 *
 *   npx tsx bench/cli-startup.ts [RUNS]
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startDevIdp } from '@keyfob/dev-idp';

const runs = Number(process.argv[2] ?? 40);
const bin = fileURLToPath(new URL('../packages/cli/bin/keyfob.cjs', import.meta.url));
const idp = await startDevIdp({ accessTokenTtl: 3600 });
const home = mkdtempSync(join(tmpdir(), 'keyfob-bench-'));
try {
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'providers:',
      '  robot:',
      '    type: client_credentials',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.machine.client_id}`,
      '    client_secret: ${ROBOT_SECRET}',
      'profiles:',
      '  default:',
      '    provider: robot',
      '',
    ].join('\n'),
  );
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    KEYFOB_HOME: home,
    ROBOT_SECRET: idp.clients.machine.client_secret,
  };
  // The first call fetches the machine token from dev-idp, which lives in this process: it
  // must not block the event loop, unlike the timed runs, which never touch the network.
  await promisify(execFile)(process.execPath, [bin, 'token'], { env });

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
  await idp.close();
  rmSync(home, { recursive: true, force: true });
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

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
