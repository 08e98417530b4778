/**
 * The setting the token benchmarks need: dev-idp in this process and a fresh home whose
 * default profile is a machine client, with its first token already fetched by the real CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type DevIdp, keyfobConfig, startDevIdp } from '@keyfob/dev-idp';

export const KEYFOB_BIN = fileURLToPath(new URL('../packages/cli/bin/keyfob.cjs', import.meta.url));

export interface MachineHome {
  idp: DevIdp;
  home: string;
  env: Record<string, string>;
  /** Removes the home (and stops dev-idp when this home started it). */
  close(): Promise<void>;
}

/** Options of {@link machineHome}. */
export interface MachineHomeOptions {
  /** A dev-idp to share between homes (not closed by `close`); default: one of its own. */
  idp?: DevIdp;
  /** Config lines appended to the generated config (`token_storage: keychain`, `agent: manual`). */
  config?: string;
  /** Variables added to the home's environment (a test bus's, `KEYFOB_PASSPHRASE`). */
  env?: Record<string, string>;
}

export async function machineHome(options: MachineHomeOptions = {}): Promise<MachineHome> {
  const idp = options.idp ?? (await startDevIdp({ accessTokenTtl: 3600 }));
  const home = mkdtempSync(join(tmpdir(), 'keyfob-bench-'));
  writeFileSync(
    join(home, 'config.yaml'),
    keyfobConfig(idp, {
      person: false,
      machine: true,
      extra: `profiles:\n  default:\n    provider: robot\n${options.config ?? ''}`,
    }),
  );
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: home,
    KEYFOB_HOME: home,
    ROBOT_SECRET: idp.clients.machine.client_secret,
    ...options.env,
  };
  // dev-idp lives in this process: the first call must not block its event loop.
  await promisify(execFile)(process.execPath, [KEYFOB_BIN, 'token'], { env });
  return {
    idp,
    home,
    env,
    async close() {
      if (!options.idp) await idp.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** The median of `values` (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
