import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConflictingCredentials } from '../src/errors.js';
import { type ChainInput, resolveChain } from '../src/resolve/chain.js';

function input(over: Partial<ChainInput> = {}): ChainInput {
  return {
    explicit: {},
    env: {},
    envPrefix: 'KEYFOB',
    active: null,
    profileTenant: () => null,
    ...over,
  };
}

const TOKEN = 'tok-c4n4ry';
const SECRET = 'sec-c4n4ry';

describe('precedence: a higher level silently wins, and explain says what it hid', () => {
  const table: Array<[string, Partial<ChainInput>, string, string]> = [
    [
      'explicit token over environment token',
      { explicit: { token: TOKEN }, env: { KEYFOB_TOKEN: 'e' } },
      'explicit',
      'token',
    ],
    [
      'explicit profile over environment token',
      { explicit: { profile: 'p' }, env: { KEYFOB_TOKEN: 'e' } },
      'explicit',
      'profile',
    ],
    [
      'explicit client over KEYFOB_PROFILE',
      { explicit: { clientId: 'c', clientSecret: SECRET }, env: { KEYFOB_PROFILE: 'x' } },
      'explicit',
      'client_credentials',
    ],
    [
      'environment token over KEYFOB_PROFILE',
      { env: { KEYFOB_TOKEN: TOKEN, KEYFOB_PROFILE: 'x' } },
      'environment',
      'token',
    ],
    [
      'environment token file over the active profile',
      { env: { KEYFOB_TOKEN_FILE: '/t' }, active: 'a' },
      'environment',
      'token_file',
    ],
    [
      'environment client over the active profile',
      { env: { KEYFOB_CLIENT_ID: 'c', KEYFOB_CLIENT_SECRET: SECRET }, active: 'a' },
      'environment',
      'client_credentials',
    ],
    [
      'KEYFOB_PROFILE over the active profile',
      { env: { KEYFOB_PROFILE: 'x' }, active: 'a' },
      'profile',
      'profile',
    ],
    ['the active profile over default', { active: 'a' }, 'profile', 'profile'],
    ['default when nothing is set', {}, 'default', 'profile'],
  ];
  for (const [name, over, level, kind] of table) {
    it(name, () => {
      const { resolved, steps } = resolveChain(input(over));
      assert.equal(resolved.level, level);
      assert.equal(resolved.kind, kind);
      assert.equal(steps.filter((s) => s.outcome === 'taken').length, 1, 'exactly one step is taken');
      const hidden = steps.filter((s) => s.outcome === 'hidden');
      for (const h of hidden) assert.match(h.detail, /hidden by/);
      const all = JSON.stringify(steps);
      assert.doesNotMatch(all, /c4n4ry/, 'no secret in the steps');
      if (Object.keys(over.env ?? {}).length + Object.keys(over.explicit ?? {}).length > 1 || over.active) {
        assert.ok(hidden.length > 0 || level === 'profile', 'what lost is reported');
      }
    });
  }

  it('names the variable or flag that was taken', () => {
    assert.equal(resolveChain(input({ env: { KEYFOB_TOKEN: TOKEN } })).resolved.origin, 'KEYFOB_TOKEN');
    assert.equal(resolveChain(input({ explicit: { profile: 'p' } })).resolved.origin, '--profile');
    assert.equal(
      resolveChain(input({ env: { ACME_TOKEN: TOKEN }, envPrefix: 'ACME' })).resolved.origin,
      'ACME_TOKEN',
    );
  });

  it('a conflict on a hidden level is reported, not thrown', () => {
    const { resolved, steps } = resolveChain(
      input({
        explicit: { profile: 'p' },
        env: { KEYFOB_TOKEN: TOKEN, KEYFOB_CLIENT_ID: 'c', KEYFOB_CLIENT_SECRET: SECRET },
      }),
    );
    assert.equal(resolved.kind, 'profile');
    assert.ok(
      steps.some((s) => s.level === 'environment' && s.outcome === 'hidden' && /both/.test(s.detail)),
    );
  });
});

describe('conflicts on one level name both credentials', () => {
  const conflicts: Array<[string, Partial<ChainInput>, RegExp]> = [
    [
      'a token with client credentials',
      { explicit: { token: TOKEN, clientId: 'c', clientSecret: SECRET } },
      /a token and client credentials/,
    ],
    ['a profile with a token', { explicit: { profile: 'p', token: TOKEN } }, /a token and profile p/],
    [
      'a profile with client credentials',
      { explicit: { profile: 'p', clientId: 'c', clientSecret: SECRET } },
      /client credentials and profile p/,
    ],
    [
      'KEYFOB_TOKEN with KEYFOB_CLIENT_ID',
      { env: { KEYFOB_TOKEN: TOKEN, KEYFOB_CLIENT_ID: 'c', KEYFOB_CLIENT_SECRET: SECRET } },
      /KEYFOB_TOKEN and KEYFOB_CLIENT_ID/,
    ],
    [
      'KEYFOB_TOKEN with KEYFOB_TOKEN_FILE',
      { env: { KEYFOB_TOKEN: TOKEN, KEYFOB_TOKEN_FILE: '/t' } },
      /KEYFOB_TOKEN and KEYFOB_TOKEN_FILE/,
    ],
    ['a client id without its secret', { env: { KEYFOB_CLIENT_ID: 'c' } }, /go together/],
    [
      'a tenant beside a profile that carries its own',
      { explicit: { profile: 'p', tenant: 't2' }, profileTenant: () => 't1' },
      /conflicts with profile p, which carries tenant t1/,
    ],
  ];
  for (const [name, over, message] of conflicts) {
    it(name, () => {
      assert.throws(
        () => resolveChain(input(over)),
        (e: unknown) =>
          e instanceof ConflictingCredentials && message.test(e.message) && !e.message.includes('c4n4ry'),
      );
    });
  }

  it('a tenant that matches the profile is fine', () => {
    const { resolved } = resolveChain(
      input({ explicit: { profile: 'p', tenant: 't1' }, profileTenant: () => 't1' }),
    );
    assert.equal(resolved.tenant, 't1');
  });
});
