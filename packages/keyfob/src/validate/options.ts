/**
 * The options of `check`, checked once per options object: a server that checks every request
 * with the same options pays for reading them once.
 */
import { cachedIssuer } from '../discovery/metadata.js';
import { InvalidInput } from '../errors.js';
import { parseSecureUrl } from '../url.js';
import { callerAlgorithms } from './algorithms.js';
import type { IntrospectionClient } from './introspect.js';

/** Seconds of clock tolerance when the caller names none. */
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 60;
/** The most tolerance a caller may ask for: beyond a few minutes, "expired" stops meaning much. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;

/** `checkToken()`: the issuer, audience, algorithms and clock tolerance a token is checked against. */
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
   * Why nothing may be fetched from the issuer (a provider bound to an emulator, which signs
   * nothing): a signed token then fails the algorithm step with this reason, unfetched.
   */
  offline?: string;
  /**
   * Seconds after a JWKS download before an unknown `kid` may download it again (5 by default).
   * Applies when the key set of a `jwks_uri` is first used in this process.
   */
  jwksCooldown?: number;
}

/** The options, checked and normalised. */
export interface Settings {
  audience: readonly string[] | null;
  algorithms: ReadonlySet<string> | null;
  clockTolerance: number;
  jwksCooldown: number | undefined;
}

/**
 * The settings of `options`, checked. A server passes the same options object to every check:
 * the settings are kept with it and reused as long as every field still holds what it held
 * (array entries included), so that a changed field is never missed.
 *
 * @throws InvalidInput for a tolerance out of range, a bad cooldown, an empty audience, `none`
 *   or HMAC in `algorithms`; InsecureUrl (or InvalidInput) for an unusable issuer URL.
 */
export function readOptions(options: CheckOptions): Settings {
  const kept = settingsKept.get(options);
  if (kept && sameFields(kept.fields, options)) return kept.settings;
  const settings = checkedSettings(options);
  settingsKept.set(options, { fields: fieldsOf(options), settings });
  return settings;
}

type Fields = Pick<CheckOptions, 'issuer' | 'audience' | 'algorithms' | 'clockTolerance' | 'jwksCooldown'>;

const settingsKept = new WeakMap<CheckOptions, { fields: Fields; settings: Settings }>();

function fieldsOf(options: CheckOptions): Fields {
  const { issuer, audience, algorithms, clockTolerance, jwksCooldown } = options;
  return {
    issuer,
    audience: Array.isArray(audience) ? [...audience] : audience,
    algorithms: algorithms ? [...algorithms] : algorithms,
    clockTolerance,
    jwksCooldown,
  };
}

function sameFields(kept: Fields, options: CheckOptions): boolean {
  return (
    kept.issuer === options.issuer &&
    kept.clockTolerance === options.clockTolerance &&
    kept.jwksCooldown === options.jwksCooldown &&
    sameValue(kept.audience, options.audience) &&
    sameValue(kept.algorithms, options.algorithms)
  );
}

function sameValue(
  kept: string | readonly string[] | undefined,
  now: string | readonly string[] | undefined,
): boolean {
  if (typeof kept !== 'object' || typeof now !== 'object') return kept === now;
  return kept.length === now.length && kept.every((value, i) => value === now[i]);
}

function checkedSettings(options: CheckOptions): Settings {
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
    // A copy: the caller's array may change after this; the kept settings must not.
    audience: audience && audience.length > 0 ? Object.freeze([...audience]) : null,
    algorithms: callerAlgorithms(options.algorithms),
    clockTolerance: tolerance,
    jwksCooldown: cooldown,
  };
}
