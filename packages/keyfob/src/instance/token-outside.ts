/**
 * Credentials outside profiles (DESIGN.md, the resolver's levels 1 and 2): a client id and
 * secret given in code or in the environment get one provider and an in-memory session per
 * client, and a token file one reader, both kept per instance; nothing of theirs is stored.
 */
import { envVar } from '../config/names.js';
import type { KeyfobConfig } from '../config/schema.js';
import { ProviderNotFound } from '../errors.js';
import { type FleetCall, throughFleet } from '../fleet/hook.js';
import type { CredentialProvider, LoginInteraction } from '../providers/provider.js';
import { tokenFileReader } from '../providers/static-token.js';
import { MemoryStore } from '../stores/memory.js';
import type { InstanceContext } from './context.js';

/** A machine login needs no person; this bounds the network exchange. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 60_000;

/** The interaction of a login no person watches (client credentials). */
export const silentInteraction: LoginInteraction = {
  showAuthorizationUrl() {},
  showDeviceCode() {},
  openBrowser: async () => false,
  waiting: () => () => {},
  notice() {},
};

/** Per instance: token-file readers and machine sessions for credentials outside profiles. */
const outsideProfiles = new WeakMap<
  InstanceContext,
  { files: Map<string, ReturnType<typeof tokenFileReader>>; machines: Map<string, Promise<Machine>> }
>();

export interface Machine {
  provider: CredentialProvider;
  store: MemoryStore;
  client: { id: string; secret: string };
}

/** Machine credentials outside profiles: one provider and in-memory session per client. */
export function machineFor(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  clientId: string,
  clientSecret: string,
  call: FleetCall,
): Promise<Machine> {
  const providerName = ctx.ambientProvider(cfg);
  if (!providerName) {
    throw new ProviderNotFound('machine credentials need a provider for their issuer', {
      hint: `set default_provider in config.yaml, or ${envVar(ctx.names, 'PROVIDER')}`,
    });
  }
  const key = `${providerName}\u0000${clientId}`;
  const machines = outside(ctx).machines;
  let machine = machines.get(key);
  if (!machine) {
    machine = (async () => {
      const base = ctx.providerConfig(cfg, providerName);
      const issuer = 'issuer' in base && typeof base.issuer === 'string' ? base.issuer : undefined;
      const tokenEndpoint =
        'token_endpoint' in base && typeof base.token_endpoint === 'string' ? base.token_endpoint : undefined;
      if (!issuer && !tokenEndpoint) {
        throw new ProviderNotFound(
          `provider ${providerName} has no issuer or token endpoint for machine credentials`,
        );
      }
      const { createClientCredentialsProvider } = await import('../providers/client-credentials.js');
      const provider = createClientCredentialsProvider(
        {
          name: providerName,
          server: issuer
            ? { kind: 'discovery', issuer }
            : { kind: 'manual', issuer: null, token_endpoint: tokenEndpoint as string },
          clientId,
          clientSecret,
          // The provider's client_secret_post holds for other clients of the same server too.
          method:
            base.type === 'client_credentials' && base.token_endpoint_auth_method === 'client_secret_post'
              ? 'client_secret_post'
              : 'client_secret_basic',
          scopes: base.type === 'client_credentials' ? base.scopes : [],
          resource: base.resource ?? null,
          allowedOrigins: base.allowed_origins,
          missingSecretHint: `set ${envVar(ctx.names, 'CLIENT_SECRET')}`,
        },
        ctx.runtime(),
      );
      const store = new MemoryStore();
      const client = { id: clientId, secret: clientSecret };
      const source = { config: base, lookup: ctx.lookupProvider(cfg), client };
      const first = await throughFleet(ctx, cfg, async () => provider, source, call)();
      const session = await first.login({
        flow: 'client_credentials',
        openBrowser: false,
        scopes: [],
        interaction: silentInteraction,
        timeoutMs: DEFAULT_LOGIN_TIMEOUT_MS,
      });
      await store.write('machine', session);
      return { provider, store, client };
    })();
    machine.catch(() => machines.delete(key));
    machines.set(key, machine);
  }
  return machine;
}

/** The instance's reader of the token file at `path` (it re-reads only when the file changed). */
export function fileReader(
  ctx: InstanceContext,
  path: string,
  label: string,
): ReturnType<typeof tokenFileReader> {
  const read = outside(ctx).files.get(path) ?? tokenFileReader(path, label);
  outside(ctx).files.set(path, read);
  return read;
}

function outside(ctx: InstanceContext) {
  let found = outsideProfiles.get(ctx);
  if (!found) {
    found = { files: new Map(), machines: new Map() };
    outsideProfiles.set(ctx, found);
  }
  return found;
}
