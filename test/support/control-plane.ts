/**
 * Helpers for control-plane tests: a config with an `assume_user` provider for dev-idp, raw
 * calls to a tenant's regional API, and a counting server of the test's own on 127.0.0.1.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import type { DevIdp } from '@keyfob/dev-idp';
import { filesUnder } from './cli.js';

/** YAML for provider `admin` (assume_user) at `controlPlane` (dev-idp's by default). */
export function adminProviderYaml(idp: DevIdp, controlPlane = idp.controlPlane, name = 'admin'): string {
  const eu = serverUrl(idp, 'acme-eu');
  return [
    `  ${name}:`,
    '    type: assume_user',
    `    control_plane: ${controlPlane}`,
    `    api_base: ${new URL(eu).origin}`,
  ].join('\n');
}

/** The regional server_url of a seeded tenant. */
export function serverUrl(idp: DevIdp, tenantId: string): string {
  const tenant = idp.tenants.find((t) => t.tenant_id === tenantId);
  if (!tenant) throw new Error(`dev-idp has no tenant ${tenantId}`);
  return tenant.server_url;
}

/** `GET <server_url>/v1/hello` with the token as Bearer, or as the `ks_uat` cookie. */
export async function regionalHello(
  idp: DevIdp,
  tenantId: string,
  token: string,
  as: 'bearer' | 'cookie' = 'bearer',
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> =
    as === 'bearer' ? { authorization: `Bearer ${token}` } : { cookie: `ks_uat=${token}` };
  const response = await fetch(`${serverUrl(idp, tenantId)}/v1/hello`, { headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body };
}

/** A server of the test's own: every request counted (method, path, headers), answered by `handler`. */
export async function ownServer(
  t: { after(fn: () => Promise<void> | void): void },
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
) {
  const requests: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> =
    [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests };
}

/** The home's files but the config cache (which any command may write): what keyfob keeps. */
export function diskState(home: string): Record<string, string> {
  return Object.fromEntries(Object.entries(filesUnder(home)).filter(([path]) => !path.includes('/cache/')));
}

/** `http://127.0.0.1:PORT` where nothing listens (a port just closed). */
export async function closedPort(): Promise<string> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
