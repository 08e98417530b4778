/**
 * The auth command set, each command loaded only when it runs. Integrators mount this table
 * under their own name (see `mount.ts`); `keyfob` adds `dev-idp` to it.
 */
import type { CommandTable } from '../run.js';

export const authCommands: CommandTable = {
  agent: {
    summary: 'start, stop or show the agent (tokens from memory, one refresher)',
    load: async () => (await import('./agent.js')).agent,
  },
  'assume-user': {
    summary: 'act as a user of a tenant with an admin API key',
    load: async () => (await import('./assume-user.js')).assumeUser,
  },
  check: {
    summary: 'validate a token step by step',
    load: async () => (await import('./check.js')).check,
  },
  explain: {
    summary: 'show which credential a command would use, and why',
    load: async () => (await import('./explain.js')).explain,
  },
  fetch: {
    summary: 'make an authenticated HTTP request',
    load: async () => (await import('./fetch.js')).fetch,
  },
  fleet: {
    summary: "show the fleet's cached identities: names and expiries, never a token",
    load: async () => (await import('./fleet.js')).fleet,
  },
  login: {
    summary: 'log in with a provider and store the session',
    load: async () => (await import('./login.js')).login,
  },
  logout: {
    summary: 'revoke and remove a stored session',
    load: async () => (await import('./logout.js')).logout,
  },
  providers: {
    summary: 'list the configured providers, their flows and stored credentials',
    load: async () => (await import('./providers.js')).providers,
  },
  proxy: {
    summary: 'run a local credential proxy for tools (127.0.0.1 only)',
    load: async () => (await import('./proxy.js')).proxy,
  },
  refresh: {
    summary: 'refresh the access token now',
    load: async () => (await import('./refresh.js')).refresh,
  },
  'service-principal': {
    summary: 'create, list or delete service principals at the control plane',
    load: async () => (await import('./service-principal.js')).servicePrincipal,
  },
  status: {
    summary: 'show every profile, its session and the active one',
    load: async () => (await import('./status.js')).status,
  },
  switch: {
    summary: 'change the active profile, or the current tenant',
    load: async () => (await import('./switch.js')).switchCommand,
  },
  tenants: {
    summary: "list the tenants of the profile's login, the current one marked",
    load: async () => (await import('./tenants.js')).tenants,
  },
  token: {
    summary: 'print an access token, refreshing it first when needed',
    load: async () => (await import('./token.js')).token,
  },
  whoami: {
    summary: 'show who the token says you are',
    load: async () => (await import('./whoami.js')).whoami,
  },
};
