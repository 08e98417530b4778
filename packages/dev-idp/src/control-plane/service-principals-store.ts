/**
 * Service principals created through the control plane: kept in memory, their secrets only as
 * SHA-256 hashes (a random 256-bit secret needs no slow hash), compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A service principal as listed (never its secret). */
export interface ServicePrincipal {
  readonly client_id: string;
  readonly name: string;
  readonly description: string;
  readonly tenant_id: string;
  readonly created_at: string;
}

/** The principals of this dev-idp run. */
export interface PrincipalStore {
  /** Creates one; the secret is returned here only. */
  create(
    tenantId: string,
    name: string,
    description: string,
  ): { principal: ServicePrincipal; secret: string };
  list(tenantId: string): ServicePrincipal[];
  /** Deletes the principal when it belongs to `tenantId`; false when there is none such. */
  delete(tenantId: string, clientId: string): boolean;
  /** The principal whose secret matches, else undefined (unknown, deleted or wrong secret). */
  authenticate(clientId: string, secret: string): ServicePrincipal | undefined;
}

function hash(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** An empty store. */
export function createPrincipalStore(): PrincipalStore {
  const principals = new Map<string, { principal: ServicePrincipal; secretHash: Buffer }>();
  return {
    create(tenantId, name, description) {
      const clientId = `sp-${randomBytes(8).toString('hex')}`;
      const secret = `sps-${randomBytes(32).toString('base64url')}`;
      const principal: ServicePrincipal = {
        client_id: clientId,
        name,
        description,
        tenant_id: tenantId,
        created_at: new Date().toISOString(),
      };
      principals.set(clientId, { principal, secretHash: hash(secret) });
      return { principal, secret };
    },
    list(tenantId) {
      return [...principals.values()]
        .map((entry) => entry.principal)
        .filter((principal) => principal.tenant_id === tenantId);
    },
    delete(tenantId, clientId) {
      const entry = principals.get(clientId);
      if (!entry || entry.principal.tenant_id !== tenantId) return false;
      principals.delete(clientId);
      return true;
    },
    authenticate(clientId, secret) {
      const entry = principals.get(clientId);
      // Hash even for an unknown client, so both paths take the same time.
      const given = hash(secret);
      if (!entry) return undefined;
      return timingSafeEqual(given, entry.secretHash) ? entry.principal : undefined;
    },
  };
}
