// oidc-session's authentication: every line of integrator code the SDK needs (see README).
import { fileURLToPath } from 'node:url';
import { AuthenticationRequired, createKeyfob } from '@keyfob/core';

const providers = fileURLToPath(new URL('../providers.yaml', import.meta.url));
const kf = createKeyfob({
  appName: 'oidc-session',
  configPath: process.env.OIDC_SESSION_PROVIDERS || providers,
});
/** Logs in through the browser (PKCE on a loopback redirect) or the device flow; kept on disk. */
export const login = (profile = 'corporate', { device = false } = {}) =>
  kf.login({ profile, flow: device ? 'device' : 'browser', persist: true }); // says what to open on stderr

/** True when a token can be had without a person: a fresh cached one (no network) or a refresh. */
export async function isAuthenticated(profile = 'corporate') {
  try {
    await kf.getToken({ profile, resource: null });
    return true;
  } catch (error) {
    if (error instanceof AuthenticationRequired) return false;
    throw error;
  }
}

/** The provider's userinfo for the logged-in person. */
export const userinfo = (profile = 'corporate') => kf.whoami({ profile });
/** An HTTP client for the vendor's API: the token injected, refreshed and retried once on a 401. */
export const apiClient = (profile = 'corporate') => kf.session(profile);
export const logout = (profile = 'corporate') => kf.logout({ profile });
export const close = () => kf.close();
