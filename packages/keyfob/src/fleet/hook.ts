/**
 * Where `getToken` meets the fleet, kept light: it is loaded with `getToken`, and it loads the
 * fleet (and ioredis) only when a fleet is configured and a machine token is being renewed.
 * A person's session never comes here.
 */
import { readEnvVar } from '../config/names.js';
import type { KeyfobConfig, ProviderConfig } from '../config/schema.js';
import type { InstanceContext } from '../instance/context.js';
import type { CredentialProvider } from '../providers/provider.js';

/** The machine whose tokens may be shared, as the call site knows it. */
export interface MachineSource {
  /** The profile's provider, or for credentials from outside profiles the provider they use. */
  config: ProviderConfig;
  lookup(name: string): ProviderConfig | undefined;
  /** Credentials from outside profiles (`<PREFIX>_CLIENT_ID` / `_SECRET`, or the call's). */
  client?: { id: string; secret: string };
}

/** What one `getToken` call asks: the freshness it needs, and whether it renews after a 401. */
export interface FleetCall {
  minTtlSeconds: number;
  force: boolean;
}

/** A call's {@link FleetCall}. */
export function fleetCall(minTtlSeconds: number, forceRefresh: boolean | undefined): FleetCall {
  return { minTtlSeconds, force: forceRefresh === true };
}

/** The instance's fleet once made (to close it); `null` for none. */
export const fleets = new WeakMap<InstanceContext, Promise<{ close(): Promise<void> } | null>>();

/** Whether this instance has a fleet: `fleet:` in the config, or the fleet variables. */
export function hasFleet(ctx: InstanceContext, cfg: KeyfobConfig): boolean {
  return Boolean(
    cfg.fleet || readEnvVar(ctx.env, ctx.names, 'FLEET_REDIS') || readEnvVar(ctx.env, ctx.names, 'FLEET_KEY'),
  );
}

/**
 * The provider a machine's renewal goes through: the fleet's wrapper around it when a fleet is
 * configured, else the provider itself.
 */
export function throughFleet(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  provider: () => Promise<CredentialProvider>,
  machine: MachineSource | null,
  call: FleetCall,
): () => Promise<CredentialProvider> {
  if (!machine || !hasFleet(ctx, cfg)) return provider;
  return async () => (await import('./provider.js')).fleetProvider(ctx, cfg, await provider(), machine, call);
}

/** Closes the instance's fleet connection, if one was made (`kf.close()`). */
export async function closeFleet(ctx: InstanceContext): Promise<void> {
  const fleet = await fleets.get(ctx)?.catch(() => null);
  await fleet?.close();
}

/** A machine's provider: client credentials, or an exchange whose login is client credentials. */
export function isMachineConfig(
  config: ProviderConfig,
  lookup: (name: string) => ProviderConfig | undefined,
): boolean {
  if (config.type === 'client_credentials') return true;
  return config.type === 'exchange' && lookup(config.login)?.type === 'client_credentials';
}

/** The fleet as `status` and `explain` name it (Redis without credentials, key prefix), or `null`. */
export async function fleetSummary(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
): Promise<{ redis: string; key_prefix: string } | null> {
  if (!hasFleet(ctx, cfg)) return null;
  const url = readEnvVar(ctx.env, ctx.names, 'FLEET_REDIS') ?? cfg.fleet?.redis;
  const { redisDisplay } = await import('./keys.js');
  return {
    redis: url ? redisDisplay(url) : 'not set',
    key_prefix: cfg.fleet?.key_prefix || ctx.names.app,
  };
}
