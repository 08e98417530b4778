/** `/v1/service-principals` (helper C implements). */
import { ControlPlaneError } from '../errors.js';
import type { CallOptions, CreatedServicePrincipal, ServicePrincipal } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';

export async function createServicePrincipal(
  _ctx: EndpointContext,
  _token: string,
  _request: { name: string; description?: string },
  _call?: CallOptions,
): Promise<CreatedServicePrincipal> {
  throw new ControlPlaneError('service principals are not implemented yet');
}

export async function listServicePrincipals(
  _ctx: EndpointContext,
  _token: string,
  _call?: CallOptions,
): Promise<ServicePrincipal[]> {
  throw new ControlPlaneError('service principals are not implemented yet');
}

export async function deleteServicePrincipal(
  _ctx: EndpointContext,
  _token: string,
  _clientId: string,
  _call?: CallOptions,
): Promise<void> {
  throw new ControlPlaneError('service principals are not implemented yet');
}
