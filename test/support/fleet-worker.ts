/**
 * A process of fleet workers for the fleet tests: `FLEET_WORKERS` keyfob instances (each one a
 * worker with its own memory), created from `FLEET_WORKER` (JSON: the environment and config
 * they share). Each line on stdin is a command; each answer one JSON line on stdout:
 * `{"op":"token"}` → every worker's `getToken()` at once: `{tokens, errors, warnings}`.
 * `FLEET_SLOW_TOKEN_MS` delays each token request by that long (a worker to pause mid-renewal).
 */
import { createInterface } from 'node:readline';
import { createKeyfob, type Keyfob } from '@keyfob/core';

interface Setup {
  environment: Record<string, string>;
  config: unknown;
}

const setup = JSON.parse(process.env.FLEET_WORKER ?? '{}') as Setup;
const count = Number(process.env.FLEET_WORKERS ?? '1');
const slowMs = Number(process.env.FLEET_SLOW_TOKEN_MS ?? '0');
const warnings: string[][] = Array.from({ length: count }, () => []);

const slowFetch: typeof fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (slowMs > 0 && init?.method === 'POST' && /\/token$/.test(new URL(url).pathname)) {
    process.stdout.write(`${JSON.stringify({ event: 'token-request' })}\n`);
    await new Promise((r) => setTimeout(r, slowMs));
  }
  return fetch(input, init);
};

const workers: Keyfob[] = Array.from({ length: count }, (_, i) =>
  createKeyfob({
    environment: setup.environment,
    config: setup.config as never,
    ...(slowMs > 0 ? { fetch: slowFetch } : {}),
    log: { debug() {}, warn: (message: string) => warnings[i]?.push(message) },
  }),
);

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`);
for await (const line of lines) {
  const command = JSON.parse(line) as { op: string };
  if (command.op === 'token') {
    const results = await Promise.allSettled(workers.map((kf) => kf.getToken()));
    process.stdout.write(
      `${JSON.stringify({
        tokens: results.map((r) => (r.status === 'fulfilled' ? r.value.access_token : null)),
        errors: results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])),
        warnings,
      })}\n`,
    );
  } else if (command.op === 'exit') {
    await Promise.all(workers.map((kf) => kf.close()));
    process.exit(0);
  }
}
