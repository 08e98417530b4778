/** `POST /v1/auth/assume_user` (helper C implements). */
import { ControlPlaneError } from '../errors.js';
import type { CallOptions, ControlPlaneToken } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';

export async function assumeUser(
  _ctx: EndpointContext,
  _request: { adminApiKey: string; tenantId: string; userId: string },
  _call?: CallOptions,
): Promise<ControlPlaneToken> {
  throw new ControlPlaneError('assume_user is not implemented yet');
}
