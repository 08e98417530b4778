/**
 * The resource-owner password grant (RFC 6749 §4.3) for the CLI client: oidc-provider has no
 * built-in one, so it is registered here. It stands for the providers that still offer it to
 * their first-party CLIs (keyfob's `password` provider logs in with it).
 *
 * The tokens are oidc-provider's own models, as an authorization code would give them: a grant
 * for the seeded user, an access token for userinfo, a refresh token (with `offline_access`)
 * whose later refresh_token grants may ask for the API as resource, and an ID token.
 */
import type { Provider, ProviderContext } from 'oidc-provider';
import { checkPassword, findAccount } from './accounts.js';
import { API_SCOPES } from './api.js';
import type { OidcModule } from './provider.js';

const OIDC_SCOPES = new Set(['openid', 'profile', 'email', 'offline_access']);
const GRANT_TYPE = 'password';

/** Registers `grant_type=password` on `provider`; `api` is the API's resource indicator. */
export function registerPasswordGrant(oidc: OidcModule, provider: Provider, api: string): void {
  // oidc-provider's InvalidGrant always says "grant request is invalid": the words are set here.
  const wrongCredentials = () =>
    new oidc.errors.CustomOIDCProviderError('invalid_grant', 'wrong email or password');
  provider.registerGrantType(
    GRANT_TYPE,
    async (ctx: ProviderContext) => {
      const params = ctx.oidc.params as Record<string, unknown>;
      const client = ctx.oidc.client;
      if (!client) throw new oidc.errors.InvalidClient('client not found');
      const username = typeof params.username === 'string' ? params.username : '';
      const password = typeof params.password === 'string' ? params.password : '';
      if (!username || !password) {
        throw new oidc.errors.InvalidRequest('missing required parameter(s) (username, password)');
      }
      // The same words for an unknown email and a wrong password: which one is not told.
      const user = checkPassword(username, password);
      if (!user) throw wrongCredentials();

      const requested = new Set(
        (typeof params.scope === 'string' && params.scope ? params.scope : 'openid')
          .split(' ')
          .filter(Boolean),
      );
      const apiScopes = new Set<string>(API_SCOPES);
      const unknown = [...requested].filter((s) => !OIDC_SCOPES.has(s) && !apiScopes.has(s));
      if (unknown.length > 0) throw new oidc.errors.InvalidScope('unknown scope', unknown.join(' '));
      const oidcScope = [...requested].filter((s) => OIDC_SCOPES.has(s)).join(' ');
      const apiScope = [...requested].filter((s) => apiScopes.has(s)).join(' ');

      const grant = new provider.Grant({ accountId: user.sub, clientId: client.clientId });
      grant.addOIDCScope(oidcScope);
      grant.addResourceScope(api, apiScope);
      const grantId = await grant.save();
      const authTime = Math.floor(Date.now() / 1000);

      const account = await findAccount(ctx, user.sub);
      if (!account) throw wrongCredentials();
      ctx.oidc.entity('Account', account);
      ctx.oidc.entity('Grant', grant);

      const at = new provider.AccessToken({
        accountId: user.sub,
        client,
        grantId,
        gty: GRANT_TYPE,
        scope: oidcScope,
      });
      const accessToken = await at.save();

      let refreshToken: string | undefined;
      if (requested.has('offline_access') && client.grantTypeAllowed('refresh_token')) {
        const rt = new provider.RefreshToken({
          accountId: user.sub,
          authTime,
          client,
          grantId,
          gty: GRANT_TYPE,
          resource: api,
          rotations: 0,
          scope: [...requested].join(' '),
        });
        refreshToken = await rt.save();
      }

      let idToken: string | undefined;
      if (requested.has('openid')) {
        const token = new provider.IdToken({ ...(await account.claims()), auth_time: authTime }, { ctx });
        token.scope = oidcScope;
        idToken = await token.issue({ use: 'idtoken' });
      }

      ctx.body = {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: at.expiration,
        scope: oidcScope,
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
        ...(idToken ? { id_token: idToken } : {}),
      };
    },
    ['username', 'password', 'scope'],
  );
}
