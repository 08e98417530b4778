/**
 * The `exchange` provider (DESIGN.md, Control planes): a login provider (oidc, oauth2, password,
 * firebase, client_credentials) composed with a {@link ControlPlane}. Login logs in with the
 * login provider, lists the tenants, picks one, exchanges; renewal exchanges again from the
 * login's token, renewing the login first when that token is not fresh (or was refused once),
 * and never asks a person anything.
 *
 * One session holds both: the login's refresh, ID and access tokens (kept as the login provider
 * made them), and the control-plane tokens, each keyed by control plane + tenant + resource +
 * scopes (`session.ts`), so another tenant's token never replaces this one's.
 */

import { decodeJwt } from 'jose';
import type { SubjectTokenKind } from '../config/schema.js';
import type { ControlPlane, ControlPlaneToken, ListedTenant } from '../control-plane/control-plane.js';
import { SubjectTokenRefused } from '../control-plane/control-plane.js';
import { AuthenticationRequired, TenantNotFound } from '../errors.js';
import { type CommandNames, commandLine } from '../instance/command-names.js';
import { pickTenant, tenantNotFound } from '../resolve/tenant.js';
import {
  type AccessToken,
  accessTokenKey,
  concretePlace,
  findAccessToken,
  isFreshEnough,
  type Session,
  type Tenant,
} from '../session.js';
import type {
  CredentialProvider,
  LoginRequest,
  ProviderRuntime,
  RevocationResult,
  TokenRequest,
} from './provider.js';
import { withRenewedSession } from './provider.js';

export interface ExchangeProviderOptions {
  name: string;
  /** The provider that logs in (its sessions are kept inside the exchange's). */
  login: CredentialProvider;
  controlPlane: ControlPlane;
  /** The configured `control_plane`: what its tokens are keyed by (an integrator's may differ). */
  controlPlaneUrl: string;
  /** Absent: the ID token when the login has one, else its access token. */
  subjectToken?: SubjectTokenKind;
  /** The provider's `tenant` setting: below `--tenant`, the variable and the profile's tenant. */
  tenant?: string;
  allowedOrigins: readonly string[];
  resource: string | null;
  cliName: string;
  /** The vendor's names of keyfob's commands, for messages. */
  commandNames?: CommandNames;
}

/** A provider whose tokens are scoped to tenants of a control plane. */
export interface TenantProvider extends CredentialProvider {
  readonly controlPlane: ControlPlane;
  /**
   * The tenants the session's login belongs to, renewing the login first when its token is not
   * fresh (or was refused once). `session` is the renewed session when it changed (store it).
   */
  listTenants(session: Session): Promise<{ tenants: ListedTenant[]; session: Session | null }>;
}

/** Whether a provider has tenants (an exchange). */
export function isTenantProvider(provider: CredentialProvider): provider is TenantProvider {
  return 'controlPlane' in provider && typeof (provider as TenantProvider).listTenants === 'function';
}

