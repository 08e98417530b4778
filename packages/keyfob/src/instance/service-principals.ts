/**
 * `kf.servicePrincipals` / `keyfob service-principal`: create, list and delete machine
 * identities at the profile's control plane, with its control-plane token. A created
 * principal's secret is returned once, or with `saveProfile` only stored: a machine profile (not
 * made active) whose token comes by client credentials at the answer's `token_endpoint`.
 */

import type { KeyfobConfig } from '../config/schema.js';
import type { KeyfobState } from '../config/state.js';
import { NAME_PATTERN } from '../config/validate.js';
import { assumeUserCommand } from '../control-plane/commands.js';
import type { CreatedServicePrincipal, ServicePrincipal } from '../control-plane/control-plane.js';
import { AuthenticationRequired, ControlPlaneError, InvalidInput } from '../errors.js';
import { bindingOf } from '../lifecycle/binding.js';
import { newSession, type SessionBinding, type Tenant } from '../session.js';
import type { InstanceContext } from './context.js';
import { type ControlPlaneTarget, controlPlaneTarget, withControlPlaneToken } from './control-plane.js';
import { persistSession } from './persist.js';
import { callExplicit, type TokenMemo } from './token.js';
import type {
  CreateServicePrincipalOptions,
  CreateServicePrincipalResult,
  ServicePrincipalCallOptions,
} from './types.js';

export async function createServicePrincipal(
  ctx: InstanceContext,
  memo: TokenMemo,
  opts: CreateServicePrincipalOptions,
): Promise<CreateServicePrincipalResult> {
  if (typeof opts.name !== 'string' || opts.name.trim() === '' || opts.name.length > 200) {
    throw new InvalidInput('a service principal needs a name of 1 to 200 characters');
  }
  if (
    opts.description !== undefined &&
    (typeof opts.description !== 'string' || opts.description.length > 1000)
  ) {
    throw new InvalidInput('the description must be at most 1000 characters');
  }
  const target = await requireTarget(ctx, opts);
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const save = opts.saveProfile;
  if (save !== undefined) {
    if (!NAME_PATTERN.test(save)) {
      throw new InvalidInput(
        `profile names match [A-Za-z0-9._-]{1,64}; ${JSON.stringify(save.slice(0, 80))} does not`,
      );
    }
    const known = await ctx.knownProfiles(cfg, st);
    // Checked before anything is created: a principal whose secret has nowhere to go is lost.
    if (known.includes(save) || ctx.memoryBindings.has(save)) {
      throw new InvalidInput(`profile ${save} already exists; choose another name for --save-profile`, {
        hint: `or remove it first with \`${ctx.command('logout')} --profile ${save}\``,
      });
    }
  }
  const creating = target.profile ? ctx.binding(cfg, st, target.profile).tenant : null;
  const { value } = await withControlPlaneToken(ctx, memo, opts, target, async (cp, token) => {
    const made = await cp.createServicePrincipal(token, {
      name: opts.name,
      ...(opts.description !== undefined ? { description: opts.description } : {}),
    });
    // A saved principal's relative URLs go to its tenant's regional server. An assume_user
    // session knows its tenant only by id: the tenant list (with the same token) names the
    // server. Best effort: without it, `fetch` asks for an absolute URL.
    let listed: Tenant | null = null;
    if (save !== undefined && !(creating?.id === made.tenantId && creating.server_url)) {
      listed = (await cp.listTenants(token).catch(() => [])).find((t) => t.id === made.tenantId) ?? null;
    }
    return { created: made, listed };
  });
  const { created, listed } = value;
  const { clientSecret, ...principal } = created;
  if (save === undefined)
    return { servicePrincipal: principal, clientSecret, savedProfile: null, notices: [] };

  const session = newSession(target.providerConfig.name, 'client_credentials', ctx.now());
  session.subject = created.clientId;
  session.tenant = listed
    ? { id: listed.id, name: listed.name, region: listed.region, server_url: listed.server_url }
    : tenantOf(created, creating);
  session.client_secret = clientSecret;
  // Its own id beside the secret: a vendor's INI section then holds `client_id` and `client_secret`.
  session.client_id = created.clientId;
  session.service_principal = {
    client_id: created.clientId,
    token_endpoint: created.tokenEndpoint,
    token_endpoint_auth_method: created.tokenEndpointAuthMethod,
  };
  // Bound where the creating session is (checked against the configuration before the create).
  const boundTo = (await creatingBinding(ctx, cfg, st, target)) ?? bindingOf(target.providerConfig);
  if (boundTo) session.bound_to = boundTo;
  try {
    const persisted = await persistSession(
      ctx,
      cfg,
      ctx.binding(cfg, st, save),
      save,
      target.providerConfig.name,
      session,
      { persist: opts.persist !== false, makeActive: false, personPresent: opts.personPresent === true },
    );
    return {
      servicePrincipal: principal,
      clientSecret: null,
      savedProfile: save,
      notices: persisted.notices,
    };
  } catch (error) {
    // The secret is gone with this process: say which principal to delete.
    ctx.log.warn(
      `service principal ${created.clientId} was created but could not be saved as profile ${save}; delete it with \`${ctx.command('service-principal')} delete ${created.clientId}\``,
    );
    throw error;
  }
}

