/**
 * The seeded tenants of the control plane.
 *
 * Data only for now: tenant discovery, exchange and the regional APIs will serve them later.
 */

/** A tenant as the control plane describes it (the shape keyfob's sessions store). */
export interface Tenant {
  readonly tenant_id: string;
  readonly tenant_name: string;
  readonly region: string;
  readonly server_url: string;
}

/** Two tenants in different regions; `base` is the server's origin, used for `server_url`. */
export function seededTenants(base: string): ReadonlyArray<Tenant> {
  return [
    {
      tenant_id: 'acme-eu',
      tenant_name: 'Acme Europe',
      region: 'eu-west-1',
      server_url: `${base}/regions/eu-west-1`,
    },
    {
      tenant_id: 'acme-us',
      tenant_name: 'Acme US',
      region: 'us-east-1',
      server_url: `${base}/regions/us-east-1`,
    },
  ];
}
