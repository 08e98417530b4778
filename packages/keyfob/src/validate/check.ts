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
import { errors } from 'jose';
import { cachedIssuer, discoverIssuer, endpointUrl, type IssuerMetadata } from '../discovery/metadata.js';
import { InvalidInput } from '../errors.js';
import { toKeyfobError } from '../providers/oauth-client.js';
import { parseSecureUrl } from '../url.js';
import { callerAlgorithms, refusedOutright } from './algorithms.js';
import { type IntrospectionClient, introspectToken } from './introspect.js';
import { type IssuerKeys, issuerKeys } from './jwks.js';
import {
  type CheckReport,
  type CheckStep,
  duration,
  failed,
  finish,
  passed,
  shown,
  undecided,
} from './report.js';
import { readStructure } from './structure.js';
import { type ClaimPolicy, verifyToken } from './verify.js';

/** Seconds of clock tolerance when the caller names none. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
/** The most tolerance a caller may ask for: beyond a few minutes, "expired" stops meaning much. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
// The issuer's Date header has a resolution of one second and travels over a network: smaller
// differences are noise, not skew.
const SKEW_THRESHOLD_MS = 5000;

export interface CheckOptions {
  /** The issuer the token must come from; compared with `iss` as an exact string. */
  issuer: string;
  /** `aud` must contain this (or one of these); absent: the audience is not checked. */
  audience?: string | readonly string[];
  /** When `aud` has several values, `azp` must equal this (it must be present in any case). */
  authorizedParty?: string;
  /** The header's `typ` must name this media type, e.g. `at+jwt` for RFC 9068 access tokens. */
  typ?: string;
  /** Narrows the allow-list; asymmetric algorithms only (`none` and `HS*` throw InvalidInput). */
  algorithms?: readonly string[];
  /** Seconds of leeway for `exp`, `nbf` and `iat`: 60 by default, at most 300. */
  clockTolerance?: number;
  /** The keyfob instance's fetch (`kf.http`), so discovery and JWKS use its dispatcher. */
  fetch: typeof globalThis.fetch;
  /**
   * The clock time claims are judged at. Absent: the local clock, corrected by the skew learned
   * from the issuer's `Date` header when it is more than a few seconds.
   */
  now?: () => Date;
  /** Client credentials for introspecting opaque tokens; without them an opaque token is undecided. */
  introspection?: IntrospectionClient;
  /**
   * Seconds after a JWKS download before an unknown `kid` may download it again (5 by default).
   * Applies when the key set of a `jwks_uri` is first used in this process.
   */
  jwksCooldown?: number;
}

/**
 * Validates a token and reports every step. Never throws for a bad token: the report says
 * what is wrong. Never includes the token in the report.
 *
 * @throws InvalidInput for unusable options (a tolerance beyond 300 s, `none` in `algorithms`,
 *   a malformed issuer URL); InsecureUrl for a plain-http issuer off loopback.
 */
export async function checkToken(token: string, options: CheckOptions): Promise<CheckReport> {
  const settings = readOptions(options);
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

  // The hot path (issuer and keys cached, key seen before) does not wait on anything but jose.
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
  const key = cached
    ? { step: passed('key', keyDetail(keys, alg, kid, structure.header)), value: cached }
    : await keyStep(keys, alg, kid, structure.header);
  steps.push(key.step);
  if (!key.value) return finish(steps, jwt);

  const clock = judgingClock(options, metadata.value);
  const policy: ClaimPolicy = {
    issuer: options.issuer,
    audience: settings.audience,
    authorizedParty: options.authorizedParty,
    clockTolerance: settings.clockTolerance,
    now: clock.now,
    timeNote: clock.note,
    discoveredIssuer:
      metadata.value.document.issuer !== options.issuer ? metadata.value.document.issuer : null,
  };
  steps.push(...(await verifyToken(token, key.value, alg, structure.claims, policy)));
  return finish(steps, jwt);
}

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

interface Settings {
  audience: readonly string[] | null;
  algorithms: ReadonlySet<string> | null;
  clockTolerance: number;
  jwksCooldown: number | undefined;
}

function readOptions(options: CheckOptions): Settings {
  if (!cachedIssuer(options.issuer, options.fetch)) parseSecureUrl(options.issuer, 'the issuer');
  const tolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) {
    throw new InvalidInput(
      `the clock tolerance must be between 0 and ${MAX_CLOCK_TOLERANCE_SECONDS} seconds`,
    );
  }
  const cooldown = options.jwksCooldown;
  if (cooldown !== undefined && (!Number.isFinite(cooldown) || cooldown < 0)) {
    throw new InvalidInput('jwksCooldown must be a non-negative number of seconds');
  }
  const audience = typeof options.audience === 'string' ? [options.audience] : options.audience;
  if (audience?.some((a) => typeof a !== 'string' || a === '')) {
    throw new InvalidInput('the audience must be a non-empty string');
  }
  return {
    audience: audience && audience.length > 0 ? audience : null,
    algorithms: callerAlgorithms(options.algorithms),
    clockTolerance: tolerance,
    jwksCooldown: cooldown,
  };
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