/** Creates an exchange provider. */
export function createExchangeProvider(
  options: ExchangeProviderOptions,
  runtime: ProviderRuntime,
): TenantProvider {
  const cp = options.controlPlane;
  const cpUrl = options.controlPlaneUrl;

  /** The login's token to exchange, and whether it is fresh enough to send. */
  function subjectOf(session: Session): { token: string; kind: SubjectTokenKind; fresh: boolean } | null {
    const kind = options.subjectToken ?? (session.id_token ? 'id_token' : 'access_token');
    if (kind === 'id_token') {
      if (!session.id_token) return null;
      return { token: session.id_token, kind, fresh: jwtFresh(session.id_token, runtime.now()) };
    }
    const own = findAccessToken(loginPart(session), options.login.defaultResource, []);
    if (!own) return null;
    return { token: own.token, kind, fresh: isFreshEnough(own, runtime.now()) };
  }

  /** The login renewed, the control-plane tokens kept as they were. */
  async function renewLogin(session: Session): Promise<Session> {
    runtime.log.debug('exchange: renewing the login', { provider: options.name });
    const renewed = await options.login.renew(loginPart(session), {
      resource: options.login.defaultResource,
      scopes: [],
    });
    const next = structuredClone(renewed);
    next.provider = options.name;
    next.tenant = session.tenant;
    for (const [key, token] of Object.entries(session.access_tokens)) {
      if (token.control_plane != null) next.access_tokens[key] = token;
    }
    return next;
  }

  /** A fresh subject token, renewing the login once when needed; `renewed` says whether it was. */
  async function freshSubject(session: Session, force: boolean) {
    let current = session;
    let subject = subjectOf(current);
    let renewed = false;
    if (force || !subject?.fresh) {
      current = await renewLogin(current);
      renewed = true;
      subject = subjectOf(current);
    }
    if (!subject) {
      throw new AuthenticationRequired(
        `the login of provider ${options.name} has no ${options.subjectToken ?? 'ID or access token'} to exchange`,
      );
    }
    return { session: current, subject, renewed };
  }

  /** The exchange, with one login renewal when the control plane refuses the login's token. */
  async function exchangeFor(
    session: Session,
    tenantId: string,
    scopes: readonly string[],
    mayRenew: boolean,
  ): Promise<{ session: Session; token: ControlPlaneToken }> {
    let { session: current, subject, renewed } = await freshSubject(session, false);
    const once = () =>
      cp.exchange({ subjectToken: subject.token, subjectTokenType: subject.kind, tenantId, scopes });
    // A login renewed on the way is stored even when the exchange then fails: its refresh token
    // may have rotated, and the old one is then spent.
    const failed = async (error: unknown) => {
      const mapped =
        error instanceof TenantNotFound ? await withTenantList(error, tenantId, subject.token) : error;
      return current === session ? mapped : withRenewedSession(mapped, current);
    };
    try {
      return { session: current, token: await once() };
    } catch (error) {
      if (!(error instanceof SubjectTokenRefused) || renewed || !mayRenew) throw await failed(error);
    }
    ({ session: current, subject, renewed } = await freshSubject(current, true));
    try {
      return { session: current, token: await once() };
    } catch (error) {
      throw await failed(error);
    }
  }

  /** "Tenant not found: X; you belong to: …" — the list asked for with the same token. */
  async function withTenantList(error: TenantNotFound, tenantId: string, subject: string): Promise<Error> {
    const tenants = await cp.listTenants(subject).catch(() => null);
    return tenants ? tenantNotFound(tenantId, tenants) : error;
  }

  /** The tenant's details: the answer's, else one already known, else the control plane's list. */
  async function tenantDetails(
    session: Session,
    token: ControlPlaneToken,
    tenantId: string,
  ): Promise<Tenant> {
    if (token.tenant) return token.tenant;
    if (session.tenant?.id === tenantId) return session.tenant;
    const known = Object.values(session.access_tokens).find((t) => t.tenant?.id === tenantId)?.tenant;
    if (known) return known;
    const subject = subjectOf(session);
    const listed = subject ? (await cp.listTenants(subject.token)).find((t) => t.id === tenantId) : undefined;
    if (!listed) throw tenantNotFound(tenantId, null);
    return plainTenant(listed);
  }

  function store(
    session: Session,
    token: ControlPlaneToken,
    tenant: Tenant,
    request: { resource: string | null; scopes: readonly string[] },
  ): Session {
    const resource = request.resource;
    const next = structuredClone(session);
    const record: AccessToken = {
      token: token.accessToken,
      token_type: token.tokenType,
      expires_at: token.expiresAt,
      obtained_at: token.obtainedAt,
      scopes: token.scopes,
      resource,
      control_plane: cpUrl,
      tenant,
    };
    // Keyed by what was asked for, as every provider keys its tokens, so the same request finds it.
    next.access_tokens[
      accessTokenKey(resource, request.scopes, { control_plane: cpUrl, tenant: tenant.id })
    ] = record;
    next.updated_at = runtime.now().toISOString();
    return next;
  }

  async function login(request: LoginRequest): Promise<Session> {
    const session = await options.login.login(request);
    session.provider = options.name;
    const subject = subjectOf(session);
    if (!subject) {
      throw new AuthenticationRequired(
        `the login of provider ${options.name} gave no ${options.subjectToken ?? 'ID or access token'} to exchange`,
      );
    }
    const tenants = await cp.listTenants(subject.token, request.signal ? { signal: request.signal } : {});
    const chooser = request.interaction.chooseTenant?.bind(request.interaction);
    const { tenant } = await pickTenant({
      requests: [
        ...(request.tenants ?? []),
        ...(options.tenant ? [{ id: options.tenant, source: `provider ${options.name}` }] : []),
      ],
      tenants,
      ...(chooser ? { choose: chooser } : {}),
      command: request.command ?? `${commandLine(options.cliName, options.commandNames, 'login')}`,
    });
    // The login was made just now: a refusal of its token is final (no renewal).
    const { token } = await exchangeFor(session, tenant.id, [], false);
    const details = token.tenant ?? plainTenant(tenant);
    const next = store(session, token, details, { resource: options.resource, scopes: [] });
    next.tenant = details;
    return next;
  }

  async function renew(session: Session, request: TokenRequest): Promise<Session> {
    const place = concretePlace(session, request.place ?? { control_plane: cpUrl, tenant: null });
    if (!place) {
      throw new AuthenticationRequired(`the session of provider ${options.name} has no tenant`);
    }
    const { session: current, token } = await exchangeFor(session, place.tenant, request.scopes, true);
    try {
      const tenant = await tenantDetails(current, token, place.tenant);
      return store(current, token, tenant, request);
    } catch (error) {
      throw current === session ? error : withRenewedSession(error, current);
    }
  }

  async function listTenants(
    session: Session,
  ): Promise<{ tenants: ListedTenant[]; session: Session | null }> {
    let { session: current, subject, renewed } = await freshSubject(session, false);
    const failed = (error: unknown) => (current === session ? error : withRenewedSession(error, current));
    try {
      return { tenants: await cp.listTenants(subject.token), session: renewed ? current : null };
    } catch (error) {
      if (!(error instanceof AuthenticationRequired) || renewed) throw failed(error);
    }
    ({ session: current, subject } = await freshSubject(current, true));
    try {
      return { tenants: await cp.listTenants(subject.token), session: current };
    } catch (error) {
      throw failed(error);
    }
  }

  return {
    name: options.name,
    type: 'exchange',
    loginFlows: options.login.loginFlows,
    allowedOrigins: options.allowedOrigins,
    defaultResource: options.resource,
    canReacquire: options.login.canReacquire,
    controlPlane: cp,
    login,
    renew,
    listTenants,
    revoke: (session): Promise<RevocationResult> => options.login.revoke(loginPart(session)),
    async userinfo(session, accessToken) {
      try {
        return { ...decodeJwt(accessToken) };
      } catch {
        const own = findAccessToken(loginPart(session), options.login.defaultResource, []);
        return options.login.userinfo(loginPart(session), own?.token ?? accessToken);
      }
    },
  };
}

/** The session as its login provider made it: without the control-plane tokens. */
function loginPart(session: Session): Session {
  const part = structuredClone(session);
  for (const [key, token] of Object.entries(part.access_tokens)) {
    if (token.control_plane != null) delete part.access_tokens[key];
  }
  return part;
}

function plainTenant(tenant: ListedTenant | Tenant): Tenant {
  return { id: tenant.id, name: tenant.name, region: tenant.region, server_url: tenant.server_url };
}

/** DESIGN.md's freshness rule for a JWT by its own `iat`/`exp` (read, not verified). */
function jwtFresh(token: string, now: Date): boolean {
  let claims: { exp?: unknown; iat?: unknown };
  try {
    claims = decodeJwt(token);
  } catch {
    return true;
  }
  if (typeof claims.exp !== 'number') return true;
  const expires = new Date(claims.exp * 1000).toISOString();
  const obtained = typeof claims.iat === 'number' ? new Date(claims.iat * 1000).toISOString() : expires;
  return isFreshEnough(
    { token, token_type: 'Bearer', expires_at: expires, obtained_at: obtained, scopes: [], resource: null },
    now,
  );
}
