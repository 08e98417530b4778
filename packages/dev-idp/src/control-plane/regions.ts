/**
 * One listener per region on 127.0.0.1, each serving that region's API under `/<region>`; tests
 * stop and start one to see how a client meets a regional server that does not answer.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { StatsRecorder } from '../stats.js';
import type { Minter } from './mint.js';
import { handleRegional } from './regional-api.js';
import { regionServerUrl, type Tenant } from './tenants.js';

type Listener = Server | HttpsServer;

/** How the listeners are made: the same plain or TLS servers as dev-idp's own. */
export interface RegionListenerFactory {
  scheme: 'http' | 'https';
  host: string;
  create(handler: (req: IncomingMessage, res: ServerResponse) => void): Listener;
  listen(server: Listener, port: number): Promise<number>;
}

/** The running regional servers. */
export interface Regions {
  /** Each region's `server_url`. */
  readonly urls: Readonly<Record<string, string>>;
  stop(region: string): Promise<void>;
  start(region: string): Promise<void>;
  closeAll(): Promise<void>;
}

/** What the regional servers serve with. */
export interface RegionSettings {
  regions: ReadonlyArray<string>;
  ports: Readonly<Record<string, number>>;
  minter: Minter;
  tenants(): ReadonlyArray<Tenant>;
  stats: StatsRecorder;
  log(line: string): void;
}

function close(server: Listener): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Starts every region's listener; on failure the ones already started are closed. */
export async function startRegions(
  factory: RegionListenerFactory,
  settings: RegionSettings,
): Promise<Regions> {
  const servers = new Map<string, { server: Listener; port: number }>();
  const urls: Record<string, string> = {};

  const makeServer = (region: string): Listener =>
    factory.create((req, res) => {
      const started = Date.now();
      const rawUrl = req.url ?? '';
      const origin = `${factory.scheme}://${factory.host}`;
      const url = rawUrl.startsWith('/') ? URL.parse(`${origin}${rawUrl}`) : null;
      settings.stats.controlPlane('regionalRequests', region);
      res.on('finish', () => {
        settings.log(
          `${region} ${req.method} ${url?.pathname ?? '?'} ${res.statusCode} ${Date.now() - started}ms`,
        );
      });
      if (!url) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
        return;
      }
      handleRegional({ region, minter: settings.minter, tenants: settings.tenants }, req, res, url).catch(
        (error: Error) => {
          settings.log(`${region} request failed: ${error.message}`);
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end();
        },
      );
    });

  try {
    for (const region of settings.regions) {
      const server = makeServer(region);
      const port = await factory.listen(server, settings.ports[region] ?? 0);
      servers.set(region, { server, port });
      urls[region] = regionServerUrl(`${factory.scheme}://${factory.host}:${port}`, region);
    }
  } catch (error) {
    await Promise.all([...servers.values()].map((entry) => close(entry.server)));
    throw error;
  }

  const entry = (region: string) => {
    const found = servers.get(region);
    if (!found) throw new Error(`dev-idp has no region ${region}; it has ${[...servers.keys()].join(', ')}`);
    return found;
  };
  return {
    urls,
    async stop(region) {
      await close(entry(region).server);
      settings.log(`region ${region} stopped`);
    },
    async start(region) {
      const found = entry(region);
      if (found.server.listening) return;
      // A closed server cannot listen again reliably with its old connections state: make a new one.
      const server = makeServer(region);
      await factory.listen(server, found.port);
      servers.set(region, { server, port: found.port });
      settings.log(`region ${region} started`);
    },
    async closeAll() {
      await Promise.all([...servers.values()].map((found) => close(found.server)));
    },
  };
}
