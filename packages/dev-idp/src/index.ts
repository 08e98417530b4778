/**
 * @keyfob/dev-idp: a local OpenID provider with a protected demo API, for development, demos
 * and tests. Public exports only.
 */

export { runDevIdpCli } from './cli.js';
export type {
  DevIdp,
  DevIdpControlPlaneStats,
  DevIdpOptions,
  DevIdpStats,
  DevIdpTenant,
  DevIdpUser,
} from './contract.js';
export { type KeyfobConfigOptions, keyfobConfig } from './keyfob-config.js';
export { approveDeviceLogin, completeBrowserLogin } from './robot.js';
export { startDevIdp } from './server.js';