export async function listServicePrincipals(
  ctx: InstanceContext,
  memo: TokenMemo,
  opts: ServicePrincipalCallOptions,
): Promise<ServicePrincipal[]> {
  const target = await requireTarget(ctx, opts);
  return (
    await withControlPlaneToken(ctx, memo, opts, target, (cp, token) => cp.listServicePrincipals(token))
  ).value;
}

export async function deleteServicePrincipal(
  ctx: InstanceContext,
  memo: TokenMemo,
  clientId: string,
  opts: ServicePrincipalCallOptions,
): Promise<void> {
  if (typeof clientId !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(clientId)) {
    throw new InvalidInput('a client id is 1 to 200 printable characters without spaces');
  }
  const target = await requireTarget(ctx, opts);
  try {
    await withControlPlaneToken(ctx, memo, opts, target, (cp, token) =>
      cp.deleteServicePrincipal(token, clientId),
    );
  } catch (error) {
    if (!(error instanceof ControlPlaneError) || error.status !== 404 || error.hint) throw error;
    throw new ControlPlaneError(error.message, {
      status: 404,
      hint: `\`${ctx.command('service-principal')} list\` lists them`,
    });
  }
}

async function requireTarget(
  ctx: InstanceContext,
  opts: ServicePrincipalCallOptions,
): Promise<ControlPlaneTarget> {
  const target = await controlPlaneTarget(ctx, opts);
  if (target) return target;
  // A profile nobody has logged in to yet has no provider to tell: it needs a login, not
  // another kind of profile (as `getToken` says for it).
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const { resolved } = ctx.resolve(callExplicit(opts), cfg, st);
  if (
    resolved.kind === 'profile' &&
    !ctx.binding(cfg, st, resolved.profile).provider &&
    !(await ctx.credentialsFile?.store.read(resolved.profile))
  ) {
    throw new AuthenticationRequired(`not logged in (profile ${resolved.profile})`, {
      hint: `run \`${ctx.loginCommand(resolved.profile, opts.profile !== undefined)}\``,
    });
  }
  throw new InvalidInput(
    'service principals are managed at a control plane: use a profile of an exchange or assume_user provider',
    { hint: `e.g. \`${assumeUserCommand(ctx.command('assume-user'))}\` first, or --profile P` },
  );
}

/** The principal's tenant, with the creating session's details when it is the same tenant. */
function tenantOf(created: CreatedServicePrincipal, creating: Tenant | null): Tenant {
  if (creating && creating.id === created.tenantId) return { ...creating };
  return { id: created.tenantId, name: null, region: null, server_url: null };
}

/** The creating profile's stored binding, when it has one. */
async function creatingBinding(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  st: KeyfobState,
  target: ControlPlaneTarget,
): Promise<SessionBinding | null> {
  if (!target.profile) return null;
  const binding = ctx.binding(cfg, st, target.profile);
  const session = await ctx.openStore(binding.store ?? ctx.configuredStore(cfg).kind).read(target.profile);
  return session?.bound_to ? { ...session.bound_to } : null;
}
