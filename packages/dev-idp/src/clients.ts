/**
 * The seeded OAuth clients.
 *
 * `keyfob-cli` is what a CLI registers at a real provider: a public native client with PKCE, a
 * loopback redirect and the device grant. `keyfob-machine` is a service principal.
 */

/** client_id of the public CLI client. */
export const CLI_CLIENT_ID = 'keyfob-cli';
/** client_id of the confidential machine client. */
export const MACHINE_CLIENT_ID = 'keyfob-machine';
/** The machine client's secret: a documented dev value, printed in the ready line. */
export const MACHINE_CLIENT_SECRET = 'dev-machine-secret';

/** client_id of the public client whose redirect URI is matched exactly, port included. */
export const FIXED_PORT_CLIENT_ID = 'keyfob-cli-fixed-port';
/** The port of that client's redirect URI unless dev-idp is told another. */
export const DEFAULT_FIXED_REDIRECT_PORT = 8765;

/** The one redirect URI of the fixed-port client. */
export function fixedRedirectUri(port: number): string {
  return `http://127.0.0.1:${port}/callback`;
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** Client metadata in oidc-provider's (RFC 7591) form. */
export function seededClients(fixedRedirectPort = DEFAULT_FIXED_REDIRECT_PORT): Record<string, unknown>[] {
  return [
    {
      client_id: CLI_CLIENT_ID,
      client_name: 'keyfob CLI',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      // oidc-provider matches a loopback redirect of a native client on any port (RFC 8252 §7.3).
      redirect_uris: ['http://127.0.0.1/callback'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token', DEVICE_GRANT, 'password'],
    },
    {
      client_id: MACHINE_CLIENT_ID,
      client_name: 'keyfob machine',
      client_secret: MACHINE_CLIENT_SECRET,
      // Either basic or post authenticates: oidc-provider accepts both for this method.
      token_endpoint_auth_method: 'client_secret_basic',
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
    },
    {
      client_id: MACHINE_POST_CLIENT_ID,
      client_name: 'keyfob machine (client_secret_post)',
      client_secret: MACHINE_POST_CLIENT_SECRET,
      // oidc-provider would take a Basic header too; isBasicAuthOfPostClient makes it strict.
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
    },
    {
      client_id: MACHINE_JWT_CLIENT_ID,
      client_name: 'keyfob machine (private_key_jwt)',
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [machineJwtPublicJwk()] },
      redirect_uris: [],
      response_types: [],
      grant_types: ['client_credentials'],
    },
    {
      client_id: FIXED_PORT_CLIENT_ID,
      client_name: 'keyfob CLI (exact redirect URI)',
      // A web client: oidc-provider matches its redirect URI exactly, port included, as many
      // providers do for every client; keyfob's `redirect_port` is for those.
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      redirect_uris: [fixedRedirectUri(fixedRedirectPort)],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
    },
  ];
}

/** client_id of the confidential machine client that must send its secret in the body. */
export const MACHINE_POST_CLIENT_ID = 'keyfob-machine-post';
/** Its secret: a documented dev value, printed in the ready line. */
export const MACHINE_POST_CLIENT_SECRET = 'dev-machine-post-secret';
/** client_id of the machine client that authenticates with a signed JWT (RFC 7523). */
export const MACHINE_JWT_CLIENT_ID = 'keyfob-machine-jwt';
/**
 * Its private key (EC P-256, ES256): a documented dev value like the secrets above, printed in
 * the ready line so that anyone can try `private_key_jwt` against dev-idp. Never use it elsewhere.
 */
export const MACHINE_JWT_PRIVATE_JWK = Object.freeze({
  kty: 'EC',
  crv: 'P-256',
  kid: 'keyfob-machine-jwt-1',
  x: 'Ozg6_g6fM_twrHMFsPG5dwVlvN6Li6SjuA6oJYG12Kg',
  y: 'AmxVuDgpkzgfoeYJOmHsUnd0ufNcTwT1xh3GxzAOkJ0',
  d: 'vhDHdBJcl4bfTqKjsvB1GwnHemrPCPP0_tI4fNy7ctY',
});

/** The public half of {@link MACHINE_JWT_PRIVATE_JWK}, as registered for the client. */
export function machineJwtPublicJwk(): Record<string, string> {
  const { d: _d, ...pub } = MACHINE_JWT_PRIVATE_JWK;
  return { ...pub, use: 'sig', alg: 'ES256' };
}

/**
 * True when a token request authenticates {@link MACHINE_POST_CLIENT_ID} with a Basic header:
 * the provider refuses it, as providers that register `client_secret_post` strictly do.
 */
export function isBasicAuthOfPostClient(authorization: string | undefined): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return false;
  const user = Buffer.from(match[1], 'base64').toString('utf8').split(':')[0] ?? '';
  try {
    return decodeURIComponent(user.replace(/\+/g, ' ')) === MACHINE_POST_CLIENT_ID;
  } catch {
    return false;
  }
}
