/**
 * Request counters, so tests can assert how often keyfob called the provider (a cache that
 * works, a single-flight refresh, a logout that revokes).
 */
import type { DevIdpControlPlaneStats, DevIdpStats } from './contract.js';

/** Counters plus the recording side the server uses. */
export interface StatsRecorder {
  readonly stats: DevIdpStats;
  tokenRequest(grantType: string): void;
  revocation(): void;
  apiRequest(): void;
  authorizationRequest(endpoint: 'authorization' | 'device_authorization', resource: string[]): void;
  /** Counts one control-plane request; `key` names the tenant (exchanges) or region. */
  controlPlane(event: ControlPlaneEvent, key?: string): void;
}

/** The control-plane counters that `StatsRecorder.controlPlane` increments. */
export type ControlPlaneEvent =
  | 'tenants'
  | 'exchanges'
  | 'assumeUser'
  | 'usersMe'
  | 'servicePrincipalTokens'
  | 'regionalRequests';

function freshControlPlaneStats(): DevIdpControlPlaneStats {
  return {
    tenants: 0,
    exchanges: 0,
    exchangesByTenant: {},
    assumeUser: 0,
    usersMe: 0,
    servicePrincipalTokens: 0,
    regionalRequests: {},
  };
}

/** Fresh counters, all zero. */
export function createStats(): StatsRecorder {
  const stats: DevIdpStats = {
    tokenRequests: {},
    refreshRequests: 0,
    revocations: 0,
    apiRequests: 0,
    authorizationRequests: [],
    controlPlane: freshControlPlaneStats(),
    reset() {
      // Replace the object rather than deleting keys: a caller holding the old one keeps a
      // consistent picture of "before the reset".
      stats.tokenRequests = {};
      stats.refreshRequests = 0;
      stats.revocations = 0;
      stats.apiRequests = 0;
      stats.authorizationRequests = [];
      stats.controlPlane = freshControlPlaneStats();
    },
  };
  return {
    stats,
    tokenRequest(grantType) {
      stats.tokenRequests[grantType] = (stats.tokenRequests[grantType] ?? 0) + 1;
      if (grantType === 'refresh_token') stats.refreshRequests += 1;
    },
    revocation() {
      stats.revocations += 1;
    },
    apiRequest() {
      stats.apiRequests += 1;
    },
    authorizationRequest(endpoint, resource) {
      stats.authorizationRequests.push({ endpoint, resource });
    },
    controlPlane(event, key = 'unknown') {
      const cp = stats.controlPlane;
      if (event === 'regionalRequests') {
        cp.regionalRequests[key] = (cp.regionalRequests[key] ?? 0) + 1;
        return;
      }
      cp[event] += 1;
      if (event === 'exchanges') cp.exchangesByTenant[key] = (cp.exchangesByTenant[key] ?? 0) + 1;
    },
  };
}
