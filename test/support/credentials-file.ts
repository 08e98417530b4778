/**
 * Homes for `createKeyfob({ credentialsFile })` tests: dev-idp's `dev` (browser), `pw` (password
 * logins, no browser needed) and `robot` (client credentials whose secret comes only from a
 * file: ROBOT_SECRET is not set, and its configured client id is a placeholder).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DevIdp } from '@keyfob/dev-idp';

export interface VendorHome {
  /** The instance's home (and the user's HOME). */
  home: string;
  env: Record<string, string>;
}

export function vendorHome(idp: DevIdp): VendorHome {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-credfile-'));
  const config = [
    'default_provider: pw',
    'providers:',
    '  pw:',
    '    type: password',
    `    issuer: ${idp.issuer}`,
    `    client_id: ${idp.clients.cli.client_id}`,
    '    scopes: [openid, profile, email, offline_access]',
    `    api_base: ${idp.api}`,
    `    resource: ${idp.api}`,
    '  robot:',
    '    type: client_credentials',
    `    issuer: ${idp.issuer}`,
    '    client_id: placeholder-of-the-vendor',
    '    client_secret: ${ROBOT_SECRET}',
    `    api_base: ${idp.api}`,
    `    resource: ${idp.api}`,
    '',
  ].join('\n');
  writeFileSync(join(home, 'config.yaml'), config, { mode: 0o600 });
  return { home, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, KEYFOB_HOME: home } };
}

/** An interaction that fails the test if a password login tries to use a browser or prompt. */
export function noInteraction() {
  const fail = () => {
    throw new Error('this login must not use the browser or device interaction');
  };
  return { showAuthorizationUrl: fail, showDeviceCode: fail, openBrowser: fail, waiting: fail, notice: fail };
}
