/**
 * Starting and stopping a dev-idp: one HTTP (or, with `tls`, HTTPS) server on 127.0.0.1 that routes `/api` to the
 * protected API, `/interaction/*` to the login and consent pages, and everything else to
 * oidc-provider.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Provider } from 'oidc-provider';
import { USERS } from './accounts.js';
import { createAdapterFactory, revokeGrantsOfAccount } from './adapter.js';
import { type ApiContext, handleApi, isApiPath } from './api.js';
import {
  CLI_CLIENT_ID,
  DEFAULT_FIXED_REDIRECT_PORT,
  FIXED_PORT_CLIENT_ID,
  fixedRedirectUri,
  MACHINE_CLIENT_ID,
  MACHINE_CLIENT_SECRET,
  MACHINE_JWT_CLIENT_ID,
  MACHINE_JWT_PRIVATE_JWK,
  MACHINE_POST_CLIENT_ID,
  MACHINE_POST_CLIENT_SECRET,
  seededClients,
} from './clients.js';
import type { DevIdp, DevIdpOptions } from './contract.js';
import { type FirebaseSettings, firebaseSettingsProblem } from './control-plane/firebase.js';
import { CONTROL_PLANE_PATH, handleControlPlane, isControlPlanePath } from './control-plane/router.js';
import { type ControlPlane, DEFAULT_CONTROL_PLANE_TTL, startControlPlane } from './control-plane/start.js';
import { SEEDED_REGIONS } from './control-plane/tenants.js';
import { handleInteraction, isInteractionPath } from './interactions/router.js';
import { generateCookieKey, generateSigningKey, publicJwk, rotatedKeys, type SigningJwk } from './keys.js';
import {
  buildProvider,
  isRefreshGrantRequest,
  type Lifetimes,
  loadOidcProvider,
  type ProviderSettings,
} from './provider.js';
import { seededPackages } from './registry-api.js';
import { createPersister, loadState, type Persister } from './state-file.js';
import { createStats } from './stats.js';
import { RecordStore } from './store.js';

const HOST = '127.0.0.1';

/** What serves requests; replaced as a whole when the keys rotate. */
interface ServingState {
  provider: Provider;
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  apiContext: ApiContext;
}

/** Defaults, in seconds. */
export const DEFAULT_LIFETIMES: Readonly<Lifetimes> = Object.freeze({
  accessToken: 600,
  idToken: 3600,
  refreshToken: 14 * 24 * 60 * 60,
  deviceCode: 600,
});

/** The options were wrong; the message names the option. */
export class DevIdpOptionError extends Error {
  override name = 'DevIdpOptionError';
}

function positiveSeconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new DevIdpOptionError(`${name} must be a positive whole number of seconds, got ${value}`);
  }
  return value;
}

/** Checked control-plane options: region ports, token lifetimes, the Firebase project. */
function checkedControlPlaneOptions(options: DevIdpOptions): {
  regionPorts: Record<string, number>;
  ttl: { controlPlane: number; assumeUser: number };
  firebase: FirebaseSettings | null;
} {
  const regionPorts = options.regionPorts ?? {};
  for (const [region, port] of Object.entries(regionPorts)) {
    if (!SEEDED_REGIONS.includes(region)) {
      throw new DevIdpOptionError(
        `regionPorts: no region ${region}; the regions are ${SEEDED_REGIONS.join(', ')}`,
      );
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new DevIdpOptionError(
        `regionPorts.${region} must be a whole number from 0 to 65535, got ${port}`,
      );
    }
  }
  let firebase: FirebaseSettings | null = null;
  if (options.firebase) {
    const emulatorHost = options.firebase.emulatorHost ?? process.env.FIREBASE_AUTH_EMULATOR_HOST ?? '';
    firebase = { projectId: String(options.firebase.projectId), emulatorHost };
    const problem = firebaseSettingsProblem(firebase);
    if (problem) throw new DevIdpOptionError(problem);
  }
  return {
    regionPorts: { ...regionPorts },
    ttl: {
      controlPlane: positiveSeconds(
        'controlPlaneTokenTtl',
        options.controlPlaneTokenTtl,
        DEFAULT_CONTROL_PLANE_TTL,
      ),
      assumeUser: positiveSeconds(
        'assumeUserTokenTtl',
        options.assumeUserTokenTtl,
        DEFAULT_CONTROL_PLANE_TTL,
      ),
    },
    firebase,
  };
}

