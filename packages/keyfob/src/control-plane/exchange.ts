/** `POST /v1/token`, RFC 8693 (helper B implements). */
import { ControlPlaneError } from '../errors.js';
import type { ControlPlaneToken, ExchangeRequest } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';

export async function exchange(_ctx: EndpointContext, _request: ExchangeRequest): Promise<ControlPlaneToken> {
  throw new ControlPlaneError('token exchange is not implemented yet');
}
