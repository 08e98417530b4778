/**
 * `check`: the six-step validation of DESIGN.md, each step reported. jose does the
 * cryptography and the claim checks; this file decides the policy (which algorithms, which
 * keys, which issuer, how much clock tolerance) and the order, so that the first failing step
 * is the one reported as the reason.
 *
 * Keys come only from the `jwks_uri` of the configured issuer's discovery document: the `jku`,
 * `x5u`, `jwk` and `x5c` headers are never read, let alone fetched. The issuer is never taken
 * from the token.
 *
 * This module imports jose and oauth4webapi: load it lazily (see `validate/index.ts`).
 */
import { cachedIssuer, discoverIssuer, endpointUrl, type IssuerMetadata } from '../discovery/metadata.js';
import { toKeyfobError } from '../providers/oauth-client.js';
import { refusedOutright } from './algorithms.js';
import { introspectToken } from './introspect.js';
import { type IssuerKey, type IssuerKeys, issuerKeys } from './jwks.js';
import { type CheckOptions, readOptions, type Settings } from './options.js';
import { type CheckReport, type CheckStep, duration, failed, finish, passed, undecided } from './report.js';
import { algorithmPassed, algorithmStep, algorithmVerdict, keyDetail, keyStep } from './steps.js';
import { peekHeader, readStructure, type Structure } from './structure.js';
import { type ClaimPolicy, failedSteps, passedSteps, verifyToken } from './verify.js';

export type { CheckOptions } from './options.js';

// The issuer's Date header has a resolution of one second and travels over a network: smaller
// differences are noise, not skew.
const SKEW_THRESHOLD_MS = 5000;

/**
 * Validates a token and reports every step. Never throws for a bad token: the report says
 * what is wrong. Never includes the token in the report.
 *
 * @throws InvalidInput for unusable options (a tolerance beyond 300 s, `none` in `algorithms`,
 *   a malformed issuer URL); InsecureUrl for a plain-http issuer off loopback.
 */
