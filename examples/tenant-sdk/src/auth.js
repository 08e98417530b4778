// Kumiho's authentication: every line of integrator code the SDK needs (see README).
import { fileURLToPath } from 'node:url';
import { createAuthCommands } from '@keyfob/cli';
import { createKeyfob, NetworkError, TenantNotFound, TokenExpired } from '@keyfob/core';

// Production's addresses unless the environment names others (staging, the emulator, dev-idp).
const PRODUCTION = { KUMIHO_CONTROL_PLANE: 'https://cp.kumiho.example', KUMIHO_FIREBASE_PROJECT: 'kumiho' };
// Kumiho's keys in its credentials file: the Firebase login's tokens and the tenant.
const fields = { token: 'id_token', token_expiration: 'id_token_expires_at', tenant: 'tenant_id' };

/** keyfob as Kumiho's: its names, its variables (KUMIHO_AUTH_TOKEN, …), its credentials file. */
export const keyfob = ({ idToken, tenantId } = {}) =>
  createKeyfob({
    appName: 'kumiho',
    cliName: 'kumiho-auth',
    envPrefix: 'KUMIHO_AUTH',
    configPath: fileURLToPath(new URL('../providers.yaml', import.meta.url)),
    environment: { ...PRODUCTION, ...process.env },
    // ~/.kumiho/credentials.json: every profile in one file, as Kumiho's SDKs always kept it.
    credentialsFile: { layout: 'single-json', path: '~/.kumiho/credentials.json', fields },
    token: idToken, // an ID token given in code: above KUMIHO_AUTH_TOKEN(_FILE) and the cache
    tenant: tenantId,
  });

/** Kumiho's errors: the vendor's words first, keyfob's detail (and code, exit code) after them. */
export class KumihoError extends Error {
  constructor(text, cause) {
    super(cause.message.startsWith(text) ? cause.message : `${text}: ${cause.message}`, { cause });
    Object.assign(this, { code: cause.code, exitCode: cause.exitCode });
  }
}
const REGIONAL = 'Failed to connect to regional server';
const vendorError = (error) => {
  if (error instanceof TokenExpired) return new KumihoError('Token expired', error);
  if (error instanceof TenantNotFound) return new KumihoError('Tenant not found', error);
  const regional = error instanceof NetworkError && error.message.startsWith(REGIONAL);
  return regional ? new KumihoError(REGIONAL, error) : error;
};

/** A client's authentication: the tenant's token and requests under its regional server. */
export function authFor(options) {
  const kf = keyfob(options);
  const mapped = (fn) => (arg) => fn(arg).catch((error) => Promise.reject(vendorError(error)));
  return {
    tenant: mapped(async () => (await kf.getToken()).tenant),
    fetch: mapped((path) => kf.fetch(path)),
    close: () => kf.close(),
  };
}

/** `kumiho-auth`: keyfob's commands (login, refresh, status, tenants, switch…) on the SDK's instance. */
export const authCommands = (kf) => createAuthCommands({ commandPrefix: 'kumiho-auth', keyfob: kf });