function checkedOptions(options: DevIdpOptions): { port: number; grace: number; lifetimes: Lifetimes } {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DevIdpOptionError(`port must be a whole number from 0 to 65535, got ${port}`);
  }
  const grace = options.refreshReuseGraceSeconds ?? 0;
  if (!Number.isInteger(grace) || grace < 0) {
    throw new DevIdpOptionError(
      `refreshReuseGraceSeconds must be a whole number of seconds ≥ 0, got ${grace}`,
    );
  }
  return {
    port,
    grace,
    lifetimes: {
      accessToken: positiveSeconds('accessTokenTtl', options.accessTokenTtl, DEFAULT_LIFETIMES.accessToken),
      idToken: positiveSeconds('idTokenTtl', options.idTokenTtl, DEFAULT_LIFETIMES.idToken),
      refreshToken: positiveSeconds(
        'refreshTokenTtl',
        options.refreshTokenTtl,
        DEFAULT_LIFETIMES.refreshToken,
      ),
      deviceCode: positiveSeconds('deviceCodeTtl', options.deviceCodeTtl, DEFAULT_LIFETIMES.deviceCode),
    },
  };
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** The plain HTTP server, or an HTTPS one when `tls` is given; a key or certificate that is not PEM is an option error. */
function createListener(tls: DevIdpOptions['tls'], handler: RequestHandler): Server | HttpsServer {
  if (!tls) return createServer(handler);
  try {
    return createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  } catch (error) {
    throw new DevIdpOptionError(
      `tls: the key or certificate is not usable PEM (${(error as Error).message})`,
    );
  }
}

function listen(server: Server | HttpsServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new DevIdpOptionError(`port ${port} on ${HOST} is already in use; choose another or use port 0`)
          : error,
      );
    };
    server.once('error', onError);
    server.listen(port, HOST, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('dev-idp: the server has no TCP address'));
        return;
      }
      resolve(address.port);
    });
  });
}

/**
 * Starts a dev-idp and resolves once it accepts requests.
 *
 * Throws `DevIdpOptionError` for bad options or a busy port, and `DataFileError` for a data file
 * it cannot use (it never overwrites one it could not read).
 */
