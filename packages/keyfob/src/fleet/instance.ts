/**
 * An instance's fleet: its settings from `fleet:` or `<PREFIX>_FLEET_REDIS` /
 * `<PREFIX>_FLEET_KEY` (the variables win, as everywhere), made once per instance.
 */
import { envVar, readEnvVar } from '../config/names.js';
import type { KeyfobConfig } from '../config/schema.js';
import { InvalidInput } from '../errors.js';
import { httpSettings } from '../http/dispatcher.js';
import type { InstanceContext } from '../instance/context.js';
import { FleetRedis } from './client.js';
import { Fleet, type FleetSettings } from './fleet.js';
import { fleets } from './hook.js';
import { fleetKeys, redisUrlProblem, splitKeyList } from './keys.js';

/** The instance's fleet, made on first use; `null` when none is configured. */
export function fleetOf(ctx: InstanceContext, cfg: KeyfobConfig): Promise<Fleet | null> {
  let made = fleets.get(ctx) as Promise<Fleet | null> | undefined;
  if (!made) {
    made = (async () => {
      const settings = fleetSettings(ctx, cfg);
      if (!settings) return null;
      const http = httpSettings(ctx.env, ctx.names);
      return new Fleet(settings, new FleetRedis(settings.url, http), ctx.log);
    })();
    made.catch(() => fleets.delete(ctx));
    fleets.set(ctx, made);
  }
  return made;
}

/**
 * The fleet's settings, or `null` without one.
 * @throws InvalidInput naming the variable that is missing or malformed (never its value).
 */
export function fleetSettings(
  ctx: Pick<InstanceContext, 'env' | 'names'>,
  cfg: KeyfobConfig,
): FleetSettings | null {
  const redisVar = envVar(ctx.names, 'FLEET_REDIS');
  const keyVar = envVar(ctx.names, 'FLEET_KEY');
  const envUrl = readEnvVar(ctx.env, ctx.names, 'FLEET_REDIS');
  const envKeys = readEnvVar(ctx.env, ctx.names, 'FLEET_KEY');
  const url = envUrl ?? cfg.fleet?.redis;
  const keyTexts = envKeys !== undefined ? splitKeyList(envKeys) : cfg.fleet?.encryption_keys;
  if (!url && !keyTexts) return null;
  if (!url) {
    throw new InvalidInput(`${keyVar} is set but the fleet has no Redis`, {
      hint: `set ${redisVar} (redis://host:6379), or add fleet.redis to the config`,
    });
  }
  if (!keyTexts || keyTexts.length === 0) {
    throw new InvalidInput('the fleet has Redis but no encryption key', {
      hint: `set ${keyVar} to a key made with \`openssl rand -base64 32\`, or add fleet.encryption_keys to the config`,
    });
  }
  if (envUrl !== undefined) {
    const problem = redisUrlProblem(envUrl);
    if (problem) throw new InvalidInput(`${redisVar} ${problem}`);
  }
  const keys = fleetKeys(keyTexts);
  if (!keys) {
    throw new InvalidInput(
      `${envKeys !== undefined ? keyVar : 'fleet.encryption_keys'} holds a value that is not a fleet key: 32 bytes as base64 (standard or url-safe) or 64 hex digits`,
      { hint: 'make one with `openssl rand -base64 32`' },
    );
  }
  return {
    url,
    prefix: cfg.fleet?.key_prefix || ctx.names.app,
    keys,
    source: envUrl !== undefined ? redisVar : 'fleet.redis in the config',
  };
}
