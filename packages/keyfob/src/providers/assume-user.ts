/**
 * The `assume_user` provider (DESIGN.md, Control planes): an admin API key buys a short-lived
 * control-plane token of one user in one tenant. The session keeps the tenant, the user and the
 * key (only in the store), so an expired token is assumed again with no prompt, even once the
 * environment variable the key first came from is unset. It has no login flow of its own:
 * `assume-user` (`kf.assumeUser`) starts its sessions.
 */

import type { AssumeUserProviderConfig } from '../config/schema.js';
import { assumeUserCommand } from '../control-plane/commands.js';
import { AdminKeyRefused, type ControlPlane } from '../control-plane/control-plane.js';
import { controlPlaneFromConfig } from '../control-plane/from-config.js';
import { AuthenticationRequired, CredentialRefused, InsufficientScope, InvalidInput } from '../errors.js';
import { type CommandNames, commandLine } from '../instance/command-names.js';
import { accessTokenKey, newSession, parseScopes, type Session } from '../session.js';
import { safeText } from '../text.js';
import type { CredentialProvider, ProviderRuntime, RevocationResult, TokenRequest } from './provider.js';

export interface AssumeUserProviderOptions {
  name: string;
  controlPlane: ControlPlane;
  resource: string | null;
  allowedOrigins: readonly string[];
  /** How people run the auth commands, for messages. */
  cliName: string;
  /** The vendor's names of keyfob's commands, for messages. */
  commandNames?: CommandNames;
}

/** What one assume_user asks for. */
export interface AssumeRequest {
  adminApiKey: string;
  tenantId: string;
  userId: string;
}

export { assumeUserCommand } from '../control-plane/commands.js';

/**
 * A new session holding the token assumed for `request`, kept under `resource` (and the key,
 * the tenant and the user, to assume again).
 */
export async function assumedSession(
  options: Pick<AssumeUserProviderOptions, 'name' | 'controlPlane' | 'resource'>,
  request: AssumeRequest,
  runtime: ProviderRuntime,
  signal?: AbortSignal,
): Promise<Session> {
  const token = await options.controlPlane.assumeUser(request, signal ? { signal } : {});
  const session = newSession(options.name, 'assume_user', runtime.now());
  session.subject = request.userId;
  session.tenant = { id: request.tenantId, name: null, region: null, server_url: null };
  session.admin_api_key = request.adminApiKey;
  session.access_tokens[accessTokenKey(options.resource, [])] = {
    token: token.accessToken,
    token_type: token.tokenType,
    expires_at: token.expiresAt,
    obtained_at: token.obtainedAt,
    scopes: token.scopes,
    resource: options.resource,
    // The token is one tenant's: `token --json` says which (its server is api_base, so it is
    // kept outside the per-tenant keys of exchanges).
    tenant: { ...session.tenant },
  };
  return session;
}

/**
 * The provider a configuration describes, speaking to `controlPlane` (an integrator's own), else
 * the wire protocol's control plane at its `control_plane`.
 */
export function assumeUserProviderFromConfig(
  config: AssumeUserProviderConfig,
  runtime: ProviderRuntime,
  names: { cliName: string; commandNames?: CommandNames },
  controlPlane?: ControlPlane,
): CredentialProvider {
  return createAssumeUserProvider(
    {
      name: config.name,
      controlPlane: controlPlane ?? controlPlaneFromConfig(config, runtime),
      resource: config.resource ?? null,
      allowedOrigins: config.allowed_origins,
      cliName: names.cliName,
      ...(names.commandNames ? { commandNames: names.commandNames } : {}),
    },
    runtime,
  );
}

/** Creates the provider. */
export function createAssumeUserProvider(
  options: AssumeUserProviderOptions,
  runtime: ProviderRuntime,
): CredentialProvider {
  return {
    name: options.name,
    type: 'assume_user',
    loginFlows: [],
    allowedOrigins: options.allowedOrigins,
    defaultResource: options.resource,
    // With the key in the store, a token is assumed again without a person.
    canReacquire: true,
    async login() {
      throw new InvalidInput(
        `provider ${options.name} is assume_user: it has no login; run \`${assumeUserCommand(commandLine(options.cliName, options.commandNames, 'assume-user'))}\``,
      );
    },
    async renew(session: Session, request: TokenRequest): Promise<Session> {
      const tenantId = session.tenant?.id;
      const userId = session.subject;
      if (!session.admin_api_key || !tenantId || !userId) {
        throw new AuthenticationRequired(
          'this profile holds no admin API key, tenant and user to assume again',
          {
            hint: `run \`${assumeUserCommand(commandLine(options.cliName, options.commandNames, 'assume-user'))}\``,
          },
        );
      }
      let fresh: Session;
      try {
        fresh = await assumedSession(
          { ...options, resource: request.resource },
          { adminApiKey: session.admin_api_key, tenantId, userId },
          runtime,
        );
      } catch (error) {
        if (!(error instanceof AdminKeyRefused)) throw error;
        throw new CredentialRefused(
          `the stored admin API key was refused when assuming user ${safeText(userId, 100)} in tenant ${safeText(tenantId, 100)} again (${error.message.replace(/^.*?\((.*)\).*$/, '$1')})`,
          {
            hint: `pipe the current key: \`printenv ADMIN_API_KEY | ${assumeUserCommand(commandLine(options.cliName, options.commandNames, 'assume-user'), tenantId, userId)} --admin-key-stdin\``,
          },
        );
      }
      const token = Object.values(fresh.access_tokens)[0];
      const wanted = parseScopes(request.scopes);
      const missing = wanted.filter((scope) => !token?.scopes.includes(scope));
      if (missing.length > 0) {
        throw new InsufficientScope(
          `the token assumed for user ${safeText(userId, 100)} does not carry ${missing.join(' ')}; assume_user cannot ask for scopes`,
          missing,
        );
      }
      const next = structuredClone(session);
      if (token) next.access_tokens[accessTokenKey(request.resource, wanted)] = token;
      next.updated_at = fresh.updated_at;
      return next;
    },
    async revoke(): Promise<RevocationResult> {
      return {
        revoked: false,
        detail:
          'an assumed token cannot be revoked; it expires on its own (the stored admin API key is removed)',
      };
    },
    async userinfo(_session, accessToken) {
      return options.controlPlane.whoami(accessToken);
    },
  };
}
