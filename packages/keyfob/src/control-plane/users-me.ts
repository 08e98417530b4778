/**
 * `GET /v1/users/me` with a control-plane token: `{"id","email","tenant_id",…}`. The answer is
 * the control plane's text: callers print it through their sanitizing output.
 */
import { isRecord } from '../shape.js';
import type { CallOptions } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';
import { tokenRefusal } from './refusals.js';
import { callControlPlane, controlPlaneUrl, unexpectedAnswer } from './request.js';

/** Who the token stands for, as the control plane says. */
export async function whoami(
  ctx: EndpointContext,
  token: string,
  call?: CallOptions,
): Promise<Record<string, unknown>> {
  const url = controlPlaneUrl(ctx.options.url, '/v1/users/me', ctx.options.users_me_endpoint);
  const action = `users/me at ${url}`;
  const answer = await callControlPlane(ctx.runtime, {
    method: 'GET',
    url,
    bearer: token,
    action,
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  const refusal = tokenRefusal(action, answer);
  if (refusal) throw refusal;
  if (answer.status !== 200) throw unexpectedAnswer(action, answer);
  const body = answer.body;
  if (!isRecord(body)) throw unexpectedAnswer(action, answer, 'HTTP 200 without a JSON object');
  if (typeof body.id !== 'string' || body.id === '') {
    throw unexpectedAnswer(action, answer, 'HTTP 200 without a string "id"');
  }
  for (const key of ['email', 'tenant_id'] as const) {
    if (body[key] !== undefined && body[key] !== null && typeof body[key] !== 'string') {
      throw unexpectedAnswer(action, answer, `HTTP 200 whose "${key}" is not a string`);
    }
  }
  return { ...body };
}
