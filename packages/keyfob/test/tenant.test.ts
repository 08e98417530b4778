/**
 * Which tenant (DESIGN.md, Control planes) as tables: `--tenant` > `<PREFIX>_TENANT` > the
 * profile's tenant > the provider's `tenant` > the tenant marked default > the only one > a
 * choice when a person is there > TENANT_REQUIRED; an explicitly named profile keeps its own
 * tenant over the variable; another tenant on the selected profile is no conflict.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ListedTenant } from '../src/control-plane/control-plane.js';
import { InvalidInput, TenantNotFound, TenantRequired } from '../src/errors.js';
import { bindingConflict, bindingOf } from '../src/lifecycle/binding.js';
import { resolveChain } from '../src/resolve/chain.js';
import { pickTenant, type TenantSources, tenantRequests, tokenPlace } from '../src/resolve/tenant.js';

const EU: ListedTenant = {
  id: 'eu',
  name: 'Europe',
  region: 'eu-1',
  server_url: 'https://eu.example/x',
  isDefault: false,
};
const US: ListedTenant = {
  id: 'us',
  name: 'US',
  region: 'us-1',
  server_url: 'https://us.example/x',
  isDefault: false,
};

async function picked(sources: TenantSources, tenants: ListedTenant[], choose?: () => Promise<string>) {
  const result = await pickTenant({
    requests: tenantRequests(sources),
    tenants,
    ...(choose ? { choose } : {}),
    command: 'keyfob login',
  });
  return [result.tenant.id, result.source];
}

const env = (value: string) => ({ name: 'KEYFOB_TENANT', value });

describe('the tenant order', () => {
  it('each source wins over the ones below it', async () => {
    const all: TenantSources = {
      option: 'us',
      env: env('eu'),
      profile: { name: 'p', tenant: 'us', explicit: false },
      provider: { name: 'cloud', tenant: 'eu' },
    };
    assert.deepEqual(await picked(all, [EU, US]), ['us', '--tenant']);
    assert.deepEqual(await picked({ ...all, option: null }, [EU, US]), ['eu', 'KEYFOB_TENANT']);
    assert.deepEqual(await picked({ ...all, option: null, env: env('') }, [EU, US]), ['us', 'profile p']);
    assert.deepEqual(await picked({ provider: { name: 'cloud', tenant: 'eu' } }, [US, EU]), [
      'eu',
      'provider cloud',
    ]);
    assert.deepEqual(await picked({}, [EU, { ...US, isDefault: true }]), ['us', 'the default tenant']);
    assert.deepEqual(await picked({}, [US]), ['us', 'the only tenant']);
    assert.deepEqual(await picked({}, [EU, US], async () => 'eu'), ['eu', 'your choice']);
  });

  it('an explicitly named profile keeps its own tenant over the variable, not over --tenant', async () => {
    const profile = { name: 'work', tenant: 'eu', explicit: true };
    assert.deepEqual(await picked({ env: env('us'), profile }, [EU, US]), ['eu', 'profile work']);
    assert.deepEqual(await picked({ option: 'us', env: env('us'), profile }, [EU, US]), ['us', '--tenant']);
    // Selected, not named: the variable wins.
    assert.deepEqual(await picked({ env: env('us'), profile: { ...profile, explicit: false } }, [EU, US]), [
      'us',
      'KEYFOB_TENANT',
    ]);
  });

  it('TENANT_REQUIRED lists them when nothing decides and nobody chooses; TENANT_NOT_FOUND names them', async () => {
    await assert.rejects(
      picked({}, [EU, US]),
      (e: unknown) => e instanceof TenantRequired && /eu \(Europe\), us \(US\)/.test(e.message),
    );
    await assert.rejects(
      picked({ option: 'nope\u001b[31m' }, [EU, US]),
      (e: unknown) =>
        e instanceof TenantNotFound &&
        /^Tenant not found: nope \[31m; you belong to: eu \(Europe\), us \(US\)/.test(e.message),
    );
  });

  it('a tenant for a provider without a control plane is an error naming why', () => {
    const oidc = {
      name: 'dev',
      type: 'oidc' as const,
      issuer: 'https://id.example',
      client_id: 'c',
      allowed_origins: [],
      scopes: [],
      authorization_params: {},
    };
    assert.throws(
      () => tokenPlace(oidc, 'eu', '--tenant'),
      (e: unknown) => e instanceof InvalidInput && /no control plane/.test(e.message),
    );
    assert.equal(tokenPlace(oidc, null, null), undefined);
  });
});

describe('the chain and tenants', () => {
  const base = { envPrefix: 'KEYFOB', active: 'p', profileTenant: () => 'eu' };
  it('another tenant on the selected profile is a one-call tenant, not a conflict', () => {
    assert.equal(resolveChain({ ...base, explicit: { tenant: 'us' }, env: {} }).resolved.tenant, 'us');
    assert.equal(resolveChain({ ...base, explicit: {}, env: { KEYFOB_TENANT: 'us' } }).resolved.tenant, 'us');
    assert.equal(resolveChain({ ...base, explicit: {}, env: {} }).resolved.tenant, 'eu');
  });

  it('an explicit profile keeps its own tenant over KEYFOB_TENANT, and explain says it was hidden', () => {
    const { resolved, steps } = resolveChain({
      ...base,
      explicit: { profile: 'p' },
      env: { KEYFOB_TENANT: 'us' },
    });
    assert.equal(resolved.tenant, 'eu');
    const hidden = steps.find((s) => s.source === 'KEYFOB_TENANT');
    assert.equal(hidden?.outcome, 'hidden');
    assert.match(hidden?.detail ?? '', /tenant us; hidden by profile p's own tenant eu/);
  });
});

describe("an exchange session's binding", () => {
  const pw = {
    name: 'pw',
    type: 'password' as const,
    issuer: 'https://id.example',
    client_id: 'cli',
    allowed_origins: [],
    scopes: [],
    authorization_params: {},
  };
  const cloud = {
    name: 'cloud',
    type: 'exchange' as const,
    login: 'pw',
    control_plane: 'https://cp.example/cp',
    allowed_origins: [],
    scopes: [],
    authorization_params: {},
  };
  const stored = { bound_to: bindingOf(cloud, (n) => (n === 'pw' ? pw : undefined)) ?? undefined };

  it("is the login's place and the control plane together", () => {
    assert.deepEqual(stored.bound_to, {
      issuer: 'https://id.example',
      token_endpoint: null,
      client_id: 'cli',
      control_plane: 'https://cp.example/cp',
    });
    const movedLogin = bindingOf(cloud, () => ({ ...pw, issuer: 'https://other.example' }));
    assert.match(bindingConflict(stored, movedLogin)?.now ?? '', /issuer https:\/\/other.example/);
    const movedPlane = bindingOf({ ...cloud, control_plane: 'https://cp2.example' }, () => pw);
    assert.match(bindingConflict(stored, movedPlane)?.now ?? '', /control plane https:\/\/cp2.example/);
  });

  it("without the login's configuration only the control plane is compared", () => {
    assert.equal(bindingConflict(stored, bindingOf(cloud)), null);
    assert.ok(bindingConflict(stored, bindingOf({ ...cloud, control_plane: 'https://cp2.example' })));
  });
});
