/**
 * Sessions of saved service principals (`service-principal create --save-profile P`). Such a
 * profile belongs to the control-plane provider that created it, but gets its tokens by client
 * credentials at the token endpoint the create answer named, with the secret stored beside that
 * endpoint in the session: the secret goes nowhere else, whatever the configuration says.
 */

import type { ProviderConfig } from '../config/schema.js';
import { hasControlPlane } from '../control-plane/from-config.js';
import { CredentialRefused } from '../errors.js';
import type { CommandOf } from '../instance/command-names.js';
import { accessTokenKey, concretePlace, type Session } from '../session.js';
import { safeText } from '../text.js';
import { createClientCredentialsProvider } from './client-credentials.js';
import type { CredentialProvider, ProviderRuntime, RevocationResult, TokenRequest } from './provider.js';

/**
 * `inner`, except that, for a provider with a control plane (whose profiles include the
 * principals saved from it), a session holding a service principal is renewed, revoked and
 * described as that principal.
 */
export function withServicePrincipalSessions(
  inner: CredentialProvider,
  config: ProviderConfig,
  runtime: ProviderRuntime,
  command: CommandOf,
): CredentialProvider {
  if (!hasControlPlane(config)) return inner;
  return {
    ...inner,
    renew: (session, request) =>
      session.service_principal
        ? renewPrincipal(inner, session, request, runtime, command)
        : inner.renew(session, request),
    async revoke(session): Promise<RevocationResult> {
      if (!session.service_principal) return inner.revoke(session);
      return {
        revoked: false,
        detail: `a service principal has no refresh token; delete it with \`${command('service-principal')} delete ${safeText(session.service_principal.client_id, 100)}\``,
      };
    },
    async userinfo(session, accessToken) {
      if (!session.service_principal) return inner.userinfo(session, accessToken);
      return { sub: session.service_principal.client_id, tenant_id: session.tenant?.id ?? null };
    },
  };
}

async function renewPrincipal(
  inner: CredentialProvider,
  session: Session,
  request: TokenRequest,
  runtime: ProviderRuntime,
  command: CommandOf,
): Promise<Session> {
  const principal = session.service_principal;
  if (!principal) throw new Error('not a service principal session');
  const id = safeText(principal.client_id, 100);
  const machine = createClientCredentialsProvider(
    {
      name: inner.name,
      server: { kind: 'manual', issuer: null, token_endpoint: principal.token_endpoint },
      clientId: principal.client_id,
      clientSecret: null,
      method: principal.token_endpoint_auth_method,
      scopes: [],
      resource: null,
      allowedOrigins: inner.allowedOrigins,
      missingSecretHint: `create another with \`${command('service-principal')} create --name N --save-profile P\``,
    },
    runtime,
  );
  try {
    const next = await machine.renew(session, { resource: request.resource, scopes: request.scopes });
    // A principal saved from an exchange profile is asked for its tenant's token: keep it under
    // the per-tenant key the lifecycle looks it up by.
    // The principal's token is its tenant's: `fetch` takes relative URLs under that tenant's
    // server_url, and a principal saved from an exchange profile is asked for it by that key.
    const place = concretePlace(next, request.place);
    const plain = accessTokenKey(request.resource, request.scopes);
    const token = next.access_tokens[plain];
    if (token && next.tenant) {
      const tenanted = { ...token, tenant: { ...next.tenant } };
      if (place) {
        delete next.access_tokens[plain];
        next.access_tokens[accessTokenKey(request.resource, request.scopes, place)] = {
          ...tenanted,
          control_plane: place.control_plane,
        };
      } else {
        next.access_tokens[plain] = tenanted;
      }
    }
    return next;
  } catch (error) {
    if (error instanceof CredentialRefused) {
      throw new CredentialRefused(
        `service principal ${id} was refused at ${principal.token_endpoint} (invalid_client): it was deleted or its secret revoked`,
        {
          hint: `create another with \`${command('service-principal')} create --name N --save-profile P\``,
          cause: error,
        },
      );
    }
    throw error;
  }
}
