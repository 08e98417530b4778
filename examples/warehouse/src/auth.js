// warehouse's authentication: every line of integrator code the SDK needs (see README).
import { ConflictingCredentials, createKeyfob, InvalidInput, openInBrowser } from '@keyfob/core';

// The vendor's servers: its identity provider, and the control plane that knows accounts.
const providers = (env) => {
  const controlPlane = env.WAREHOUSE_CONTROL_PLANE || `${env.WAREHOUSE_ISSUER}/cp`;
  return {
    web: { type: 'oidc', issuer: env.WAREHOUSE_ISSUER, client_id: 'keyfob-cli', scopes: ['openid', 'offline_access'] },
    warehouse: { type: 'exchange', login: 'web', control_plane: controlPlane },
    // A service principal's own section ([development]): its client id is in the file.
    'service-principal': { type: 'client_credentials', token_endpoint: `${controlPlane}/oauth/token`, client_id: 'see-credentials-file' },
  };
};
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const clean = (text) => String(text).replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '?');
export const interaction = {
  showAuthorizationUrl: (url) => console.error(`Log in in your browser; if it did not open, open ${url}`),
  showDeviceCode: (p) => console.error(`Open ${clean(p.verificationUri)} and enter the code: ${clean(p.userCode)}`),
  openBrowser: (url) => openInBrowser(url),
  waiting: () => () => {},
  notice: (message) => console.error(clean(message)),
};

/** A keyfob instance for one way of connecting: explicit > the INI's [default] > a web login. */
export function warehouseKeyfob({ jwt, clientId, clientSecret, accountId, profile, env = process.env } = {}) {
  const both = (a, b) => new ConflictingCredentials(`${a} and ${b} were both given; give one`);
  if (profile !== undefined && clientId !== undefined) throw both(`profile ${profile}`, 'a client id');
  if (profile !== undefined && accountId !== undefined) throw both(`profile ${profile} (it holds its account_id)`, 'an account id');
  if (jwt !== undefined && clientId !== undefined) throw both('a JWT', 'a client id');
  if ((jwt !== undefined || clientId !== undefined) && !accountId) throw new InvalidInput(`${jwt !== undefined ? 'a JWT' : 'a client id'} needs an account id (accountId)`);
  const machine = clientId !== undefined;
  return createKeyfob({
    appName: 'warehouse',
    envPrefix: 'WAREHOUSE',
    environment: env,
    config: { default_provider: machine ? 'service-principal' : 'warehouse', providers: providers(env) },
    credentialsFile: { layout: 'ini', path: '~/.warehouse/credentials', pathEnv: 'WAREHOUSE_CREDENTIALS_FILE', fields: { tenant: 'account_id', token_expiration: 'token_expiration' } },
    // Nothing explicit and no [default]: a browser login when a person is there, kept in memory only.
    interactive: { interaction },
    ...(jwt !== undefined ? { token: jwt } : {}),
    ...(machine ? { clientId, clientSecret } : {}),
    ...(profile !== undefined ? { profile } : {}),
  });
}
