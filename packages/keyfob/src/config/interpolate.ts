/**
 * `${VAR}` references in configuration values.
 *
 * DESIGN.md: a secret may appear in `config.yaml` only as a `${VAR}` reference. Interpolation
 * therefore records, for every value, which variables it was built from: the validator refuses a
 * secret that was written out literally, and names the variable when a referenced secret is empty.
 *
 * Rules: `${NAME}` (letters, digits, `_`, not starting with a digit) is replaced by the variable's
 * value; `$${` is a literal `${`; any other `$` is kept as it is. A variable that is not set is an
 * error (a silently empty issuer or secret fails later and far less clearly); a variable set to
 * the empty string counts as set. Only values are interpolated, never keys.
 */
import { InvalidConfig } from '../errors.js';
import type { Env } from './names.js';

/** One step of a key path: a mapping key or a list index. */
export type KeyPathSegment = string | number;

/** How a value was built from references. */
export interface Reference {
  /** The variables the value referred to, in order of appearance. */
  readonly variables: readonly string[];
  /** `true` when the value was exactly one `${VAR}`, with no literal text around it. */
  readonly whole: boolean;
}

/** References by key path (see {@link formatKeyPath}); values without a reference are absent. */
export type References = ReadonlyMap<string, Reference>;

/** Result of {@link interpolate}. */
export interface Interpolated {
  /** A copy of the input with every reference replaced; mappings have a `null` prototype. */
  value: unknown;
  refs: References;
  /**
   * Keys left out because they refer to an unset variable and {@link InterpolateOptions.defer}
   * allowed it, by key path, with the variable. The error then comes when the value is used.
   */
  unresolved: ReadonlyMap<string, string>;
}

/** Options of {@link interpolate}. */
export interface InterpolateOptions {
  /** File name (or label such as `<options>`) for error messages. */
  file: string;
  env: Env;
  /** Deepest nesting accepted; defaults to {@link MAX_CONFIG_DEPTH}. */
  maxDepth?: number;
  /**
   * Which keys may refer to an unset variable without failing the whole configuration: a
   * missing `${ROBOT_SECRET}` should stop only the provider that needs it.
   */
  defer?: (path: readonly KeyPathSegment[]) => boolean;
}

/** Thrown by {@link interpolateString} for an unset variable, so a caller may defer it. */
class UnsetVariable extends InvalidConfig {
  constructor(
    readonly variable: string,
    where: { file: string; key: string },
  ) {
    super(`\${${variable}} refers to ${variable}, which is not set in the environment`, where, {
      hint: `set ${variable}, or write $\${ for a literal \${`,
    });
  }
}

/** Deepest nesting of mappings and lists a configuration may have. */
export const MAX_CONFIG_DEPTH = 32;

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const WHOLE_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const SIMPLE_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Formats a key path the way error messages show it: `providers.robots.client_secret`,
 * `providers.corporate.scopes[1]`, and `providers["my.idp"].issuer` for a name that would
 * otherwise be ambiguous.
 */
export function formatKeyPath(segments: readonly KeyPathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (SIMPLE_SEGMENT.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Replaces the references in one string.
 *
 * @param text The value as written.
 * @param where The file and key path for error messages.
 * @returns The value and the variables it used; `reference` is `undefined` for plain text.
 * @throws InvalidConfig for an unset variable or a malformed `${…}`; the message names the
 *   variable but never a value.
 */
export function interpolateString(
  text: string,
  env: Env,
  where: { file: string; key: string },
): { value: string; reference: Reference | undefined } {
  if (!text.includes('$')) return { value: text, reference: undefined };
  const variables: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (!text.startsWith('${', dollar)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    const name = close === -1 ? '' : text.slice(dollar + 2, close);
    if (!VARIABLE_NAME.test(name)) {
      // The text inside the braces is not echoed: it may be a secret pasted in the wrong place.
      throw new InvalidConfig(
        `malformed \${…} reference at character ${dollar + 1}; a reference is \${NAME} with letters, digits and _`,
        where,
        { hint: 'write $${ for a literal ${' },
      );
    }
    const value = env[name];
    if (value === undefined) throw new UnsetVariable(name, where);
    variables.push(name);
    out += value;
    i = close + 1;
  }
  if (variables.length === 0) return { value: out, reference: undefined };
  return { value: out, reference: { variables, whole: WHOLE_REFERENCE.test(text) } };
}

/**
 * Replaces every reference in a parsed configuration tree and records which key paths used one.
 *
 * The input is plain data (from YAML, or an object a library user passed); anything else —
 * class instances, functions, cycles, nesting deeper than `maxDepth` — is refused, so the
 * validator only ever sees strings, finite or non-finite numbers, booleans, `null`, arrays and
 * null-prototype mappings. `undefined` properties are dropped, as `JSON.stringify` would.
 *
 * @throws InvalidConfig naming the file, the key path and, for an unset variable, its name.
 */
export function interpolate(raw: unknown, options: InterpolateOptions): Interpolated {
  const refs = new Map<string, Reference>();
  const unresolved = new Map<string, string>();
  const deferred = Symbol('deferred');
  const maxDepth = options.maxDepth ?? MAX_CONFIG_DEPTH;
  const ancestors = new Set<object>();

  const walk = (value: unknown, path: KeyPathSegment[]): unknown => {
    if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
    const key = formatKeyPath(path);
    const where = { file: options.file, key };
    if (typeof value === 'string') {
      try {
        const result = interpolateString(value, options.env, where);
        if (result.reference) refs.set(key, result.reference);
        return result.value;
      } catch (error) {
        if (!(error instanceof UnsetVariable && options.defer?.(path))) throw error;
        unresolved.set(key, error.variable);
        return deferred;
      }
    }
    if (typeof value !== 'object') {
      throw new InvalidConfig(`${typeof value} is not a configuration value`, where);
    }
    if (path.length >= maxDepth) {
      throw new InvalidConfig(`nested deeper than ${maxDepth} levels`, where);
    }
    if (ancestors.has(value)) throw new InvalidConfig('refers to itself (a cycle)', where);
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((item, index) => walk(item, [...path, index]));
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new InvalidConfig('must be plain data (a mapping, list, string, number or boolean)', where);
      }
      // A null prototype: a key such as `__proto__` or `constructor` stays an ordinary key.
      const out: Record<string, unknown> = Object.create(null);
      for (const [name, item] of Object.entries(value)) {
        if (item === undefined) continue;
        const walked = walk(item, [...path, name]);
        if (walked !== deferred) out[name] = walked;
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  };

  return { value: walk(raw, []), refs, unresolved };
}
