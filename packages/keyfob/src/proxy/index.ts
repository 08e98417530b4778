/**
 * `kf.proxy()`: a local credential proxy (as `kubectl proxy` is) on 127.0.0.1 for tools that
 * must call an API without ever holding its credential. A tool gets the proxy's URL and a random
 * key; the proxy forwards its requests under the profile's `api_base` (or tenant `server_url`)
 * only, each with a fresh credential. Loaded lazily: nothing here runs for other operations.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidInput } from '../errors.js';
import { parseCredentialPlacement } from '../http/credential.js';
import type { InstanceContext } from '../instance/context.js';
import { callExplicit, type TokenMemo } from '../instance/token.js';
import type { CredentialProxy, ProxyOptions } from '../instance/types.js';
import { parseScopes } from '../session.js';
import { proxyCredential } from './credential.js';
import { proxyHandler, refuseConnect, refuseUpgrade } from './server.js';
import { assertBaseAllowed, forbiddenUrls, upstreamBase } from './upstream.js';

/** Hosts the proxy may listen on: loopback only. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1']);

/**
 * Starts the proxy. The credential is fetched first, so a missing login fails here (with the
 * command to run), not at the tool's first request.
 * @throws AuthenticationRequired with no session; InvalidConfig with no upstream (naming the
 *   key to set) or an upstream under the identity provider or control plane; InvalidInput for
 *   bad options.
 */
export async function startProxy(
  ctx: InstanceContext,
  memo: TokenMemo,
  options: ProxyOptions = {},
): Promise<CredentialProxy> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new InvalidInput('the proxy listens on 127.0.0.1 (or ::1) only');
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidInput('the proxy port must be a whole number from 0 (any free port) to 65535');
  }
  const scopes = options.scope === undefined ? undefined : parseScopes(options.scope);
  if (scopes && scopes.length === 0) throw new InvalidInput('--scope needs at least one scope');

  const credential = proxyCredential(ctx, memo, options.profile, scopes);
  const first = await credential.token(false);
  const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
  const { resolved } = ctx.resolve(
    callExplicit(options.profile !== undefined ? { profile: options.profile } : {}),
    cfg,
    st,
  );
  const providerName =
    resolved.kind === 'profile' ? ctx.binding(cfg, st, resolved.profile).provider : ctx.ambientProvider(cfg);
  const providerConfig = providerName ? ctx.providerConfig(cfg, providerName) : undefined;
  const base = upstreamBase(providerName, providerConfig, first.tenant?.server_url);
  const { discoverIssuer } = await import('../discovery/metadata.js');
  const runtime = ctx.runtime();
  const forbidden = await forbiddenUrls(
    cfg,
    base,
    async (issuer) =>
      (await discoverIssuer(issuer, { fetch: runtime.fetch })).document as unknown as Record<string, unknown>,
  );
  const upstream = { base, forbidden };
  assertBaseAllowed(upstream, providerName ? `providers.${providerName}.api_base` : 'api_base');

  const placement = parseCredentialPlacement(providerConfig?.credential);
  const key = randomBytes(32).toString('base64url');
  let listeningPort = 0;
  const server = createServer(
    proxyHandler({
      key,
      keyHeader: `x-${ctx.names.app.toLowerCase()}-proxy-key`,
      app: ctx.names.app,
      upstream,
      credential,
      placement: typeof placement === 'string' ? { kind: 'bearer' } : placement,
      fetch: ctx.apiFetch(),
      loginCommand:
        resolved.kind === 'profile'
          ? ctx.loginCommand(resolved.profile, resolved.level === 'explicit')
          : ctx.command('login'),
      log: ctx.log,
      port: () => listeningPort,
    }),
  );
  server.on('connect', refuseConnect);
  server.on('upgrade', refuseUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  listeningPort = (server.address() as AddressInfo).port;
  ctx.log.debug('proxy.started', { port: listeningPort, upstream: base.origin });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  const url = `http://${host === '::1' ? '[::1]' : host}:${listeningPort}`;
  return {
    url,
    key,
    upstream: base.href,
    close,
    [ASYNC_DISPOSE]: close,
  };
}

/** `Symbol.asyncDispose`, as `instance/session-client.ts` finds it on Node 20. */
const ASYNC_DISPOSE: typeof Symbol.asyncDispose =
  Symbol.asyncDispose ?? (Symbol.for('nodejs.asyncDispose') as typeof Symbol.asyncDispose);
