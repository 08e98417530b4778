/**
 * Which tenant (DESIGN.md, Control planes), first that applies: `--tenant`/`tenant` option >
 * `<PREFIX>_TENANT` > the profile's tenant > the provider's `tenant` > the tenant marked
 * `default` > the only one > a choice when a person is there > `TENANT_REQUIRED` listing them.
 * A profile named explicitly keeps its own tenant over `<PREFIX>_TENANT`.
 *
 * And a tenant is never silently ignored: given to a provider without a control plane, it is
 * an error naming why.
 */

import type { ProviderConfig } from '../config/schema.js';
import type { ListedTenant } from '../control-plane/control-plane.js';
import { InvalidInput, TenantNotFound, TenantRequired } from '../errors.js';
import type { TokenPlace } from '../session.js';
import { safeText } from '../text.js';

/** A tenant asked for, and where it came from (`--tenant`, `KEYFOB_TENANT`, `profile work`…). */
export interface TenantRequest {
  id: string;
  source: string;
}

/** What decides the tenant above the control plane's own list. */
export interface TenantSources {
  /** `--tenant` or the `tenant` option. */
  option?: string | null;
  /** `<PREFIX>_TENANT`'s value and name. */
  env?: { name: string; value: string | undefined };
  /** The profile's tenant (state file, else config.yaml), and the profile's name. */
  profile?: { name: string; tenant: string | null; explicit: boolean };
  /** The provider's `tenant` setting, and the provider's name. */
  provider?: { name: string; tenant: string | undefined };
}

/**
 * The tenants asked for, highest first. With an explicitly named profile that carries a tenant,
 * `<PREFIX>_TENANT` is left out (it is hidden, and `explain` says so).
 */
export function tenantRequests(sources: TenantSources): TenantRequest[] {
  const out: TenantRequest[] = [];
  if (sources.option) out.push({ id: sources.option, source: '--tenant' });
  const own = sources.profile?.tenant ?? null;
  const envValue = sources.env?.value;
  if (envValue && sources.env && !(sources.profile?.explicit && own !== null)) {
    out.push({ id: envValue, source: sources.env.name });
  }
  if (own !== null && sources.profile) out.push({ id: own, source: `profile ${sources.profile.name}` });
  if (sources.provider?.tenant) {
    out.push({ id: sources.provider.tenant, source: `provider ${sources.provider.name}` });
  }
  return out;
}

/** Everything {@link pickTenant} needs. */
export interface PickTenantInput {
  requests: readonly TenantRequest[];
  /** The control plane's list, in its order. */
  tenants: readonly ListedTenant[];
  /** Asks the person; present only when a person is there. */
  choose?: (tenants: readonly ListedTenant[]) => Promise<string>;
  /** What to run to name one, for messages: `keyfob login --tenant ID`. */
  command: string;
}

/**
 * Picks the tenant from the list.
 * @throws TenantNotFound when the tenant asked for is not in the list ("you belong to: …").
 * @throws TenantRequired when nothing decides and nobody is there to choose.
 */
export async function pickTenant(input: PickTenantInput): Promise<{ tenant: ListedTenant; source: string }> {
  const { tenants } = input;
  const first = input.requests[0];
  if (first) {
    const found = tenants.find((t) => t.id === first.id);
    if (!found) throw tenantNotFound(first.id, tenants, first.source);
    return { tenant: found, source: first.source };
  }
  const marked = tenants.filter((t) => t.isDefault);
  if (marked.length === 1) return { tenant: marked[0] as ListedTenant, source: 'the default tenant' };
  if (tenants.length === 1) return { tenant: tenants[0] as ListedTenant, source: 'the only tenant' };
  if (tenants.length === 0) {
    throw new TenantRequired('you belong to no tenant at this control plane', {
      hint: 'ask an administrator to add you to one',
    });
  }
  if (input.choose) {
    const id = await input.choose(tenants);
    const chosen = tenants.find((t) => t.id === id);
    if (!chosen) throw tenantNotFound(id, tenants, 'your choice');
    return { tenant: chosen, source: 'your choice' };
  }
  throw new TenantRequired(
    `a tenant is required: you belong to ${describeTenants(tenants)} and nothing chooses one`,
    { hint: `run \`${input.command} --tenant ID\`` },
  );
}

/** "Tenant not found: ID; you belong to: a (Acme EU), b". */
export function tenantNotFound(
  id: string,
  tenants: readonly ListedTenant[] | null,
  source?: string,
): TenantNotFound {
  const belong = tenants === null ? '' : `; you belong to: ${describeTenants(tenants) || 'no tenant'}`;
  return new TenantNotFound(`Tenant not found: ${safeText(id, 80)}${belong}`, {
    ...(source ? { hint: `the tenant came from ${source}` } : {}),
  });
}

/** `acme-eu (Acme EU), acme-us (Acme US)`. */
export function describeTenants(tenants: readonly ListedTenant[]): string {
  return tenants.map((t) => (t.name ? `${t.id} (${t.name})` : t.id)).join(', ');
}

/**
 * The place a call's token belongs to: a control plane and tenant for a provider with one,
 * nothing for the others.
 * @throws InvalidInput when a tenant is given for a provider without a control plane.
 */
export function tokenPlace(
  config: ProviderConfig,
  tenant: string | null,
  source: string | null,
): TokenPlace | undefined {
  if (config.type === 'exchange') return { control_plane: config.control_plane, tenant };
  if (tenant !== null && config.type !== 'assume_user') {
    throw new InvalidInput(
      `${source ?? 'a tenant'} names tenant ${safeText(tenant, 80)}, but provider ${config.name} (type ${config.type}) has no control plane and so no tenants`,
      { hint: 'drop the tenant, or use a profile whose provider is of type exchange' },
    );
  }
  return undefined;
}
