/**
 * `POST /cp/v1/token`: RFC 8693 token exchange of a login's token (dev-idp ID or access token,
 * or a Firebase emulator ID token) for a control-plane token of one tenant. No client
 * authentication: a `client_id`, if sent, is ignored.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BadRequestBody, readForm, sendBadBody, sendJson } from '../http.js';
import { type ControlPlaneContext, sendOAuthError } from './context.js';
import { grantedScope } from './mint.js';
import { verifySubjectToken } from './subject.js';
import { isMember, mayAdminister, tenantsOf } from './tenants.js';

/** RFC 8693's grant type. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const SINGLE = [
  'grant_type',
  'subject_token',
  'subject_token_type',
  'audience',
  'requested_token_type',
  'scope',
] as const;

/** Serves one exchange request; answers every failure as OAuth JSON with status 400. */
export async function handleExchange(
  context: ControlPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  let form: URLSearchParams;
  try {
    form = await readForm(req);
  } catch (error) {
    context.stats.controlPlane('exchanges');
    if (error instanceof BadRequestBody) return sendBadBody(res, error);
    throw error;
  }
  const audience = form.get('audience') ?? '';
  const known = context.tenants().some((tenant) => tenant.tenant_id === audience);
  context.stats.controlPlane('exchanges', known ? audience : 'unknown');

  const bad = (error: string, description: string) => sendOAuthError(res, 400, error, description);
  const duplicated = SINGLE.filter((name) => form.getAll(name).length > 1);
  if (duplicated.length > 0)
    return bad('invalid_request', `duplicate parameter(s): ${duplicated.join(', ')}`);
  const grantType = form.get('grant_type');
  if (!grantType) return bad('invalid_request', 'missing grant_type');
  if (grantType !== TOKEN_EXCHANGE_GRANT) {
    return bad('unsupported_grant_type', `this endpoint only does ${TOKEN_EXCHANGE_GRANT}`);
  }
  const missing = ['subject_token', 'subject_token_type', 'audience'].filter((name) => !form.get(name));
  if (missing.length > 0) return bad('invalid_request', `missing parameter(s): ${missing.join(', ')}`);
  const subjectType = form.get('subject_token_type');
  if (subjectType !== ID_TOKEN_TYPE && subjectType !== ACCESS_TOKEN_TYPE) {
    return bad('invalid_request', `subject_token_type must be ${ID_TOKEN_TYPE} or ${ACCESS_TOKEN_TYPE}`);
  }
  const requestedType = form.get('requested_token_type');
  if (requestedType !== null && requestedType !== ACCESS_TOKEN_TYPE) {
    return bad('invalid_request', `requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }

  const verified = await verifySubjectToken(context.verifier, form.get('subject_token') ?? '');
  if ('reason' in verified) return bad('invalid_grant', verified.reason);
  if (verified.type === 'control_plane') {
    return bad('invalid_grant', 'a control-plane token cannot be exchanged; exchange the login token');
  }
  const actualType = verified.type === 'id_token' ? ID_TOKEN_TYPE : ACCESS_TOKEN_TYPE;
  if (actualType !== subjectType) {
    return bad(
      'invalid_request',
      `subject_token_type says ${subjectType} but the token is a ${verified.type}`,
    );
  }

  const tenant = context.tenants().find((candidate) => candidate.tenant_id === audience);
  if (!tenant || !isMember(verified.subject, audience)) {
    const mine = tenantsOf(verified.subject, context.tenants()).map((t) => t.tenant_id);
    return bad(
      'invalid_target',
      `tenant ${audience.slice(0, 100)} not found or you are not a member; you belong to: ${mine.join(', ') || 'none'}`,
    );
  }
  const scope = grantedScope(form.get('scope') ?? undefined, mayAdminister(verified.subject, audience));
  if ('error' in scope) return bad('invalid_scope', scope.error);

  const { token } = await context.minter.mint({
    sub: verified.subject.sub,
    email: verified.subject.email,
    tenant_id: tenant.tenant_id,
    region: tenant.region,
    scope: scope.scope,
    kind: 'exchanged',
    ttl: context.ttl.controlPlane,
  });
  sendJson(res, 200, {
    access_token: token,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: context.ttl.controlPlane,
    scope: scope.scope,
    tenant: {
      tenant_id: tenant.tenant_id,
      tenant_name: tenant.tenant_name,
      region: tenant.region,
      server_url: tenant.server_url,
    },
  });
}
