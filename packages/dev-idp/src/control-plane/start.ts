/**
 * Starts the control plane beside a dev-idp: its own minter (own key, issuer `<issuer>/cp`), one
 * listener per region, the service-principal store, and the context its endpoints share.
 */
import type { JSONWebKeySet } from 'jose';
import type { StatsRecorder } from '../stats.js';
import { ADMIN_API_KEY, type ControlPlaneContext } from './context.js';
import type { FirebaseSettings } from './firebase.js';
import { createMinter } from './mint.js';
import { type RegionListenerFactory, type Regions, startRegions } from './regions.js';
import { CONTROL_PLANE_PATH } from './router.js';
import { createPrincipalStore } from './service-principals-store.js';
import { SEEDED_REGIONS, seededTenants, type Tenant } from './tenants.js';

/** Default lifetime in seconds of exchanged, service-principal and assumed tokens. */
export const DEFAULT_CONTROL_PLANE_TTL = 300;

/** What the control plane is started with. */
export interface ControlPlaneSettings {
  issuer: string;
  api: string;
  clientIds: ReadonlyArray<string>;
  idpJwks(): JSONWebKeySet;
  firebase: FirebaseSettings | null;
  regionPorts: Readonly<Record<string, number>>;
  ttl: { controlPlane: number; assumeUser: number };
  stats: StatsRecorder;
  log(line: string): void;
  listeners: RegionListenerFactory;
}

/** A started control plane. */
export interface ControlPlane {
  context: ControlPlaneContext;
  regions: Regions;
  tenants: ReadonlyArray<Tenant>;
}

/** Starts the control plane and its regional listeners. */
export async function startControlPlane(settings: ControlPlaneSettings): Promise<ControlPlane> {
  const base = `${settings.issuer}${CONTROL_PLANE_PATH}`;
  const minter = await createMinter(base);
  let tenants: ReadonlyArray<Tenant> = [];
  const regions = await startRegions(settings.listeners, {
    regions: SEEDED_REGIONS,
    ports: settings.regionPorts,
    minter,
    tenants: () => tenants,
    stats: settings.stats,
    log: settings.log,
  });
  tenants = seededTenants(regions.urls);
  const context: ControlPlaneContext = {
    base,
    minter,
    verifier: {
      issuer: settings.issuer,
      api: settings.api,
      clientIds: settings.clientIds,
      idpJwks: settings.idpJwks,
      firebase: settings.firebase,
      minter,
    },
    tenants: () => tenants,
    adminApiKey: ADMIN_API_KEY,
    ttl: settings.ttl,
    principals: createPrincipalStore(),
    stats: settings.stats,
    log: settings.log,
  };
  return { context, regions, tenants };
}
