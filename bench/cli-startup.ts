/**
 * `keyfob token` on a cached token against `node -e 0`, all as whole processes measured
 * alternately in one run, for the file, keychain and encrypted-file (passphrase) stores, each
 * in a home without an agent and in a home whose agent `keyfob agent start` started. Prints the
 * medians and their ratios to `node -e 0`. Goal: every store with the agent at most 1.3×; the
 * file store without the agent as before (about 1.04–1.15×).
 *
 * The keychain is a private Secret Service (a D-Bus session bus and gnome-keyring-daemon of the
 * bench's own, `test/support/keyring.ts`); the encrypted store's `identity.age` is made with
 * keyfob's default scrypt work factor, its passphrase in KEYFOB_PASSPHRASE.
 *
 *   npx tsx --conditions=@keyfob/source bench/cli-startup.ts [RUNS]
 */
import { spawnSync } from 'node:child_process';
import { startDevIdp } from '@keyfob/dev-idp';
import { startBus } from '../test/support/keyring.js';
import { KEYFOB_BIN as bin, type MachineHome, machineHome, median } from './machine-home.js';

const runs = Number(process.argv[2] ?? 40);

interface Variant {
  label: string;
  home: MachineHome;
  agent: boolean;
  /** Measured in every `every`-th round only (scrypt on every call makes one run take seconds). */
  every: number;
  times: number[];
  /** `node -e 0`, run just before each of this variant's runs: its ratio is to these. */
  nodeTimes: number[];
}

const STORES = [
  { name: 'file', config: '', env: {} },
  { name: 'keychain', config: 'token_storage: keychain\n', env: {} },
  {
    name: 'encrypted-file',
    config: 'token_storage: encrypted-file\n',
    env: { KEYFOB_PASSPHRASE: 'bench passphrase, not a secret' },
  },
] as const;

const bus = await startBus();
const idp = await startDevIdp({ accessTokenTtl: 3600 });
const variants: Variant[] = [];
try {
  for (const store of STORES) {
    for (const agent of [false, true]) {
      const home = await machineHome({
        idp,
        // Longer than a run on a loaded machine (the file store's agent gets no request: the fast
        // path reads the file first, and the passphrase must stay unlocked for the whole run); an
        // agent a crash of this bench leaves behind still goes.
        config: `${store.config}agent_idle_timeout: 30m\nunlock_timeout: 30m\n`,
        env: { ...bus.env, ...store.env },
      });
      const label = `${store.name}, ${agent ? 'with the agent' : 'alone'}`;
      const every = store.name === 'encrypted-file' && !agent ? Math.ceil(runs / 10) : 1;
      variants.push({ label, home, agent, every, times: [], nodeTimes: [] });
      if (agent) {
        keyfob(['agent', 'start'], home.env);
        // The first call through the agent: the encrypted store hands it the passphrase here.
        keyfob(['token'], home.env);
      }
    }
  }
  const requestsBefore = variants.map((variant) => (variant.agent ? agentRequests(variant) : 0));

  // Each run of a variant right after a run of `node -e 0`, every variant in each round: a load
  // that changes during the run changes both sides of each ratio alike.
  for (let i = 0; i < runs; i++) {
    for (const variant of variants) {
      if (i % variant.every !== 0) continue;
      variant.nodeTimes.push(time([process.execPath, '-e', '0'], variant.home.env));
      variant.times.push(time([process.execPath, bin, 'token'], variant.home.env));
    }
  }

  const slowest = variants.find((variant) => variant.every > 1);
  console.log(
    `runs: ${runs} each${slowest ? ` (${slowest.times.length} of ${slowest.label})` : ''}, alternating with node -e 0`,
  );
  console.log(
    `${'node -e 0'.padEnd(44)} median ${median(variants.flatMap((v) => v.nodeTimes))
      .toFixed(1)
      .padStart(7)} ms`,
  );
  variants.forEach((variant, index) => {
    const k = median(variant.times);
    const ratio = k / median(variant.nodeTimes);
    // The keychain and encrypted stores must have been served by the agent, not by luck.
    const served = variant.agent
      ? ` (the agent served ${agentRequests(variant) - requestsBefore[index]! - 1})`
      : '';
    console.log(
      `${`keyfob token, ${variant.label}`.padEnd(44)} median ${k.toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x${served}`,
    );
  });
  console.log('goal: every store with the agent <= 1.30x; the file store alone about 1.04-1.15x');
} finally {
  for (const variant of variants) {
    if (variant.agent) spawnSync(process.execPath, [bin, 'agent', 'stop'], { env: variant.home.env });
    await variant.home.close();
  }
  await idp.close();
  await bus.close();
}

/** Requests the agent of `variant`'s home has answered (from `keyfob agent status --json`). */
function agentRequests(variant: Variant): number {
  const report = JSON.parse(keyfob(['agent', 'status', '--json'], variant.home.env));
  return (report as { status: { requests: number } }).status.requests;
}

function keyfob(args: string[], env: Record<string, string>): string {
  const result = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(`keyfob ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
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