/**
 * Step 2 without waiting, when the key set is fresh: the verdict, or `null` when the keys must
 * be downloaded first (none yet, stale, or the algorithm unknown and a refetch allowed).
 */
function algorithmVerdict(
  keys: IssuerKeys,
  alg: string,
  caller: ReadonlySet<string> | null,
): CheckStep | null {
  if (!keys.resolve.fresh) return null;
  const fromKeys = keys.algorithms();
  if (!fromKeys.has(alg) && !keys.resolve.coolingDown) return null;
  if (caller)
    return allowedStep(
      [...fromKeys].filter((a) => caller.has(a)),
      alg,
      true,
    );
  if (fromKeys.has(alg))
    return passed('algorithm', `${alg}, allowed by the issuer's keys (${keys.algorithmText()})`);
  return allowedStep([...fromKeys], alg, false);
}

function allowedStep(allowed: string[], alg: string, narrowed: boolean): CheckStep {
  if (!allowed.includes(alg)) {
    const list = allowed.length > 0 ? allowed.join(', ') : 'none';
    return failed(
      'algorithm',
      `${alg} is not allowed: the issuer's keys${narrowed ? " and the caller's list" : ''} permit ${list}`,
    );
  }
  return passed('algorithm', `${alg}, allowed by the issuer's keys (${allowed.join(', ')})`);
}

/** Step 2: the header's algorithm against what the issuer's keys (and the caller) permit. */
async function algorithmStep(
  keys: IssuerKeys,
  alg: string,
  caller: ReadonlySet<string> | null,
): Promise<CheckStep> {
  const download = async (): Promise<string | null> => {
    try {
      await keys.resolve.reload();
      return null;
    } catch (error) {
      return toKeyfobError(error, { action: `downloading the issuer's keys from ${keys.uri}` }).message;
    }
  };
  if (!keys.resolve.fresh) {
    const problem = await download();
    if (problem) return undecided('algorithm', problem);
  }
  let fromKeys = keys.algorithms();
  // A key of a new type may have been published since the last download (a move from RSA to EC).
  if (!fromKeys.has(alg) && !keys.resolve.coolingDown) {
    const problem = await download();
    if (problem) return undecided('algorithm', problem);
    fromKeys = keys.algorithms();
  }
  return allowedStep(
    caller ? [...fromKeys].filter((a) => caller.has(a)) : [...fromKeys],
    alg,
    caller !== null,
  );
}

type KeyOutcome = { step: CheckStep; value: Awaited<ReturnType<IssuerKeys['resolve']>> | null };

/** Step 3: the one key of the issuer's JWKS that matches the header's `alg` and `kid`. */
async function keyStep(
  keys: IssuerKeys,
  alg: string,
  kid: string | undefined,
  header: Record<string, unknown>,
): Promise<KeyOutcome> {
  const before = keys.downloads;
  const wasCoolingDown = keys.resolve.coolingDown;
  try {
    // Only `alg` and `kid` are handed over: nothing else in the header may influence the choice.
    const value = await keys.key(alg, kid);
    return { step: passed('key', keyDetail(keys, alg, kid, header)), value };
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) {
      const what = kid !== undefined ? `no key with kid "${shown(kid)}" for ${alg}` : `no ${alg} key`;
      const refetch =
        keys.downloads > before
          ? 'downloaded again: still unknown'
          : wasCoolingDown
            ? 'the key set is recent, so it was not downloaded again'
            : 'not downloaded again';
      return {
        step: failed('key', `${what} in the issuer's JWKS (${refetch})${ignoredHeaders(header)}`),
        value: null,
      };
    }
    if (error instanceof errors.JWKSMultipleMatchingKeys) {
      const what =
        kid !== undefined
          ? `several keys in the issuer's JWKS share kid "${shown(kid)}"`
          : `the token names no kid and the issuer's JWKS has several ${alg} keys`;
      return { step: failed('key', what), value: null };
    }
    const reason = toKeyfobError(error, { action: `downloading the issuer's keys from ${keys.uri}` }).message;
    return { step: undecided('key', reason), value: null };
  }
}

function keyDetail(keys: IssuerKeys, alg: string, kid: string | undefined, header: Record<string, unknown>) {
  const which = kid !== undefined ? `kid ${shown(kid)}` : `the only ${alg} key (the token names no kid)`;
  return `${which} from ${keys.uri}${ignoredHeaders(header)}`;
}

const KEY_LOCATING_HEADERS = ['jku', 'x5u', 'jwk', 'x5c'] as const;

function ignoredHeaders(header: Record<string, unknown>): string {
  if (
    header.jku === undefined &&
    header.x5u === undefined &&
    header.jwk === undefined &&
    header.x5c === undefined
  ) {
    return '';
  }
  const present = KEY_LOCATING_HEADERS.filter((h) => Object.hasOwn(header, h));
  if (present.length === 0) return '';
  return `; its ${present.join(', ')} header${present.length > 1 ? 's were' : ' was'} ignored: keys come only from the issuer's jwks_uri`;
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
