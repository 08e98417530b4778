// kscli's authentication: every line of keyfob integrator code the admin CLI needs (see README).
import { AuthenticationRequired, createKeyfob, PermissionDenied, TlsVerificationFailed } from '@keyfob/core';

const env = process.env;
// One provider: an admin API key buys a user's token in a tenant (assume_user); the token goes
// to the regional API as the cookie ks_uat, as the vendor's web console sends it.
const config = {
  providers: {
    kscli: {
      type: 'assume_user',
      control_plane: env.KSCLI_CONTROL_PLANE || 'https://control.kscli.example/cp',
      api_base: env.KSCLI_API_URL || 'https://api.kscli.example',
      credential: { cookie: 'ks_uat' },
    },
  },
};
const kf = createKeyfob({
  appName: 'kscli',
  envPrefix: 'KSCLI',
  // The variables kscli documented before keyfob, under their own names.
  env: { ADMIN_API_KEY: 'ADMIN_API_KEY', CA_BUNDLE: 'KSCLI_CA_BUNDLE', VERIFY_TLS: 'KSCLI_VERIFY_SSL' },
  config,
  // kscli's credentials JSON, where its users' scripts already look for it.
  credentialsFile: {
    layout: 'single-json',
    path: '/tmp/kscli/.credentials',
    pathEnv: 'KSCLI_CREDENTIALS_PATH',
    fields: { user: 'user_id', tenant: 'tenant_id', token_expiration: 'expires_at' },
  },
});

/** Impersonates `userId` in `tenantId`; the key, tenant and user are kept to assume again on expiry. */
export const assumeUser = (tenantId, userId, adminApiKey) =>
  kf.assumeUser({ tenantId, userId, adminApiKey, persist: true });
/** The control plane's users/me for the assumed user (id, email, tenant_id, expires_at). */
export const whoami = () => kf.whoami();
/** An HTTP client for the regional API: ks_uat attached, re-assumed once on a 401. */
export const api = () => kf.session();
/** keyfob's own commands (status, logout, …) under kscli's name, on the same files. */
export const authCommands = async () =>
  (await import('@keyfob/cli')).createAuthCommands({ keyfob: kf, commandPrefix: 'kscli' });
export const close = () => kf.close();

/** Which of kscli's error texts a keyfob error gets: `tls`, `auth` (exit 2), `forbidden`, else null. */
export const errorKind = (error) =>
  error instanceof TlsVerificationFailed
    ? 'tls'
    : error instanceof AuthenticationRequired
      ? 'auth'
      : error instanceof PermissionDenied
        ? 'forbidden'
        : null;
