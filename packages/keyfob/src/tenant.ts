/**
 * The tenant: one shape for config, the state file, sessions and control planes (some vendors
 * say "account"). Defined here, below all of them, so no layer reaches into another for it.
 */
import { isNonEmptyString, isNullableString, isRecord } from './shape.js';

/** A tenant of a multi-tenant control plane, as keyfob stores it. */
export interface Tenant {
  id: string;
  name: string | null;
  region: string | null;
  /** The tenant's regional server; relative URLs of `fetch` are appended to its path. */
  server_url: string | null;
}

/**
 * What is wrong with a stored tenant (`tenant.id is not …`), or `null` when it is a tenant or
 * `null`. Used by every reader of stored data, which moves corrupt data aside.
 */
export function tenantShapeProblem(value: unknown): string | null {
  if (value === null) return null;
  if (!isRecord(value)) return 'tenant is neither an object nor null';
  if (!isNonEmptyString(value.id)) return 'tenant.id is not a non-empty string';
  for (const key of ['name', 'region', 'server_url'] as const) {
    if (!isNullableString(value[key])) return `tenant.${key} is neither a string nor null`;
  }
  return null;
}
