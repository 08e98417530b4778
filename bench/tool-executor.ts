/**
 * The agent tools' executor against a plain `kf.fetch` of the same request (issue #13): a GET of
 * dev-idp's `registry/packages` (scope `registry:read`) on a cached token, body read as JSON,
 * in alternating rounds in one run; prints the median ratio of the round times (goal <= 1.1x).
 * The executor's extra work per call: the action and scope lookup, the parameter scan, the
 * credentials it redacts (read again only when the token changes), the bounded read and the
 * redaction walk of the answer.
 *
 *   npx tsx --conditions=@keyfob/source bench/tool-executor.ts
 */
import { createKeyfob } from '@keyfob/core';
import { createToolExecutor, defineTool } from '@keyfob/core/tools';
import { machineHome } from './machine-home.js';

const ROUNDS = 21;
const CALLS = 200;

const { idp, env, close } = await machineHome();
try {
  const kf = createKeyfob({ environment: { ...env, REGISTRY_URL: idp.api } });
  const registry = defineTool({
    id: 'registry',
    description: 'list packages',
    actions: { list: { method: 'GET', url: '${REGISTRY_URL}/registry/packages' } },
    scopes: { list: 'registry:read' },
  });
  const executor = createToolExecutor({ keyfob: kf, tools: [registry] });
  const url = `${idp.api}/registry/packages`;
  const viaExecutor = async () => {
    const result = await executor.execute('registry', { action: 'list' });
    if (!result.success) throw new Error(`the executor failed: ${result.error}`);
  };
  const viaFetch = async () => {
    const response = await kf.fetch(url, { scopes: ['registry:read'] });
    if (!response.ok) throw new Error(`kf.fetch answered ${response.status}`);
    await response.json();
  };
  const round = async (call: () => Promise<void>) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) await call();
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  // Warm both paths: the scoped token, connections, the JIT.
  await round(viaExecutor);
  await round(viaFetch);
  const ratios: number[] = [];
  let executorMs = 0;
  let fetchMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which goes first, so neither always meets a warmer process.
    const [a, b] = r % 2 === 0 ? [viaExecutor, viaFetch] : [viaFetch, viaExecutor];
    const first = await round(a);
    const second = await round(b);
    const [e, f] = r % 2 === 0 ? [first, second] : [second, first];
    executorMs += e;
    fetchMs += f;
    ratios.push(e / f);
  }
  ratios.sort((x, y) => x - y);
  const median = ratios[Math.floor(ratios.length / 2)] ?? Number.NaN;
  const perCall = (ms: number) => ((ms / (ROUNDS * CALLS)) * 1000).toFixed(0);
  console.log(
    `executor.execute vs kf.fetch (cached token, same GET, ${ROUNDS} alternating rounds of ${CALLS}): ` +
      `${median.toFixed(2)}x median (goal <= 1.1x); ${perCall(executorMs)} µs vs ${perCall(fetchMs)} µs per call`,
  );
} finally {
  await close();
}
