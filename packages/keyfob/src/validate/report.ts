/**
 * The proof `check` hands back: every step with its outcome and a detail a person can act on,
 * the decoded header and claims, and the verdict. Also the one place that turns a report into
 * the error the CLI exits with.
 *
 * Details quote values taken from the token (a `kid`, an `iss`) only through {@link shown}, and
 * never the token itself: a report may be printed, logged or pasted into a ticket.
 */
import { type KeyfobError, TokenInvalid, ValidationUndecided } from '../errors.js';
import { CONTROL_CHARACTERS } from '../text.js';

/**
 * The six steps of a JWT check, in order, and `introspection`, which replaces `algorithm`,
 * `key` and `signature` for an opaque token.
 */
export type CheckStepName =
  | 'structure'
  | 'algorithm'
  | 'key'
  | 'signature'
  | 'issuer_audience'
  | 'time'
  | 'introspection';

/** The JWT steps in the order they run. */
export const JWT_STEPS: readonly CheckStepName[] = [
  'structure',
  'algorithm',
  'key',
  'signature',
  'issuer_audience',
  'time',
];

/** The steps of an opaque token's check. */
export const OPAQUE_STEPS: readonly CheckStepName[] = [
  'structure',
  'introspection',
  'issuer_audience',
  'time',
];

/**
 * `passed` and `failed` are verdicts; `skipped` means an earlier step already failed or could not
 * decide; `undecided` means the step needed the issuer and the issuer did not answer usefully.
 */
export type CheckStepStatus = 'passed' | 'failed' | 'skipped' | 'undecided';

/** One validation step: its name, whether it passed, and why. */
export interface CheckStep {
  name: CheckStepName;
  /** True only for `passed`. */
  ok: boolean;
  status: CheckStepStatus;
  detail: string;
}

/** The result of `checkToken()`: each of the six steps and the verdict. */
export interface CheckReport {
  /** True when every step passed. */
  valid: boolean;
  /** True when a step could not decide (issuer, JWKS or introspection unreachable): exit 3. */
  undecided: boolean;
  /** `jwt` for a JWS, `opaque` for a token checked by introspection, `null` when unreadable. */
  format: 'jwt' | 'opaque' | null;
  /** The issuer the token was checked against, as configured. */
  issuer: string;
  steps: CheckStep[];
  /** The JOSE header; `null` when the structure step failed or the token is opaque. */
  header: Record<string, unknown> | null;
  /** The claims (for an opaque token: the introspection response); `null` when unreadable. */
  claims: Record<string, unknown> | null;
}

/** A step that passed. */
export function passed(name: CheckStepName, detail: string): CheckStep {
  return { name, ok: true, status: 'passed', detail };
}

/** A step that failed: the token is invalid. */
export function failed(name: CheckStepName, detail: string): CheckStep {
  return { name, ok: false, status: 'failed', detail };
}

/** A step that needed the issuer, which did not answer usefully. */
export function undecided(name: CheckStepName, detail: string): CheckStep {
  return { name, ok: false, status: 'undecided', detail };
}

/** The steps of `order` that come after those already in `steps`, marked as skipped. */
export function skippedAfter(steps: readonly CheckStep[], order: readonly CheckStepName[]): CheckStep[] {
  const stop = steps.find((s) => s.status === 'failed' || s.status === 'undecided');
  const why = stop
    ? `not checked: the ${stop.name} step ${stop.status === 'failed' ? 'failed' : 'could not decide'}`
    : 'not checked';
  const done = new Set(steps.map((s) => s.name));
  return order
    .filter((name) => !done.has(name))
    .map((name) => ({ name, ok: false, status: 'skipped', detail: why }));
}

/** The report for `steps`: valid when all passed, undecided when one could not decide. */
export function finish(
  steps: CheckStep[],
  context: Pick<CheckReport, 'format' | 'issuer' | 'header' | 'claims'>,
): CheckReport {
  const order = context.format === 'opaque' ? OPAQUE_STEPS : JWT_STEPS;
  const all = steps.length === order.length ? steps : [...steps, ...skippedAfter(steps, order)];
  // Named fields, no spread: this runs once per check, and a spread costs more than the rest.
  return {
    valid: all.every((s) => s.ok),
    undecided: all.some((s) => s.status === 'undecided'),
    format: context.format,
    issuer: context.issuer,
    steps: all,
    header: context.header,
    claims: context.claims,
  };
}

/**
 * The error a failed report stands for, or `null` for a valid token: TokenInvalid (exit 1)
 * naming the first failing step, or ValidationUndecided (exit 3). Neither quotes the token.
 *
 * @param command How the person runs check, for the hint (`keyfob check`); `null` when every
 *   step has been shown already and the hint would only repeat it.
 */
export function checkFailure(
  report: CheckReport,
  command: string | null = 'keyfob check',
): KeyfobError | null {
  if (report.valid) return null;
  const unsure = report.steps.find((s) => s.status === 'undecided');
  if (unsure) {
    return new ValidationUndecided(`could not decide whether the token is valid: ${unsure.detail}`, {
      hint: 'check that the issuer is reachable, then run the check again',
    });
  }
  const first = report.steps.find((s) => s.status === 'failed');
  return new TokenInvalid(
    `the token is invalid: the ${first?.name ?? 'structure'} step failed: ${first?.detail ?? 'unknown reason'}`,
    command === null ? {} : { hint: `run \`${command} --verbose\` to see every step` },
  );
}

/**
 * A value from the token or from a server, fit to quote in a detail: control characters
 * replaced, cut to `max` characters. A hostile `kid` of a megabyte stays one short line.
 */
export function shown(value: unknown, max = 80): string {
  const text = typeof value === 'string' ? value : printed(value);
  const printable = text.replace(CONTROL_CHARACTERS, '?');
  return printable.length > max ? `${printable.slice(0, max)}…` : printable;
}

/**
 * Any value from a token as text, never throwing: a claim nested 20,000 arrays deep makes both
 * `JSON.stringify` and `String` overflow the stack.
 */
function printed(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '(a nested array too deep to show)' : '(a value that cannot be shown)';
  }
}

/**
 * An instant as ISO 8601 UTC without milliseconds, and how far it is from `now`. A value no
 * calendar holds (a hostile `exp` of 1e300) is shown as the number it is; anything but a
 * number (details may be written before jose has judged the claim) is shown, not computed on.
 */
export function when(epochSeconds: unknown, now: Date): string {
  if (typeof epochSeconds !== 'number') return `${shown(epochSeconds, 40)} (not a time)`;
  const instant = new Date(epochSeconds * 1000);
  if (Number.isNaN(instant.getTime())) return `${shown(epochSeconds, 40)} (beyond any date)`;
  const iso = instant.toISOString().replace('.000Z', 'Z');
  const delta = Math.round(epochSeconds - now.getTime() / 1000);
  return `${iso} (${delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`})`;
}

/** `1h 2m`, `4m 5s`, `12s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 86_400) return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}
