/**
 * The default {@link ControlPlane}: DESIGN.md's wire protocol over the instance's guarded fetch.
 * Each endpoint lives in its own module; this file only composes them.
 */
import type { ControlPlaneEndpoints } from '../config/schema.js';
import type { ProviderRuntime } from '../providers/provider.js';
import { assumeUser } from './assume-user.js';
import type { ControlPlane } from './control-plane.js';
import { exchange } from './exchange.js';
import {
  createServicePrincipal,
  deleteServicePrincipal,
  listServicePrincipals,
} from './service-principals.js';
import { listTenants } from './tenants.js';
import { whoami } from './users-me.js';

/** Where the control plane is and which endpoint settings replace its paths. */
export interface HttpControlPlaneOptions extends ControlPlaneEndpoints {
  /** The configured `control_plane` base URL. */
  url: string;
}

/** What every endpoint module receives. */
export interface EndpointContext {
  options: HttpControlPlaneOptions;
  runtime: ProviderRuntime;
}

/** The wire protocol's control plane at `options.url`. */
export function createHttpControlPlane(
  options: HttpControlPlaneOptions,
  runtime: ProviderRuntime,
): ControlPlane {
  const ctx: EndpointContext = { options, runtime };
  return {
    url: options.url,
    listTenants: (subjectToken, call) => listTenants(ctx, subjectToken, call),
    exchange: (request) => exchange(ctx, request),
    assumeUser: (request, call) => assumeUser(ctx, request, call),
    whoami: (token, call) => whoami(ctx, token, call),
    createServicePrincipal: (token, request, call) => createServicePrincipal(ctx, token, request, call),
    listServicePrincipals: (token, call) => listServicePrincipals(ctx, token, call),
    deleteServicePrincipal: (token, clientId, call) => deleteServicePrincipal(ctx, token, clientId, call),
  };
}
