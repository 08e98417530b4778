/**
 * `fleet:` (DESIGN.md, Fleets): the Redis URL, the key prefix and the encryption keys. A URL
 * with a user or password and every key are secrets: each must come from a `${VAR}`, whole.
 * Values are never echoed.
 */
import { parseFleetKey, redisUrlHasPassword, redisUrlProblem } from '../fleet/keys.js';
import { formatKeyPath } from './interpolate.js';
import type { FleetConfig } from './schema.js';
import {
  type Context,
  checkKnownKeys,
  describe,
  fail,
  type Mapping,
  optionalMapping,
  optionalString,
  own,
  type Path,
} from './validate-fields.js';

const FLEET_KEYS = ['redis', 'key_prefix', 'encryption_keys'] as const;

/** Letters, digits and `.`, `_`, `-`, `:`; what every Redis key of the fleet starts with. */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

/** The `fleet:` mapping of the top level, validated; `undefined` when there is none. */
export function validateFleet(ctx: Context, raw: Mapping): FleetConfig | undefined {
  const fleet = optionalMapping(ctx, raw, [], 'fleet');
  if (fleet === undefined) return undefined;
  const path: Path = ['fleet'];
  checkKnownKeys(ctx, fleet, path, FLEET_KEYS, 'fleet setting');
  const redis = optionalString(ctx, fleet, path, 'redis');
  if (redis === undefined) {
    fail(
      ctx,
      [...path, 'redis'],
      'required: the Redis URL the fleet shares tokens through',
      'write ${FLEET_REDIS_URL}',
    );
  }
  const problem = redisUrlProblem(redis);
  if (problem) fail(ctx, [...path, 'redis'], problem);
  if (redisUrlHasPassword(redis) && !ctx.refs.get(formatKeyPath([...path, 'redis']))?.whole) {
    fail(
      ctx,
      [...path, 'redis'],
      'a Redis URL with a user or password is a secret: it must be exactly one ${VAR} reference',
      'write ${FLEET_REDIS_URL} and set it in the environment',
    );
  }
  const prefix = optionalString(ctx, fleet, path, 'key_prefix');
  if (prefix !== undefined && !KEY_PREFIX_PATTERN.test(prefix)) {
    fail(ctx, [...path, 'key_prefix'], 'must be 1 to 64 letters, digits, ".", "_", "-" or ":"');
  }
  return {
    redis,
    key_prefix: prefix ?? '',
    encryption_keys: validateKeys(ctx, fleet, [...path, 'encryption_keys']),
  };
}

function validateKeys(ctx: Context, fleet: Mapping, path: Path): string[] {
  const value = own(fleet, 'encryption_keys');
  const hint = 'make one with `openssl rand -base64 32`, and write ${FLEET_KEY}';
  if (value === undefined || value === null)
    fail(ctx, path, 'required: a list of keys, the newest first', hint);
  if (!Array.isArray(value)) fail(ctx, path, `must be a list of keys, not ${describe(value)}`, hint);
  if (value.length === 0) fail(ctx, path, 'must hold at least one key', hint);
  return value.map((item, index) => {
    const at = [...path, index];
    const ref = ctx.refs.get(formatKeyPath(at));
    if (!ref) fail(ctx, at, 'a literal key is not allowed here: a fleet key is a secret', hint);
    if (!ref.whole) fail(ctx, at, 'a key must be exactly one ${VAR} reference, with no text around it');
    const variable = ref.variables[0] ?? 'the variable';
    if (typeof item !== 'string' || item === '') fail(ctx, at, `\${${variable}} is unset or empty`, hint);
    if (!parseFleetKey(item)) {
      fail(
        ctx,
        at,
        `\${${variable}} is not a fleet key: 32 bytes written as base64 (standard or url-safe) or as 64 hex digits`,
        hint,
      );
    }
    return item;
  });
}
