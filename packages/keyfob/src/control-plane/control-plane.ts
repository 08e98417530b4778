/**
 * The `ControlPlane` interface: what keyfob asks of a vendor's control plane (DESIGN.md,
 * "Control planes"). The default implementation speaks the documented wire protocol
 * (`http-control-plane.ts`); an integrator whose control plane differs implements this interface
 * and hands it to `createKeyfob({ controlPlane })`.
 *
 * Methods take tokens as arguments and never store them; errors are keyfob's classes:
 * - `TenantNotFound` (exchange `invalid_target`, assume_user `tenant_not_found`),
 * - `SubjectTokenRefused` (exchange `invalid_grant`/`invalid_request`/`invalid_token` or 401:
 *   the caller renews its login once and retries),
 * - `AuthenticationRequired` (401 on the other endpoints: the caller re-exchanges once),
 * - `AdminKeyRefused` (assume_user 401: exit 2), `UserNotFound` (assume_user `user_not_found`),
 * - `PermissionDenied` (403), `NetworkError`, `ResponseTooLarge`, `ControlPlaneError` (anything
 *   else the protocol does not allow).
 */
import { AuthenticationRequired, type KeyfobErrorOptions } from '../errors.js';
import type { Tenant } from '../tenant.js';

/** RFC 8693 token type URIs keyfob sends as `subject_token_type`. */
export const TOKEN_TYPE_URIS = {
  id_token: 'urn:ietf:params:oauth:token-type:id_token',
  access_token: 'urn:ietf:params:oauth:token-type:access_token',
} as const;

/** A tenant as listed by the control plane, with its `default` marker. */
export interface ListedTenant extends Tenant {
  /** The control plane marks this tenant as the caller's default. */
  isDefault: boolean;
}

/** One exchange: the login's token for a tenant-scoped control-plane token. */
export interface ExchangeRequest {
  /** The login's ID token or access token. */
  subjectToken: string;
  subjectTokenType: keyof typeof TOKEN_TYPE_URIS;
  /** Sent as `audience`. */
  tenantId: string;
  /** Sent as `scope` when not empty. */
  scopes: readonly string[];
  signal?: AbortSignal;
}

/** A control-plane token with what the answer said about it. */
export interface ControlPlaneToken {
  accessToken: string;
  /** `Bearer` unless the answer says otherwise. */
  tokenType: string;
  /**
   * ISO 8601 UTC: from `expires_in` at the answer's arrival; else from the token's `exp` (read,
   * not verified), corrected by the answer's `Date` header; `null` when neither is known.
   */
  expiresAt: string | null;
  /** When the answer arrived (ISO 8601 UTC). */
  obtainedAt: string;
  /** The answer's `scope`, else the requested scopes. */
  scopes: string[];
  /** The answer's `tenant`, or `null` when it named none (the caller takes it from the list). */
  tenant: Tenant | null;
}

/** A service principal as listed (never its secret). */
export interface ServicePrincipal {
  clientId: string;
  name: string;
  description: string | null;
  tenantId: string;
  /** ISO 8601, as the control plane said it; `null` when absent. */
  createdAt: string | null;
}

/** The answer to a create: the only time the secret is seen. */
export interface CreatedServicePrincipal extends ServicePrincipal {
  clientSecret: string;
  /** Where the principal gets its tokens by client credentials. */
  tokenEndpoint: string;
  /** `client_secret_basic` unless the answer names another method. */
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
}

/** What every call may carry. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** A vendor's control plane. */
export interface ControlPlane {
  /** Where it is (the configured `control_plane`): what sessions are bound to. */
  readonly url: string;
  /** `GET /v1/tenants` with the login's (subject) token. */
  listTenants(subjectToken: string, options?: CallOptions): Promise<ListedTenant[]>;
  /** `POST /v1/token`: RFC 8693 token exchange. */
  exchange(request: ExchangeRequest): Promise<ControlPlaneToken>;
  /** `POST /v1/auth/assume_user` with `X-Admin-Api-Key`. */
  assumeUser(
    request: { adminApiKey: string; tenantId: string; userId: string },
    options?: CallOptions,
  ): Promise<ControlPlaneToken>;
  /** `GET /v1/users/me` with a control-plane token. */
  whoami(token: string, options?: CallOptions): Promise<Record<string, unknown>>;
  /** `POST /v1/service-principals` with a control-plane token. */
  createServicePrincipal(
    token: string,
    request: { name: string; description?: string },
    options?: CallOptions,
  ): Promise<CreatedServicePrincipal>;
  /** `GET /v1/service-principals` with a control-plane token. */
  listServicePrincipals(token: string, options?: CallOptions): Promise<ServicePrincipal[]>;
  /** `DELETE /v1/service-principals/{client_id}`; a `404` is `ControlPlaneError` with status 404. */
  deleteServicePrincipal(token: string, clientId: string, options?: CallOptions): Promise<void>;
}

/**
 * The control plane refused the subject token (exchange `invalid_grant`, `invalid_request`,
 * `invalid_token`, or a 401): the exchange provider renews its login once and retries, then
 * gives up with `AuthenticationRequired`. It is an `AuthenticationRequired` so that a caller
 * that does not retry still exits 2.
 */
export class SubjectTokenRefused extends AuthenticationRequired {}

/** assume_user answered 401: the admin API key is wrong or revoked (exit 2). */
export class AdminKeyRefused extends AuthenticationRequired {
  constructor(message: string, options?: KeyfobErrorOptions) {
    super(message, options);
  }
}
