/** `GET /v1/tenants` (helper B implements). */
import { ControlPlaneError } from '../errors.js';
import type { CallOptions, ListedTenant } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';

export async function listTenants(
  _ctx: EndpointContext,
  _subjectToken: string,
  _call?: CallOptions,
): Promise<ListedTenant[]> {
  throw new ControlPlaneError('listing tenants is not implemented yet');
}
