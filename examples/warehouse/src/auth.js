// warehouse's authentication: every line of integrator code the SDK needs (see README).
import { ConflictingCredentials, createKeyfob, InvalidInput } from '@keyfob/core';

// The vendor's servers: its identity provider, and the control plane that knows the accounts.
const providers = (issuer, cp) => ({
  web: { type: 'oidc', issuer, client_id: 'keyfob-cli', scopes: ['openid', 'offline_access'] },
  warehouse: { type: 'exchange', login: 'web', control_plane: cp },
  // The provider of a service principal's own section ([development]): its client_id is there.
  'service-principal': { type: 'client_credentials', token_endpoint: `${cp}/oauth/token`, client_id: '-' },
});
/** The control plane: `WAREHOUSE_CONTROL_PLANE`, else `/cp` under `WAREHOUSE_ISSUER` (dev-idp's). */
export const controlPlane = (env) => env.WAREHOUSE_CONTROL_PLANE || `${env.WAREHOUSE_ISSUER}/cp`;
// The vendor's file: [default] for a person, a section per service principal; its own key names.
const fields = { tenant: 'account_id', token_expiration: 'token_expiration' };
const file = {
  layout: 'ini',
  path: '~/.warehouse/credentials',
  pathEnv: 'WAREHOUSE_CREDENTIALS_FILE',
  fields,
};
const BASE = { appName: 'warehouse', envPrefix: 'WAREHOUSE', credentialsFile: file };
// The mixes the vendor documents as invalid, and how its errors name each thing.
const MIXES = 'profile+clientId profile+accountId jwt+clientId'.split(' ').map((mix) => mix.split('+'));
const WHAT = { jwt: 'a JWT', clientId: 'a client id', accountId: 'an account id' };

/** A keyfob instance for one way of connecting: explicit > the INI's [default] > a web login. */
export function warehouseKeyfob({ env = process.env, web = true, ...given } = {}) {
  const what = (key) => (key === 'profile' ? `profile ${given.profile}` : WHAT[key]);
  for (const [a, b] of MIXES.filter((mix) => mix.every((key) => given[key] !== undefined))) {
    throw new ConflictingCredentials(`${what(a)} and ${what(b)} were both given; give one`);
  }
  if (given.jwt !== undefined && !given.accountId) throw new InvalidInput('a JWT needs an account id');
  const { jwt: token, clientId, clientSecret, profile } = given;
  // The level-1 credentials given (JSON drops the undefined ones).
  const explicit = JSON.parse(JSON.stringify({ token, clientId, clientSecret, profile }));
  const config = { default_provider: clientId ? 'service-principal' : 'warehouse' };
  config.providers = providers(env.WAREHOUSE_ISSUER, controlPlane(env));
  // Nothing explicit and no [default]: a browser login when a person is there, kept in memory only
  // (keyfob says on stderr what to open, and opens $BROWSER).
  return createKeyfob({ ...BASE, ...explicit, environment: env, config, interactive: web });
}
