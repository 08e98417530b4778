/**
 * `createKeyfob()`: the instance. It wires the operations in `instance/` to one shared context.
 * Only `getToken` is loaded up front; every other operation, and everything heavy (openid-client,
 * undici, the loopback server, the YAML parser, the keychain), on first use, so a cached token
 * costs a few small file reads.
 */
import { closeFleet } from './fleet/hook.js';
import type { KeyfobRequestInit } from './http/authenticated-fetch.js';
import { createContext } from './instance/context.js';
import { registerInternals } from './instance/internals.js';
import { createSession } from './instance/session-client.js';
import { getToken, TokenMemo } from './instance/token.js';
import type { Keyfob, KeyfobOptions } from './instance/types.js';

/** Creates a keyfob instance. Nothing is read until a method needs it. */
export function createKeyfob(options: KeyfobOptions = {}): Keyfob {
  const ctx = createContext(options);
  const memo = new TokenMemo();
  const instance: Keyfob = {
    names: ctx.names,
    commandNames: ctx.commandNames,
    home: ctx.home,
    config: () => ctx.config(),
    http: (input, init) => ctx.runtime().fetch(input, init),
    async login(opts) {
      memo.clear();
      return (await import('./instance/login.js')).login(ctx, opts);
    },
    getToken: (opts = {}) => getToken(ctx, memo, opts),
    async importSession(opts) {
      memo.clear();
      return (await import('./instance/import-session.js')).importSession(ctx, opts);
    },
    async logout(opts = {}) {
      memo.clear();
      return (await import('./instance/logout.js')).logout(ctx, opts);
    },
    status: async () => (await import('./instance/status.js')).status(ctx),
    async profiles() {
      const [cfg, st] = await Promise.all([ctx.config(), ctx.state()]);
      return ctx.knownProfiles(cfg, st);
    },
    whoami: async (opts = {}) => (await import('./instance/whoami.js')).whoami(ctx, memo, opts),
    fetch: async (input: string | URL, init?: KeyfobRequestInit) =>
      (await import('./instance/fetch.js')).authenticatedFetch(ctx, memo, input, init),
    async assumeUser(opts) {
      memo.clear();
      return (await import('./instance/assume-user.js')).assumeUser(ctx, opts);
    },
    servicePrincipals: {
      create: async (opts) =>
        (await import('./instance/service-principals.js')).createServicePrincipal(ctx, memo, opts),
      list: async (opts = {}) =>
        (await import('./instance/service-principals.js')).listServicePrincipals(ctx, memo, opts),
      delete: async (clientId, opts = {}) =>
        (await import('./instance/service-principals.js')).deleteServicePrincipal(ctx, memo, clientId, opts),
    },
    explain: async (opts = {}) => (await import('./instance/explain.js')).explain(ctx, opts),
    tenants: async (opts = {}) => (await import('./instance/tenants.js')).tenants(ctx, opts),
    async switchTenant(tenantId, opts = {}) {
      memo.clear();
      const result = await (await import('./instance/tenants.js')).switchTenant(ctx, tenantId, opts);
      memo.clear();
      return result;
    },
    async switchProfile(profile) {
      memo.clear();
      return (await import('./instance/switch.js')).switchProfile(ctx, profile);
    },
    session(profile, options) {
      const fetch = async (input: string | URL, init?: KeyfobRequestInit) =>
        (await import('./instance/fetch.js')).authenticatedFetch(ctx, memo, input, init);
      const closeConnections = async () => {
        await Promise.all([ctx.close(), closeFleet(ctx)]);
      };
      return createSession({ fetch, closeConnections }, profile, options);
    },
    close: async () => {
      await Promise.all([ctx.close(), closeFleet(ctx)]);
    },
    fleetStatus: async () => (await import('./fleet/status.js')).fleetStatus(ctx),
    profileInfo: async (profile) => (await import('./instance/profile-info.js')).profileInfo(ctx, profile),
    proxy: async (opts) => (await import('./proxy/index.js')).startProxy(ctx, memo, opts),
  };
  // The agent tools' executor reads the instance's environment and held credentials through this.
  registerInternals(instance, { ctx, memo });
  return instance;
}
