// oidc-session's authentication: every line of integrator code the SDK needs (see README).
import { fileURLToPath } from 'node:url';
import { AuthenticationRequired, createKeyfob, openInBrowser } from '@keyfob/core';

const providers = fileURLToPath(new URL('../providers.yaml', import.meta.url));
const kf = createKeyfob({
  appName: 'oidc-session',
  configPath: process.env.OIDC_SESSION_PROVIDERS || providers,
});
// Server text reaches the terminal without control characters (C0, DEL, C1, bidi).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const clean = (text) => String(text).replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
const interaction = {
  showAuthorizationUrl: (url) => console.error(`Log in in your browser; if it did not open, open ${url}`),
  showDeviceCode: (p) =>
    console.error(
      `To log in, open ${clean(p.verificationUriComplete ?? p.verificationUri)} and enter the code: ${clean(p.userCode)}`,
    ),
  openBrowser: (url) => openInBrowser(url),
  waiting: () => () => {},
  notice: (message) => console.error(clean(message)),
};

/** Logs in through the browser (PKCE on a loopback redirect) or the device flow; kept on disk. */
export const login = (profile = 'corporate', { device = false } = {}) =>
  kf.login({ profile, flow: device ? 'device' : 'browser', interaction, persist: true });

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
