// Kumiho's authentication: every line of integrator code the SDK needs (see README).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createAuthCommands } from '@keyfob/cli';
import { createKeyfob, NetworkError, TenantNotFound, TokenExpired } from '@keyfob/core';

// The vendor's providers: a Firebase login whose ID token Kumiho's control plane exchanges for
// a tenant's token. The addresses can be pointed elsewhere (a staging plane, the emulator).
const config = (env) => ({
  default_provider: 'kumiho',
  providers: {
    firebase: {
      type: 'firebase',
      api_key: env.KUMIHO_FIREBASE_API_KEY ?? 'kumiho-public-web-api-key',
      project_id: env.KUMIHO_FIREBASE_PROJECT ?? 'kumiho-prod',
    },
    kumiho: {
      type: 'exchange',
      login: 'firebase',
      control_plane: env.KUMIHO_CONTROL_PLANE_URL ?? 'https://control.kumiho.example',
    },
  },
});

/** keyfob as Kumiho: its name, its variables (KUMIHO_AUTH_*), its home and credentials file. */
export const keyfob = ({ idToken, tenantId } = {}) =>
  createKeyfob({
    appName: 'kumiho',
    cliName: 'kumiho-auth',
    envPrefix: 'KUMIHO_AUTH',
    home: process.env.KUMIHO_AUTH_HOME || join(homedir(), '.kumiho'),
    config: config(process.env),
    // ~/.kumiho/credentials.json, every profile in it under Kumiho's own field names.
    credentialsFile: {
      layout: 'single-json',
      fields: {
        token: 'access_token',
        token_expiration: 'expires_at',
        tenant: 'tenant_id',
        tenant_name: 'tenant_name',
        user: 'user_id',
      },
    },
    ...(idToken !== undefined ? { token: idToken } : {}),
    ...(tenantId !== undefined ? { tenant: tenantId } : {}),
  });

/** Kumiho's errors: the vendor's words first, keyfob's detail (and code, exit code) after them. */
export class KumihoError extends Error {
  constructor(text, cause) {
    super(cause.message.startsWith(text) ? cause.message : `${text}: ${cause.message}`, { cause });
    Object.assign(this, { code: cause.code, exitCode: cause.exitCode });
  }
}
const vendorError = (error) => {
  if (error instanceof TokenExpired) return new KumihoError('Token expired', error);
  if (error instanceof TenantNotFound) return new KumihoError('Tenant not found', error);
  const regional =
    error instanceof NetworkError && /^Failed to connect to regional server/.test(error.message);
  return regional ? new KumihoError('Failed to connect to regional server', error) : error;
};
const mapped =
  (fn) =>
  (...args) =>
    fn(...args).catch((error) => Promise.reject(vendorError(error)));

/**
 * What a client needs: the tenant's token (an ID token given in code, else KUMIHO_AUTH_TOKEN or
 * KUMIHO_AUTH_TOKEN_FILE, else the cached login), requests under its regional server.
 */
export function authFor(options) {
  const kf = keyfob(options);
  return {
    tenant: mapped(async () => (await kf.getToken()).tenant),
    fetch: mapped((path) => kf.fetch(path)),
    close: () => kf.close(),
  };
}

/** `kumiho-auth`: keyfob's commands (login, refresh, status, tenants, switch, …) under Kumiho's name. */
export const authCommands = (kf) => createAuthCommands({ commandPrefix: 'kumiho-auth', keyfob: kf });