export function checkToken(token: string, options: CheckOptions): Promise<CheckReport> {
  // Not `async`: that would wrap the promise below in one more, on every check.
  try {
    const settings = readOptions(options);
    return quickCheck(token, options, settings) ?? fullCheck(token, options, settings);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The path of every repeated check: issuer and key set cached and fresh, the key seen before,
 * the algorithm plainly allowed. Only the header is decoded before jose starts, and the whole
 * report (structure step included) is written while jose verifies. `null` when anything needs
 * a closer look: {@link fullCheck} then judges the token step by step.
 */
function quickCheck(token: string, options: CheckOptions, settings: Settings): Promise<CheckReport> | null {
  const head = peekHeader(token);
  if (
    !head ||
    options.offline ||
    refusedOutright(head.alg) ||
    (settings.algorithms && !settings.algorithms.has(head.alg))
  ) {
    return null;
  }
  const metadata = cachedIssuer(options.issuer, options.fetch);
  if (!metadata) return null;
  const source = keySource(metadata, options.fetch, settings.jwksCooldown);
  if (!source.ok) return null;
  // A key is remembered only once step 2 has passed for its algorithm on the same key set
  // (a new download forgets them all): finding it means the issuer's keys allow `alg`.
  const choice = source.keys.cachedChoice(head.alg, head.kid);
  if (!choice) return null;
  // Every field named, in the order fullCheck names them: one object shape for V8 (a spread of
  // `head` cost more than the rest of this function on Node 20).
  const chosen: Chosen = {
    alg: head.alg,
    kid: head.kid,
    metadata,
    key: choice.key,
    before: { keys: source.keys, allowed: choice.algorithms },
  };
  return verifyAndReport(token, options, settings, chosen);
}

/** Every step in order, waiting for discovery and the key set where they are not cached. */
async function fullCheck(token: string, options: CheckOptions, settings: Settings): Promise<CheckReport> {
  const structure = readStructure(token, options.typ);
  const context = { issuer: options.issuer, header: null, claims: null };
  if (structure.kind === 'invalid') {
    return finish([failed('structure', structure.detail)], { ...context, format: null });
  }
  const steps: CheckStep[] = [passed('structure', structure.detail)];

  if (structure.kind === 'opaque') return checkOpaque(token, steps, options, settings);

  const jwt = {
    issuer: options.issuer,
    format: 'jwt' as const,
    header: structure.header,
    claims: structure.claims,
  };
  const { alg, kid } = structure;
  // Refused before anything is fetched: no key set could make these acceptable.
  const outright =
    refusedOutright(alg) ??
    (settings.algorithms && !settings.algorithms.has(alg)
      ? `${alg} is not among the algorithms the caller allows (${[...settings.algorithms].join(', ')})`
      : null);
  if (outright) return finish([...steps, failed('algorithm', outright)], jwt);
  if (options.offline) return finish([...steps, failed('algorithm', options.offline)], jwt);

  const metadata = cachedOk(options) ?? (await discover(options));
  if (!metadata.ok) return finish([...steps, undecided('algorithm', metadata.why)], jwt);
  const source = keySource(metadata.value, options.fetch, settings.jwksCooldown);
  if (!source.ok) return finish([...steps, undecided('algorithm', source.why)], jwt);
  const keys = source.keys;

  const algorithm =
    algorithmVerdict(keys, alg, settings.algorithms) ?? (await algorithmStep(keys, alg, settings.algorithms));
  steps.push(algorithm);
  if (!algorithm.ok) return finish(steps, jwt);

  const cached = keys.cachedKey(alg, kid);
  const found = cached
    ? { step: passed('key', keyDetail(keys, alg, kid, structure.header)), value: cached }
    : await keyStep(keys, alg, kid, structure.header);
  if (!found.value) return finish([...steps, found.step], jwt);
  return verifyAndReport(token, options, settings, {
    alg,
    kid,
    metadata: metadata.value,
    key: found.value,
    before: { structure, algorithm, key: found.step },
  });
}

/** What {@link verifyAndReport} verifies with, and steps 1 to 3. */
interface Chosen {
  alg: string;
  kid: string | undefined;
  metadata: IssuerMetadata;
  key: IssuerKey;
  /**
   * Steps 1 to 3 as fullCheck wrote them; or, on the quick path, what writing them takes (the
   * key set, and what it permitted when the key was found), done while jose works.
   */
  before:
    | { structure: Extract<Structure, { kind: 'jws' }>; algorithm: CheckStep; key: CheckStep }
    | { keys: IssuerKeys; allowed: ReadonlySet<string> };
}

/** Steps 4 to 6 by jose, and the report: structure and steps 2 and 3 written while jose works. */
async function verifyAndReport(
  token: string,
  options: CheckOptions,
  settings: Settings,
  chosen: Chosen,
): Promise<CheckReport> {
  const { alg, kid, key, before } = chosen;
  const clock = judgingClock(options, chosen.metadata);
  const policy: ClaimPolicy = {
    issuer: options.issuer,
    audience: settings.audience,
    authorizedParty: options.authorizedParty,
    clockTolerance: settings.clockTolerance,
    now: clock.now,
    timeNote: clock.note,
    discoveredIssuer:
      chosen.metadata.document.issuer !== options.issuer ? chosen.metadata.document.issuer : null,
  };
  const verifying = verifyToken(token, key, alg, policy);
  // jose hands the signature to a WebCrypto job on libuv's thread pool; this thread decodes the
  // claims and writes the report meanwhile instead of after, when it would add to jose's time.
  await signatureDispatched;
  await signatureDispatched;
  await signatureDispatched;
  let steps: CheckStep[];
  let structure: Extract<Structure, { kind: 'jws' }>;
  if ('structure' in before) {
    structure = before.structure;
    steps = [passed('structure', structure.detail), before.algorithm, before.key];
  } else {
    const read = readStructure(token, options.typ);
    if (read.kind !== 'jws') {
      await verifying;
      // Never opaque in fact: the quick path takes only tokens with a '.' in them.
      const detail = read.kind === 'invalid' ? read.detail : 'not a JWS';
      return finish([failed('structure', detail)], {
        issuer: options.issuer,
        format: null,
        header: null,
        claims: null,
      });
    }
    structure = read;
    steps = [
      passed('structure', structure.detail),
      algorithmPassed(before.allowed, alg, settings.algorithms),
      passed('key', keyDetail(before.keys, alg, kid, structure.header)),
    ];
  }
  const { header, claims } = structure;
  const context = { issuer: options.issuer, format: 'jwt' as const, header, claims };
  // The report as it will be if jose accepts the token, finished before jose answers.
  const ifAccepted = finish([...steps, ...passedSteps(alg, claims, policy)], context);
  const verdict = await verifying;
  if (verdict.ok) return ifAccepted;
  return finish([...steps, ...(await failedSteps(verdict.error, token, key, alg, claims, policy))], context);
}

/**
 * Awaited three times, it lets jose reach `crypto.subtle.verify` (two microtask hops in jose 6
 * with an imported key) before the report is written. Were jose to need more, the report
 * would simply be written before the job starts, as a plain `await` would: slower, not wrong.
 * (A `setImmediate` would be certain, but its event-loop turn costs more than it hides.)
 */
const signatureDispatched = Promise.resolve();

/** An opaque token: only its issuer can judge it, through introspection. */
async function checkOpaque(
  token: string,
  steps: CheckStep[],
  options: CheckOptions,
  settings: Settings,
): Promise<CheckReport> {
  const context = { issuer: options.issuer, format: 'opaque' as const, header: null, claims: null };
  const metadata = cachedOk(options) ?? (await discover(options));
  if (!metadata.ok) return finish([...steps, undecided('introspection', metadata.why)], context);
  const outcome = await introspectToken(token, metadata.value, options.introspection, {
    fetch: options.fetch,
    audience: settings.audience,
    now: options.now?.() ?? new Date(),
  });
  return finish([...steps, ...outcome.steps], { ...context, claims: outcome.claims });
}

type Discovered = { ok: true; value: IssuerMetadata } | { ok: false; why: string };

/** The cached discovery, without waiting a tick (the path of every repeated check). */
function cachedOk(options: CheckOptions): Discovered | undefined {
  const value = cachedIssuer(options.issuer, options.fetch);
  return value ? { ok: true, value } : undefined;
}

type KeySource = { ok: true; keys: IssuerKeys } | { ok: false; why: string };
const keySources = new WeakMap<IssuerMetadata, Map<number | undefined, KeySource>>();

/** The key set behind a discovery document's `jwks_uri`, checked against the URL rules once. */
function keySource(
  metadata: IssuerMetadata,
  fetch: typeof globalThis.fetch,
  cooldown: number | undefined,
): KeySource {
  let byCooldown = keySources.get(metadata);
  if (!byCooldown) {
    byCooldown = new Map();
    keySources.set(metadata, byCooldown);
  }
  let source = byCooldown.get(cooldown);
  if (!source) {
    const uri = endpointUrl(metadata.document.jwks_uri, 'jwks_uri');
    source = uri.ok ? { ok: true, keys: issuerKeys(uri.url, fetch, cooldown) } : uri;
    byCooldown.set(cooldown, source);
  }
  return source;
}

async function discover(options: CheckOptions): Promise<Discovered> {
  try {
    return { ok: true, value: await discoverIssuer(options.issuer, { fetch: options.fetch }) };
  } catch (error) {
    return { ok: false, why: toKeyfobError(error, { action: `discovering ${options.issuer}` }).message };
  }
}

/** The time claims are judged at: the caller's clock, or the local one corrected by the issuer's. */
function judgingClock(options: CheckOptions, metadata: IssuerMetadata): { now: Date; note: string } {
  if (options.now) return { now: options.now(), note: '' };
  const skew = metadata.skewMs;
  if (Math.abs(skew) < SKEW_THRESHOLD_MS) return { now: new Date(), note: '' };
  const direction = skew > 0 ? 'ahead of' : 'behind';
  return {
    now: new Date(Date.now() + skew),
    note: `; judged on the issuer's clock, which is ${duration(Math.abs(skew) / 1000)} ${direction} this machine's`,
  };
}
