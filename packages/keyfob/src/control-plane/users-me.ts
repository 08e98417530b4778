/** `GET /v1/users/me` (helper C implements). */
import { ControlPlaneError } from '../errors.js';
import type { CallOptions } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';

export async function whoami(
  _ctx: EndpointContext,
  _token: string,
  _call?: CallOptions,
): Promise<Record<string, unknown>> {
  throw new ControlPlaneError('users/me is not implemented yet');
}
