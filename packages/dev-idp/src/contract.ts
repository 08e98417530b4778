/**
 * The public shapes of dev-idp: what `startDevIdp` takes and returns.
 *
 * Other packages (the keyfob library's tests, the CLI, the demo) code against exactly these
 * names; change them only together with their callers.
 */

/** How to start a dev-idp. Every field is optional; the defaults suit an interactive session. */
export interface DevIdpOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Persist state (adapter records, signing and cookie keys) to this JSON file; else memory only. */
  dataFile?: string;
  /** Access token lifetime in seconds (default 600). */
  accessTokenTtl?: number;
  /** ID token lifetime in seconds (default 3600). */
  idTokenTtl?: number;
  /** Refresh token lifetime in seconds (default 14 days); every rotation starts a new lifetime. */
  refreshTokenTtl?: number;
  /** Device code lifetime in seconds (default 600). */
  deviceCodeTtl?: number;
  /**
   * Seconds during which a spent (rotated) refresh token is still accepted, as Okta's "grace
   * period" and Auth0's "reuse interval" do. 0 (the default) turns it off: any reuse revokes
   * the whole grant.
   */
  refreshReuseGraceSeconds?: number;
  /**
   * Serve HTTPS with this key and certificate (PEM) instead of plain HTTP; the issuer becomes
   * `https://127.0.0.1:PORT`, so the certificate must name `IP:127.0.0.1`. For testing how
   * clients handle private CAs, proxies and certificate failures.
   */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Receives one line per request and per notable event; never a token or a secret. */
  log?: (line: string) => void;
  /**
   * The port of the `fixedPort` client's one redirect URI, `http://127.0.0.1:PORT/callback`,
   * matched exactly (port included), as providers do for non-native clients. Default 8765.
   */
  fixedRedirectPort?: number;
  /** The port of each region's listener on 127.0.0.1 (by region); a free one when not named. */
  regionPorts?: Record<string, number>;
  /** Lifetime in seconds of exchanged and service-principal control-plane tokens (default 300). */
  controlPlaneTokenTtl?: number;
  /** Lifetime in seconds of `assume_user` tokens (default 300). */
  assumeUserTokenTtl?: number;
  /**
   * Accept Firebase Auth emulator ID tokens at the control plane: `projectId` must be a
   * `demo-*` project, `emulatorHost` (`host:port` on loopback; default
   * `FIREBASE_AUTH_EMULATOR_HOST`) confirms each token with `accounts:lookup`.
   */
  firebase?: { projectId: string; emulatorHost?: string };
}

/** Counters for tests that assert how often keyfob talked to the provider. */
export interface DevIdpStats {
  /** Token endpoint POSTs by their `grant_type` body parameter (`unknown` when absent). */
  tokenRequests: Record<string, number>;
  /** Token endpoint POSTs with `grant_type=refresh_token` (also counted in `tokenRequests`). */
  refreshRequests: number;
  /** Revocation endpoint POSTs. */
  revocations: number;
  /** Requests to the protected API under `/api`. */
  apiRequests: number;
  /**
   * Authorization and device authorization requests, in order, with the RFC 8707 `resource`
   * values each carried as sent (empty when none): to check what a client asked for at
   * authorization, which the token responses alone do not show.
   */
  authorizationRequests: Array<{ endpoint: 'authorization' | 'device_authorization'; resource: string[] }>;
  /** Requests to the control plane and the regional APIs (every request, whatever its answer). */
  controlPlane: DevIdpControlPlaneStats;
  /** Sets every counter back to zero. */
  reset(): void;
}

/** Control-plane counters: each counts requests, answered with success or not. */
export interface DevIdpControlPlaneStats {
  /** `GET /cp/v1/tenants`. */
  tenants: number;
  /** `POST /cp/v1/token` (token exchange). */
  exchanges: number;
  /** Exchanges by their `audience` (the tenant asked for; `unknown` when absent). */
  exchangesByTenant: Record<string, number>;
  /** `POST /cp/v1/auth/assume_user`. */
  assumeUser: number;
  /** `GET /cp/v1/users/me`. */
  usersMe: number;
  /** `POST /cp/oauth/token` (service principals' client credentials). */
  servicePrincipalTokens: number;
  /** Requests to each region's listener, by region. */
  regionalRequests: Record<string, number>;
}

/** A tenant of the control plane, as `GET /cp/v1/tenants` lists it. */
export interface DevIdpTenant {
  readonly tenant_id: string;
  readonly tenant_name: string;
  readonly region: string;
  /** `http://127.0.0.1:<region port>/<region>`: the region's listener and path prefix. */
  readonly server_url: string;
}

/** A seeded end-user of the dev-idp. */
export interface DevIdpUser {
  readonly email: string;
  readonly password: string;
  readonly sub: string;
  readonly name: string;
}

/** A running dev-idp. */
export interface DevIdp {
  /** Issuer identifier, e.g. `http://127.0.0.1:PORT` (`https://` with `tls`; no trailing slash). */
  readonly issuer: string;
  /** Base URL of the protected API; also its RFC 8707 resource indicator and JWT `aud`. */
  readonly api: string;
  /** Base URL of the control plane: `${issuer}/cp` (also the `iss` of its tokens). */
  readonly controlPlane: string;
  /** The seeded tenants with their regional `server_url`s. */
  readonly tenants: ReadonlyArray<DevIdpTenant>;
  /** Each region's `server_url`, by region. */
  readonly regions: Readonly<Record<string, string>>;
  /** The seeded admin API key for `assume_user`: a documented dev value, not a secret. */
  readonly adminApiKey: string;
  readonly clients: {
    readonly cli: { readonly client_id: string };
    readonly machine: { readonly client_id: string; readonly client_secret: string };
    /** A machine client that must send its secret in the body (`client_secret_post`). */
    readonly machinePost: { readonly client_id: string; readonly client_secret: string };
    /** A machine client that signs a JWT with this (dev) private key (`private_key_jwt`, ES256). */
    readonly machineJwt: {
      readonly client_id: string;
      readonly private_jwk: Readonly<Record<string, string>>;
    };
    /** A public client whose one redirect URI is matched exactly, port included (`redirect_port`). */
    readonly fixedPort: { readonly client_id: string; readonly redirect_uri: string };
  };
  readonly users: ReadonlyArray<DevIdpUser>;
  readonly stats: DevIdpStats;
  /** What `keyfob dev-idp` prints as its one ready line. */
  readyLine(): Record<string, unknown>;
  /**
   * Makes a new signing key current. The previous keys stay in the JWKS (so tokens signed
   * before still verify) unless `keepOld` is false.
   */
  rotateKeys(options?: { keepOld?: boolean }): Promise<void>;
  /** Stops one region's listener (connections dropped), so its server no longer answers. */
  stopRegion(region: string): Promise<void>;
  /** Starts a stopped region's listener again on the same port. */
  startRegion(region: string): Promise<void>;
  /** Revokes every grant (and so every token) of one end-user. */
  revokeGrantsOf(sub: string): Promise<void>;
  /** Stops listening, drops open connections and writes the data file one last time. */
  close(): Promise<void>;
}
