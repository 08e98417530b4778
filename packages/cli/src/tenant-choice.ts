/**
 * How the CLI shows and asks for tenants: a numbered choice at a terminal (only when a person
 * is there: the library passes the chooser on only then), and the JSON shape of a tenant.
 */
import type { LoginInteraction, Tenant } from '@keyfob/core';
import { askChoice, type IO, sanitize } from './io.js';

/** Asks which tenant, listing `id (name, region)`; resolves the chosen id. */
export function tenantChooser(io: IO): NonNullable<LoginInteraction['chooseTenant']> {
  return async (tenants) => {
    const labels = tenants.map((t) =>
      sanitize(`${t.id}${t.name || t.region ? ` (${[t.name, t.region].filter(Boolean).join(', ')})` : ''}`),
    );
    const picked = await askChoice(io, 'Which tenant?', labels);
    return tenants[labels.indexOf(picked)]?.id ?? picked;
  };
}

/** `{id, name, region, server_url}` or `null` (DESIGN.md: the JSON shape of a tenant). */
export function tenantJson(tenant: Tenant | null): Tenant | null {
  return tenant
    ? { id: tenant.id, name: tenant.name, region: tenant.region, server_url: tenant.server_url }
    : null;
}
