/**
 * `checkToken` with a cached JWKS against `jose.jwtVerify` called directly with the same key and
 * the same claim checks, alternating in one run; prints both rates and the median ratio of
 * neighbouring rounds for RS256 and ES256. Goal: keyfob at least 0.9× of jose.
 *
 *   npx tsx --conditions=@keyfob/source bench/check.ts [MILLISECONDS_PER_ROUND]
 */
import { jwtVerify } from 'jose';
import { checkToken } from '../packages/keyfob/src/index.js';
import { startTestIssuer } from '../test/support/issuer.js';

// Many short rounds, alternating: a machine whose load changes during the run slows both sides
// alike, and the medians shrug off the rounds it hit hardest.
const roundMs = Number(process.argv[2] ?? 100);
const rounds = Number(process.env.BENCH_ROUNDS ?? 41);
const issuer = await startTestIssuer();
const options = { issuer: issuer.issuer, audience: issuer.audience, fetch: globalThis.fetch };

/** Verifications per second of `verify`, run back to back for about `ms`. */
async function rate(verify: () => Promise<unknown>, ms: number): Promise<number> {
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 20; i++) await verify();
    count += 20;
    elapsed = performance.now() - started;
  }
  return (count * 1000) / elapsed;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

try {
  let worst = Number.POSITIVE_INFINITY;
  for (const key of [issuer.rs256, issuer.es256]) {
    const token = await issuer.mint({ exp: Math.floor(Date.now() / 1000) + 3600 }, { key });
    // Both sides await their result and look at it, so neither pays for a wrapper the other skips.
    const jose = async () => {
      const { payload } = await jwtVerify(token, key.publicKey, {
        algorithms: [key.alg],
        issuer: issuer.issuer,
        audience: issuer.audience,
        clockTolerance: 60,
        requiredClaims: ['exp'],
      });
      if (payload.exp === undefined) throw new Error('benchmark token has no exp');
    };
    const keyfob = async () => {
      const report = await checkToken(token, options);
      if (!report.valid) throw new Error(`benchmark token is invalid: ${JSON.stringify(report.steps)}`);
    };
    // Warm up: discovery, the JWKS download, key import and the JIT.
    await rate(keyfob, 200);
    await rate(jose, 200);
    const joseRates: number[] = [];
    const keyfobRates: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < rounds; i++) {
      // Alternate which side goes first, and judge each pair of neighbouring rounds on its own.
      let j: number;
      let k: number;
      if (i % 2 === 0) {
        j = await rate(jose, roundMs);
        k = await rate(keyfob, roundMs);
      } else {
        k = await rate(keyfob, roundMs);
        j = await rate(jose, roundMs);
      }
      joseRates.push(j);
      keyfobRates.push(k);
      ratios.push(k / j);
    }
    const j = median(joseRates);
    const k = median(keyfobRates);
    const ratio = median(ratios);
    worst = Math.min(worst, ratio);
    if (process.env.BENCH_VERBOSE) console.log(ratios.map((r) => r.toFixed(2)).join(' '));
    console.log(
      `${key.alg}: jose.jwtVerify ${j.toFixed(0)}/s, keyfob checkToken ${k.toFixed(0)}/s, ratio ${ratio.toFixed(2)}x`,
    );
  }
  console.log(`JWKS downloads during the run: ${issuer.requests['/jwks'] ?? 0} (cached after the first)`);
  console.log(`ratio keyfob/jose: ${worst.toFixed(2)}x at worst (goal >= 0.90x)`);
} finally {
  await issuer.close();
}
