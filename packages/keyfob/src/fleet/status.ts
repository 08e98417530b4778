/**
 * `kf.fleetStatus()` (`keyfob fleet status`): what the fleet holds, by entry name and expiry,
 * which key each entry is sealed under, and which entries are this machine's own identities
 * (the ones it can name: its configured machine clients, its client from the environment).
 * Never a token: entries are not opened.
 */
import { readEnvVar } from '../config/names.js';
import type { KeyfobConfig } from '../config/schema.js';
import { FleetUnavailable, InvalidInput } from '../errors.js';
import type { InstanceContext } from '../instance/context.js';
import { newSession } from '../session.js';
import { entryKeyId, entryNames } from './entry.js';
import { reason } from './health.js';
import { fleetOf } from './instance.js';
import { scanEntries } from './ops.js';
import { machineIdentity } from './provider.js';

/** One entry of the fleet, without its content. */
export interface FleetEntryStatus {
  /** The Redis key: `<prefix>:t:<HMAC>`. */
  name: string;
  /** When Redis drops it (now plus its `PTTL`), ISO 8601. */
  expires_at: string;
  /** `first` (this worker's current key), `older` (a key it still decrypts with), or `unknown`. */
  key: 'first' | 'older' | 'unknown';
  /** The identity, when it is one this machine knows: `client ID at ISSUER, resource R`. */
  identity: string | null;
}

/** What the fleet holds, as one worker sees it. */
export interface FleetStatusReport {
  /** The Redis URL without user or password. */
  redis: string;
  key_prefix: string;
  /** Where the settings came from: the variable, or `fleet.redis in the config`. */
  source: string;
  /** The ids of this worker's keys, the encrypting one first. */
  key_ids: string[];
  entries: FleetEntryStatus[];
}

const MAX_ENTRIES = 1000;

/**
 * @throws InvalidInput when no fleet is configured; FleetUnavailable when Redis does not answer.
 */
export async function fleetStatus(ctx: InstanceContext): Promise<FleetStatusReport> {
  const cfg = await ctx.config();
  const fleet = await fleetOf(ctx, cfg);
  if (!fleet) {
    throw new InvalidInput('no fleet is configured', {
      hint: 'add fleet: to the config, or set the fleet variables (see the README, Fleets)',
    });
  }
  const { settings } = fleet;
  let listed: Awaited<ReturnType<typeof scanEntries>>;
  try {
    listed = await scanEntries(await fleet.redis.ready(), settings.prefix, MAX_ENTRIES);
  } catch (error) {
    fleet.redis.failed(error);
    throw new FleetUnavailable(`${fleet.redis.display} did not answer (${reason(error)})`, {
      hint: 'check that Redis runs and that the URL, user and password are right',
      cause: error,
    });
  }
  const known = knownIdentities(ctx, cfg, settings.prefix);
  const now = Date.now();
  return {
    redis: fleet.redis.display,
    key_prefix: settings.prefix,
    source: settings.source,
    key_ids: settings.keys.map((k) => k.id),
    entries: listed.map((entry) => {
      const kid = entry.text === null ? null : entryKeyId(entry.text);
      const at = settings.keys.findIndex((k) => k.id === kid);
      return {
        name: entry.name,
        expires_at: new Date(now + entry.pttlMs).toISOString(),
        key: at === 0 ? 'first' : at > 0 ? 'older' : 'unknown',
        identity: known.get(entry.name) ?? null,
      };
    }),
  };
}

/** The entry names of the machine identities this configuration can name, with a label. */
function knownIdentities(ctx: InstanceContext, cfg: KeyfobConfig, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  const lookup = ctx.lookupProvider(cfg);
  const empty = newSession('fleet-status', 'client_credentials', ctx.now());
  const add = (source: Parameters<typeof machineIdentity>[0]) => {
    const who = machineIdentity(source, empty, { resource: source.config.resource ?? null, scopes: [] });
    if (!who) return;
    const { identity } = who;
    const label = [
      `client ${identity.client_id} at ${identity.issuer ?? identity.token_endpoint ?? '?'}`,
      identity.resource ? `resource ${identity.resource}` : null,
      identity.scopes.length > 0 ? `scopes ${identity.scopes.join(' ')}` : null,
    ]
      .filter(Boolean)
      .join(', ');
    out.set(entryNames(prefix, who.secret, identity).entry, label);
  };
  for (const config of Object.values(cfg.providers)) {
    if (config.type === 'client_credentials') add({ config, lookup });
  }
  const id = readEnvVar(ctx.env, ctx.names, 'CLIENT_ID');
  const secret = readEnvVar(ctx.env, ctx.names, 'CLIENT_SECRET');
  const ambient = (() => {
    try {
      return ctx.ambientProvider(cfg);
    } catch {
      return null;
    }
  })();
  if (id && secret && ambient)
    add({ config: ctx.providerConfig(cfg, ambient), lookup, client: { id, secret } });
  return out;
}
