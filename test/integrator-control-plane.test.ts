/**
 * An integrator whose control plane differs from DESIGN.md's protocol implements the library's
 * `ControlPlane` interface and hands it to `createKeyfob({ controlPlane })` (DESIGN.md, Control
 * planes): logins, tenant lists, exchanges, renewals and whoami of exchange providers then go
 * through it, and none through the wire protocol at the configured `control_plane`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ControlPlane,
  ControlPlaneError,
  type ControlPlaneToken,
  createKeyfob,
  type ListedTenant,
  type LoginInteraction,
} from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';

let idp: DevIdp;
let home: string;
before(async () => {
  idp = await startDevIdp();
  home = mkdtempSync(join(tmpdir(), 'keyfob-vendor-cp-'));
});
after(async () => {
  await idp?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

const nobody: LoginInteraction = {
  showAuthorizationUrl: () => assert.fail('no browser'),
  showDeviceCode: () => assert.fail('no device code'),
  openBrowser: async () => assert.fail('no browser'),
  waiting: () => () => {},
  notice() {},
};

/**
 * A vendor's control plane in the integrator's own code: its tenant list is its own ("accounts",
 * one region here), and it exchanges through dev-idp's token endpoint by its own HTTP call.
 */
function vendorControlPlane(target: DevIdp) {
  const calls: string[] = [];
  const eu = target.tenants.find((tenant) => tenant.tenant_id === 'acme-eu');
  assert.ok(eu);
  const controlPlane: ControlPlane = {
    url: 'https://vendor.invalid/accounts',
    async listTenants(subjectToken): Promise<ListedTenant[]> {
      calls.push('listTenants');
      assert.ok(subjectToken.split('.').length === 3, 'the login ID token is the subject');
      return [
        {
          id: eu.tenant_id,
          name: 'Vendor account',
          region: eu.region,
          server_url: eu.server_url,
          isDefault: true,
        },
      ];
    },
    async exchange(request): Promise<ControlPlaneToken> {
      calls.push(`exchange ${request.tenantId}`);
      const response = await fetch(`${target.controlPlane}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: request.subjectToken,
          subject_token_type: `urn:ietf:params:oauth:token-type:${request.subjectTokenType}`,
          audience: request.tenantId,
        }),
      });
      const body = (await response.json()) as { access_token: string; expires_in: number; scope: string };
      const now = new Date();
      return {
        accessToken: body.access_token,
        tokenType: 'Bearer',
        expiresAt: new Date(now.getTime() + body.expires_in * 1000).toISOString(),
        obtainedAt: now.toISOString(),
        scopes: body.scope.split(' '),
        tenant: null,
      };
    },
    async whoami(token) {
      calls.push('whoami');
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
      return { id: claims.sub, email: claims.email, tenant_id: claims.tenant_id, vendor: true };
    },
    async assumeUser() {
      throw new ControlPlaneError('this vendor has no impersonation');
    },
    async createServicePrincipal() {
      throw new ControlPlaneError('this vendor has no service principals');
    },
    async listServicePrincipals() {
      return [];
    },
    async deleteServicePrincipal() {},
  };
  return { controlPlane, calls };
}

describe('createKeyfob({ controlPlane }): an integrator’s own control plane', () => {
  it('is used for the login, the tenant list, the exchange, the regional call and whoami', async () => {
    const { controlPlane, calls } = vendorControlPlane(idp);
    // The configured control_plane is unused: nothing may be sent there (it does not resolve).
    const kf = createKeyfob({
      home,
      environment: {},
      controlPlane,
      config: {
        providers: {
          pw: {
            type: 'password',
            issuer: idp.issuer,
            client_id: idp.clients.cli.client_id,
            scopes: ['openid', 'profile', 'email', 'offline_access'],
          },
          cloud: { type: 'exchange', login: 'pw', control_plane: 'https://vendor.invalid/accounts' },
        },
      },
    });
    idp.stats.reset();
    const login = await kf.login({
      provider: 'cloud',
      email: 'alice@example.com',
      password: 'alice-password-1',
      interaction: nobody,
      personPresent: false,
    });
    assert.equal(login.tenant?.id, 'acme-eu', 'the vendor’s only (default) account was chosen');
    assert.deepEqual(calls, ['listTenants', 'exchange acme-eu']);
    assert.equal(idp.stats.controlPlane.tenants, 0, 'dev-idp’s own tenant list was never asked');

    const listed = await kf.tenants();
    assert.deepEqual(
      listed.tenants.map((tenant) => [tenant.id, tenant.name]),
      [['acme-eu', 'Vendor account']],
    );

    const hello = await kf.fetch('/v1/hello');
    assert.equal(hello.status, 200);
    const body = (await hello.json()) as { tenant_id: string; email: string };
    assert.equal(body.tenant_id, 'acme-eu');
    assert.equal(body.email, 'alice@example.com');

    const me = await kf.whoami();
    assert.equal(me.vendor, true, 'whoami went to the vendor’s control plane');
    assert.equal(me.tenant_id, 'acme-eu');
    await kf.close();
  });
});
