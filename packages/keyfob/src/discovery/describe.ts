/**
 * `providers`: every configured provider with its type, issuer, the flows it supports and
 * whether a credential is stored for it. Flows come from the issuer's discovery document where
 * there is one (what the server offers, narrowed by what the configuration allows); an
 * unreachable issuer is reported on its provider's line and never fails the others.
 *
 * This module imports oauth4webapi (through discovery): load it lazily.
 */
import type { KeyfobConfig, ProviderConfig, ProviderType } from '../config/schema.js';
import { isKeyfobError } from '../errors.js';
import { discoverIssuer, type IssuerMetadata } from './metadata.js';

/** A way to obtain a credential from a provider. */
export type ProviderFlow =
  | 'browser'
  | 'device'
  | 'client_credentials'
  | 'password'
  | 'token_exchange'
  | 'assume_user'
  | 'static';

/** One provider as `providers` lists it: its type, flows, place and whether a credential is stored. */
export interface ProviderDescription {
  name: string;
  type: ProviderType;
  /** The configured issuer, or `null` for providers configured without one. */
  issuer: string | null;
  /** Whether this is `default_provider`. */
  default: boolean;
  /** What the provider offers; see {@link flows_source}. */
  flows: ProviderFlow[];
  /** `discovery`: confirmed by the issuer; `config`: as configured (no issuer, or unreachable). */
  flows_source: 'discovery' | 'config';
  /** Whether the issuer's discovery document could be read; `null` when there is none to read. */
  reachable: boolean | null;
  /** Why it could not be read; `null` otherwise. */
  error: string | null;
  /** Whether some profile bound to this provider has a stored session. */
  credential_stored: boolean;
}

/** What `describeProviders` reads the configuration and stores with (the `providers` command). */
export interface DescribeOptions {
  /** The instance's fetch (`kf.http`). */
  fetch: typeof globalThis.fetch;
  /** Names of providers with a stored credential. */
  stored: ReadonlySet<string>;
  /** Per-issuer discovery timeout; 5 s by default, so one dead issuer does not stall the list. */
  timeoutMs?: number;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Describes every configured provider, in name order; discovery runs for all in parallel. */
export async function describeProviders(
  config: KeyfobConfig,
  options: DescribeOptions,
): Promise<ProviderDescription[]> {
  const names = Object.keys(config.providers).sort();
  return Promise.all(
    names.map((name) => describeOne(config.providers[name] as ProviderConfig, config, options)),
  );
}

async function describeOne(
  provider: ProviderConfig,
  config: KeyfobConfig,
  options: DescribeOptions,
): Promise<ProviderDescription> {
  const issuer = 'issuer' in provider && provider.issuer ? provider.issuer : null;
  const base = {
    name: provider.name,
    type: provider.type,
    issuer,
    default: config.default_provider === provider.name,
    credential_stored: options.stored.has(provider.name),
  };
  const configured = configuredFlows(provider);
  // oauth2 endpoints are given by hand: its issuer (if any) is only compared, never discovered.
  if (!issuer || provider.type === 'oauth2') {
    return { ...base, flows: configured, flows_source: 'config', reachable: null, error: null };
  }
  try {
    const metadata = await discoverIssuer(issuer, {
      fetch: options.fetch,
      timeoutMs: options.timeoutMs ?? 5000,
    });
    return {
      ...base,
      flows: configured.filter((flow) => offers(metadata, flow, provider)),
      flows_source: 'discovery',
      reachable: true,
      error: null,
    };
  } catch (error) {
    const message = isKeyfobError(error) ? error.message : `discovering ${issuer} failed`;
    return { ...base, flows: configured, flows_source: 'config', reachable: false, error: message };
  }
}

/** The flows a provider's configuration allows, before the server is asked. */
function configuredFlows(provider: ProviderConfig): ProviderFlow[] {
  switch (provider.type) {
    case 'oidc':
      return provider.flows ? [...provider.flows] : ['browser', 'device'];
    case 'oauth2':
      return provider.flows
        ? [...provider.flows]
        : [
            ...(provider.authorization_endpoint ? (['browser'] as const) : []),
            ...(provider.device_authorization_endpoint ? (['device'] as const) : []),
          ];
    case 'client_credentials':
      return ['client_credentials'];
    case 'password':
    case 'firebase':
      return ['password'];
    case 'exchange':
      return ['token_exchange'];
    case 'assume_user':
      return ['assume_user'];
    case 'static':
      return ['static'];
  }
}

/**
 * Whether the issuer's metadata offers a flow. RFC 8414 says a missing `grant_types_supported`
 * means only authorization code and implicit, but many servers simply leave it out: a grant
 * counts as offered unless the list exists and lacks it.
 */
function offers(metadata: IssuerMetadata, flow: ProviderFlow, provider: ProviderConfig): boolean {
  const doc = metadata.document;
  const grants = doc.grant_types_supported;
  const granted = (grant: string) => grants === undefined || grants.includes(grant);
  switch (flow) {
    case 'browser':
      return Boolean(doc.authorization_endpoint) && granted('authorization_code');
    case 'device': {
      const manual = provider.type === 'oidc' ? provider.device_authorization_endpoint : undefined;
      return Boolean(doc.device_authorization_endpoint ?? manual) && granted(DEVICE_GRANT);
    }
    case 'client_credentials':
      return granted('client_credentials');
    case 'password':
      return granted('password');
    case 'token_exchange':
      return granted(EXCHANGE_GRANT);
    default:
      return true;
  }
}