export async function startDevIdp(options: DevIdpOptions = {}): Promise<DevIdp> {
  const { port, grace, lifetimes } = checkedOptions(options);
  const cpOptions = checkedControlPlaneOptions(options);
  const log = options.log ?? (() => {});
  const oidc = await loadOidcProvider();
  const saved = options.dataFile ? await loadState(options.dataFile) : undefined;
  const stats = createStats();
  const fixedRedirectPort = options.fixedRedirectPort ?? DEFAULT_FIXED_REDIRECT_PORT;
  if (!Number.isInteger(fixedRedirectPort) || fixedRedirectPort < 1 || fixedRedirectPort > 65535) {
    throw new DevIdpOptionError(`fixedRedirectPort must be a port from 1 to 65535, got ${fixedRedirectPort}`);
  }
  const fixedPortClient = {
    client_id: FIXED_PORT_CLIENT_ID,
    redirect_uri: fixedRedirectUri(fixedRedirectPort),
  };

  // Set once the provider exists; until then every request gets 503.
  let current: ServingState | undefined;
  let controlPlane: ControlPlane | undefined;
  const server = createListener(options.tls, (req, res) => {
    void route(req, res);
  });
  // Listen before making keys: a busy port fails fast, and the issuer needs the port.
  const boundPort = await listen(server, port);
  const issuer = `${options.tls ? 'https' : 'http'}://${HOST}:${boundPort}`;
  const api = `${issuer}/api`;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const rawUrl = req.url ?? '';
    // Parse the path only: an absolute-form or `//host` target must not become another origin.
    const url = rawUrl.startsWith('/') ? URL.parse(`${issuer}${rawUrl}`) : null;
    res.on('finish', () => {
      log(`${req.method} ${url?.pathname ?? '?'} ${res.statusCode} ${Date.now() - started}ms`);
    });
    try {
      if (!current) {
        res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('starting\n');
      } else if (!url) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
      } else if (isControlPlanePath(url.pathname) && controlPlane) {
        await handleControlPlane(controlPlane.context, req, res, url.pathname);
      } else if (isApiPath(url.pathname)) {
        stats.apiRequest();
        await handleApi(current.apiContext, req, res, url);
      } else if (isInteractionPath(url.pathname)) {
        await handleInteraction(current.provider, req, res, url.pathname, log);
      } else {
        await current.handle(req, res);
      }
    } catch (error) {
      log(`request failed: ${(error as Error).message}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    }
  }

  let signingKeys: SigningJwk[] = [];
  let cookieKeys: string[] = [];
  let persister: Persister | undefined;
  const packages = seededPackages();
  const store = new RecordStore(Object.entries(saved?.records ?? {}), () => persister?.schedule());
  const adapter = createAdapterFactory(store, {
    seconds: grace,
    isRefreshGrant: () => isRefreshGrantRequest(oidc),
    onGraceUse: () => log('a spent refresh token was accepted within the reuse grace window'),
  });

  function build(): void {
    const settings: ProviderSettings = {
      issuer,
      api,
      signingKeys,
      cookieKeys,
      adapter,
      lifetimes,
      stats,
      log,
      fixedRedirectPort,
    };
    const provider = buildProvider(oidc, settings);
    const publicKeys = { keys: signingKeys.map(publicJwk) };
    current = {
      provider,
      handle: provider.callback(),
      apiContext: { issuer, api, jwks: () => publicKeys, packages },
    };
  }

  try {
    signingKeys = saved?.signingKeys.length ? saved.signingKeys : [await generateSigningKey()];
    cookieKeys = saved?.cookieKeys.length ? saved.cookieKeys : [generateCookieKey()];
    if (options.dataFile) {
      const file = options.dataFile;
      persister = createPersister(
        file,
        () => ({ signingKeys, cookieKeys, records: store.snapshot() }),
        (error) => log(`could not write the data file ${file}: ${error.message}`),
      );
      // Keys exist on disk before the first token does: a crash must not orphan tokens signed
      // with keys that were never written.
      if (!saved) await persister.flush();
    }
    build();
    controlPlane = await startControlPlane({
      issuer,
      api,
      clientIds: seededClients(fixedRedirectPort).map((client) => String(client.client_id)),
      idpJwks: () => current?.apiContext.jwks() ?? { keys: [] },
      firebase: cpOptions.firebase,
      regionPorts: cpOptions.regionPorts,
      ttl: cpOptions.ttl,
      stats,
      log,
      listeners: {
        scheme: options.tls ? 'https' : 'http',
        host: HOST,
        create: (handler) => createListener(options.tls, handler),
        listen,
      },
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const cp = controlPlane;
  const controlPlaneUrl = `${issuer}${CONTROL_PLANE_PATH}`;

  let closing: Promise<void> | undefined;

  return {
    issuer,
    api,
    controlPlane: controlPlaneUrl,
    tenants: cp.tenants,
    regions: cp.regions.urls,
    adminApiKey: cp.context.adminApiKey,
    clients: {
      cli: { client_id: CLI_CLIENT_ID },
      machine: { client_id: MACHINE_CLIENT_ID, client_secret: MACHINE_CLIENT_SECRET },
      ...moreMachineClients(),
      fixedPort: fixedPortClient,
    },
    users: USERS,
    stats: stats.stats,
    readyLine() {
      return {
        issuer,
        api,
        control_plane: controlPlaneUrl,
        tenants: cp.tenants,
        admin_api_key: cp.context.adminApiKey,
        clients: {
          cli: { client_id: CLI_CLIENT_ID },
          machine: { client_id: MACHINE_CLIENT_ID, client_secret: MACHINE_CLIENT_SECRET },
          ...moreMachineClients(),
          fixed_port: fixedPortClient,
        },
        users: USERS.map((user) => user.email),
      };
    },
    async rotateKeys({ keepOld = true } = {}) {
      signingKeys = rotatedKeys(signingKeys, await generateSigningKey(), keepOld);
      // oidc-provider fixes its keystore at construction; the new instance shares the store,
      // so sessions, grants and tokens carry over.
      build();
      persister?.schedule();
      log(`signing keys rotated (${keepOld ? 'old keys kept' : 'old keys dropped'})`);
    },
    stopRegion: (region) => cp.regions.stop(region),
    startRegion: (region) => cp.regions.start(region),
    async revokeGrantsOf(sub) {
      const revoked = revokeGrantsOfAccount(store, sub);
      log(`revoked ${revoked} grant(s) of ${sub}`);
    },
    close() {
      closing ??= (async () => {
        await Promise.all([
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
          cp.regions.closeAll(),
        ]);
        await persister?.close();
      })();
      return closing;
    },
  };
}

/** The machine clients with other token endpoint authentication methods (see clients.ts). */
function moreMachineClients(): Pick<DevIdp['clients'], 'machinePost' | 'machineJwt'> {
  return {
    machinePost: { client_id: MACHINE_POST_CLIENT_ID, client_secret: MACHINE_POST_CLIENT_SECRET },
    machineJwt: { client_id: MACHINE_JWT_CLIENT_ID, private_jwk: { ...MACHINE_JWT_PRIVATE_JWK } },
  };
}
