/** The default control plane of a configured `exchange` or `assume_user` provider. */
import type { AssumeUserProviderConfig, ExchangeProviderConfig, ProviderConfig } from '../config/schema.js';
import type { ProviderRuntime } from '../providers/provider.js';
import type { ControlPlane } from './control-plane.js';

/** A provider configuration that names a control plane. */
export type ControlPlaneProviderConfig = ExchangeProviderConfig | AssumeUserProviderConfig;

/** True for the provider types that speak to a control plane. */
export function hasControlPlane(config: ProviderConfig): config is ControlPlaneProviderConfig {
  return config.type === 'exchange' || config.type === 'assume_user';
}

/** The wire protocol's control plane at the provider's `control_plane`, with its endpoint settings. */
export function controlPlaneFromConfig(
  config: ControlPlaneProviderConfig,
  runtime: ProviderRuntime,
): ControlPlane {
  const { control_plane, tenants_endpoint, token_endpoint, assume_user_endpoint, users_me_endpoint } = config;
  const { service_principals_endpoint } = config;
  // The client (and openid-client's error helpers under it) loads on the first call, not when
  // the instance is created: importing the library or reading a cached token must not pay for it.
  let client: Promise<ControlPlane> | undefined;
  const load = () =>
    (client ??= import('./http-control-plane.js').then(({ createHttpControlPlane }) =>
      createHttpControlPlane(
        {
          url: control_plane,
          ...(tenants_endpoint !== undefined ? { tenants_endpoint } : {}),
          ...(token_endpoint !== undefined ? { token_endpoint } : {}),
          ...(assume_user_endpoint !== undefined ? { assume_user_endpoint } : {}),
          ...(users_me_endpoint !== undefined ? { users_me_endpoint } : {}),
          ...(service_principals_endpoint !== undefined ? { service_principals_endpoint } : {}),
        },
        runtime,
      ),
    ));
  return {
    url: control_plane,
    listTenants: async (...args) => (await load()).listTenants(...args),
    exchange: async (...args) => (await load()).exchange(...args),
    assumeUser: async (...args) => (await load()).assumeUser(...args),
    whoami: async (...args) => (await load()).whoami(...args),
    createServicePrincipal: async (...args) => (await load()).createServicePrincipal(...args),
    listServicePrincipals: async (...args) => (await load()).listServicePrincipals(...args),
    deleteServicePrincipal: async (...args) => (await load()).deleteServicePrincipal(...args),
  };
}
