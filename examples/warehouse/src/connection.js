/**
 * The warehouse SDK's entry point: `getConnection(options)` and the connection's methods. The
 * credential comes from src/auth.js (keyfob); this file is the SDK's own code: which regional
 * server holds the account, and the calls made there.
 */
import { InvalidInput, TenantNotFound } from '@keyfob/core';
import { controlPlane, warehouseKeyfob } from './auth.js';

/**
 * Connects to an account of the warehouse.
 *
 * - `{ jwt, accountId }`: a token given by a script (`warehouse jwt`), used as it is.
 * - `{ clientId, clientSecret, accountId }`: a service principal's credentials.
 * - `{ profile }`: a section of `~/.warehouse/credentials` (`production`, `development`).
 * - `{}`: the `[default]` section (written by `warehouse login`), else a web login in the
 *   browser when a person is at the terminal (that session is not written to disk).
 *
 * `env` is the environment to read (process.env by default).
 * @throws ConflictingCredentials / InvalidInput for the mixes the vendor documents as invalid.
 */
export async function getConnection(options = {}) {
  const kf = warehouseKeyfob(options);
  try {
    const token = await kf.getToken();
    // A service principal's own section names its account in account_id (the profile's tenant).
    const accountId =
      options.accountId ??
      token.tenant?.id ??
      (await kf.status()).profiles.find((p) => p.name === token.profile)?.tenant?.id;
    if (!accountId) {
      throw new InvalidInput('no account: give accountId, or run `warehouse account set ID`');
    }
    const server = await regionalServer(kf, token.access_token, accountId, options.env ?? process.env);
    return new Connection(kf, accountId, server);
  } catch (error) {
    await kf.close();
    throw error;
  }
}

/** The account's regional server, from the control plane's list of the caller's accounts. */
async function regionalServer(kf, accessToken, accountId, env) {
  const response = await kf.http(`${controlPlane(env)}/v1/tenants`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  if (!response.ok) {
    throw new InvalidInput(`the control plane answered HTTP ${response.status} to the account list`);
  }
  const { tenants } = await response.json();
  const found = tenants.find((t) => t.tenant_id === accountId);
  if (!found) {
    const ids = tenants.map((t) => t.tenant_id).join(', ') || 'none';
    throw new TenantNotFound(`Tenant not found: ${safe(accountId)}; you belong to: ${safe(ids)}`);
  }
  return found.server_url;
}

const safe = (text) =>
  String(text)
    .slice(0, 200)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');

/** A connection to one account: calls to its regional server with the connection's credential. */
export class Connection {
  #kf;
  #server;
  constructor(kf, accountId, server) {
    this.#kf = kf;
    this.#server = server;
    /** The account (keyfob's tenant) this connection works in. */
    this.accountId = accountId;
  }

  /** GET `path` under the account's regional server; the answer's JSON. */
  async get(path) {
    const url = `${this.#server}${path}`;
    const response = await this.#kf.fetch(url, { allowOrigins: [new URL(url).origin] });
    if (!response.ok) throw new InvalidInput(`${url} answered HTTP ${response.status}`);
    return response.json();
  }

  /** Who the credential is in this account (the regional server's `/v1/hello`). */
  whoami() {
    return this.get('/v1/hello');
  }

  close() {
    return this.#kf.close();
  }
}
