// The Kumiho SDK: a client of a tenant's regional API. Authentication is src/auth.js.
import { authFor, KumihoError } from './auth.js';

export { KumihoError };

/** A client of one tenant's regional server. */
export class Client {
  #auth;
  /** @param {ReturnType<typeof authFor>} auth */
  constructor(auth) {
    this.#auth = auth;
  }

  /** The tenant this client talks to: `{ tenantId, name, region, serverUrl }`. */
  async discoverTenant() {
    const tenant = await this.#auth.tenant();
    if (!tenant) throw new Error('Tenant unknown: the token names no tenant of the control plane');
    return { tenantId: tenant.id, name: tenant.name, region: tenant.region, serverUrl: tenant.server_url };
  }

  /** GETs `path` of the regional API and returns its JSON body. */
  async get(path) {
    const response = await this.#auth.fetch(path);
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`Request failed: GET ${path} answered HTTP ${response.status}`);
    }
    return response.json();
  }

  /** Every item of the tenant, fetched a page at a time as the loop asks for them. */
  async *items({ perPage = 5 } = {}) {
    for (let page = 1; page !== null; ) {
      const body = await this.get(`/v1/items?page=${page}&per_page=${perPage}`);
      yield* body.items;
      page = body.next;
    }
  }

  /** Closes idle connections (the client stays usable). */
  close() {
    return this.#auth.close();
  }
}

/**
 * A client, authenticated with the first of: `idToken` (an ID token from Kumiho's web app),
 * `KUMIHO_AUTH_TOKEN` / `KUMIHO_AUTH_TOKEN_FILE`, the login cached by `kumiho-auth login`.
 * `tenantId` picks the tenant (else the login's). Checks the credential and the tenant at once.
 * @throws KumihoError "Token expired", "Tenant not found"; keyfob's errors otherwise.
 */
export async function connect({ idToken, tenantId } = {}) {
  const client = new Client(authFor({ idToken, tenantId }));
  await client.discoverTenant().catch(async (error) => {
    await client.close();
    throw error;
  });
  return client;
}

/** The tenant of the default connection. */
export async function discoverTenant(options) {
  const client = await connect(options);
  try {
    return await client.discoverTenant();
  } finally {
    await client.close();
  }
}

export default { connect, discoverTenant, Client, KumihoError };
