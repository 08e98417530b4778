/**
 * `/v1/service-principals` with a control-plane token (DESIGN.md, Control planes): create
 * (`201` with the secret, the only time it is seen), list, delete (`204`; `404` unknown).
 * Every field of an answer is checked before it is used; the secret never appears in a message.
 */
import { ControlPlaneError, InsecureUrl } from '../errors.js';
import { isRecord } from '../shape.js';
import { safeText } from '../text.js';
import { checkSecureUrl } from '../url.js';
import type { CallOptions, CreatedServicePrincipal, ServicePrincipal } from './control-plane.js';
import type { EndpointContext } from './http-control-plane.js';
import { tokenRefusal } from './refusals.js';
import { type ControlPlaneAnswer, callControlPlane, controlPlaneUrl, unexpectedAnswer } from './request.js';

/** Client ids and secrets go into URLs and headers: printable ASCII without spaces, bounded. */
const CLIENT_ID = /^[\x21-\x7e]{1,200}$/;
const SECRET = /^[\x21-\x7e]{1,4096}$/;
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

function collectionUrl(ctx: EndpointContext): string {
  return controlPlaneUrl(ctx.options.url, '/v1/service-principals', ctx.options.service_principals_endpoint);
}

/** Creates a principal in the token's tenant; the answer holds its secret. */
export async function createServicePrincipal(
  ctx: EndpointContext,
  token: string,
  request: { name: string; description?: string },
  call?: CallOptions,
): Promise<CreatedServicePrincipal> {
  const url = collectionUrl(ctx);
  const action = `creating a service principal at ${url}`;
  const answer = await callControlPlane(ctx.runtime, {
    method: 'POST',
    url,
    bearer: token,
    json: { name: request.name, description: request.description ?? '' },
    action,
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  refuse(action, answer, [200, 201]);
  const body = isRecord(answer.body) ? answer.body : null;
  if (!body) throw unexpectedAnswer(action, answer, `HTTP ${answer.status} without a JSON object`);
  const listed = principalFields(body, (what) =>
    unexpectedAnswer(action, answer, `HTTP ${answer.status} whose ${what}`),
  );
  // Only the field's name is said: the value is the secret.
  if (typeof body.client_secret !== 'string' || !SECRET.test(body.client_secret)) {
    throw unexpectedAnswer(
      action,
      answer,
      `HTTP ${answer.status} whose "client_secret" is missing or not printable characters`,
    );
  }
  if (typeof body.token_endpoint !== 'string') {
    throw unexpectedAnswer(action, answer, `HTTP ${answer.status} without a "token_endpoint"`);
  }
  const endpoint = checkSecureUrl(body.token_endpoint);
  if (!endpoint.ok) {
    // Neither the URL nor the rule's words about it may carry the secret, should the server put it there.
    const hide = (text: string) => text.replaceAll(body.client_secret as string, '[the secret]');
    const words = `${action} failed: its token_endpoint ${safeText(hide(body.token_endpoint), 120)} ${hide(endpoint.message)}`;
    throw endpoint.problem === 'insecure'
      ? new InsecureUrl(words)
      : new ControlPlaneError(words, { status: answer.status });
  }
  const method = body.token_endpoint_auth_method ?? 'client_secret_basic';
  if (!(AUTH_METHODS as readonly unknown[]).includes(method)) {
    throw unexpectedAnswer(
      action,
      answer,
      `HTTP ${answer.status} whose "token_endpoint_auth_method" is neither ${AUTH_METHODS.join(' nor ')}`,
    );
  }
  return {
    ...listed,
    clientSecret: body.client_secret,
    tokenEndpoint: endpoint.url.href,
    tokenEndpointAuthMethod: method as CreatedServicePrincipal['tokenEndpointAuthMethod'],
  };
}

/** The principals of the token's tenant (never their secrets). */
export async function listServicePrincipals(
  ctx: EndpointContext,
  token: string,
  call?: CallOptions,
): Promise<ServicePrincipal[]> {
  const url = collectionUrl(ctx);
  const action = `listing service principals at ${url}`;
  const answer = await callControlPlane(ctx.runtime, {
    method: 'GET',
    url,
    bearer: token,
    action,
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  refuse(action, answer, [200]);
  const list = isRecord(answer.body) ? answer.body.service_principals : undefined;
  if (!Array.isArray(list)) {
    throw unexpectedAnswer(action, answer, 'HTTP 200 without a "service_principals" list');
  }
  return list.map((item, index) => {
    if (!isRecord(item))
      throw unexpectedAnswer(action, answer, `HTTP 200 whose item ${index} is not an object`);
    return principalFields(item, (what) =>
      unexpectedAnswer(action, answer, `HTTP 200 whose item ${index}'s ${what}`),
    );
  });
}

/** Deletes a principal; a `404` is a {@link ControlPlaneError} with status 404 naming it. */
export async function deleteServicePrincipal(
  ctx: EndpointContext,
  token: string,
  clientId: string,
  call?: CallOptions,
): Promise<void> {
  const url = `${collectionUrl(ctx)}/${encodeURIComponent(clientId)}`;
  const action = `deleting service principal ${safeText(clientId, 100)} at ${collectionUrl(ctx)}`;
  const answer = await callControlPlane(ctx.runtime, {
    method: 'DELETE',
    url,
    bearer: token,
    action,
    ...(call?.signal ? { signal: call.signal } : {}),
  });
  if (answer.status === 404) {
    throw new ControlPlaneError(
      `Service principal not found: ${safeText(clientId, 100)} is not a service principal of this tenant (HTTP 404)`,
      { status: 404 },
    );
  }
  refuse(action, answer, [200, 204]);
}

/** Throws for a 401/403 (see `refusals.ts`) or a status not in `ok`. */
function refuse(action: string, answer: ControlPlaneAnswer, ok: readonly number[]): void {
  const refusal = tokenRefusal(action, answer);
  if (refusal) throw refusal;
  if (!ok.includes(answer.status)) throw unexpectedAnswer(action, answer);
}

/** The listed fields of a principal, each checked; `fail(what)` makes the error. */
function principalFields(
  body: Record<string, unknown>,
  fail: (what: string) => ControlPlaneError,
): ServicePrincipal {
  if (typeof body.client_id !== 'string' || !CLIENT_ID.test(body.client_id)) {
    throw fail('"client_id" is missing or not printable characters');
  }
  if (typeof body.name !== 'string') throw fail('"name" is not a string');
  if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') {
    throw fail('"description" is not a string');
  }
  if (typeof body.tenant_id !== 'string' || !CLIENT_ID.test(body.tenant_id)) {
    throw fail('"tenant_id" is missing or not printable characters');
  }
  if (body.created_at !== undefined && body.created_at !== null && typeof body.created_at !== 'string') {
    throw fail('"created_at" is not a string');
  }
  return {
    clientId: body.client_id,
    name: safeText(body.name, 200),
    description: typeof body.description === 'string' ? safeText(body.description, 1000) : null,
    tenantId: body.tenant_id,
    createdAt: typeof body.created_at === 'string' ? safeText(body.created_at, 64) : null,
  };
}
