import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInput, ProviderNotFound } from '../src/errors.js';
import { selectLoginProvider, selectProfile } from '../src/resolve/select.js';

describe('which profile a command uses', () => {
  type Input = Parameters<typeof selectProfile>[0];
  const base: Input = { explicit: undefined, envValue: undefined, envName: 'KEYFOB_PROFILE', active: null };
  const table: Array<[string, Partial<Input>, string, string]> = [
    ['--profile wins over everything', { explicit: 'a', envValue: 'b', active: 'c' }, 'a', 'flag'],
    ['then KEYFOB_PROFILE', { envValue: 'b', active: 'c' }, 'b', 'environment'],
    ['then the active profile', { active: 'c' }, 'c', 'active'],
    ['then default', {}, 'default', 'default'],
    ['an empty KEYFOB_PROFILE counts as unset', { envValue: '', active: 'c' }, 'c', 'active'],
  ];
  for (const [name, input, expected, source] of table) {
    it(name, () => {
      assert.deepEqual(selectProfile({ ...base, ...input }), { name: expected, source });
    });
  }

  it('refuses hostile names without echoing them', () => {
    for (const bad of ['../x', 'a/b', '..', '.', '', 'x'.repeat(65), 'eyJtoken with space']) {
      assert.throws(
        () => selectProfile({ ...base, explicit: bad }),
        (error: unknown) => error instanceof InvalidInput && (bad.length < 3 || !error.message.includes(bad)),
      );
    }
    assert.throws(
      () => selectProfile({ ...base, envValue: '../x' }),
      /KEYFOB_PROFILE: not a valid profile name/,
    );
  });
});

describe('which provider login uses', () => {
  const base = {
    argument: undefined as string | undefined,
    profileProvider: null as string | null,
    defaultProvider: null as string | null,
    configured: ['corp', 'robots'] as string[],
    loginCommand: 'keyfob login',
  };

  it('the argument first, and it must be configured', async () => {
    assert.equal(
      await selectLoginProvider({ ...base, argument: 'robots', profileProvider: 'corp' }),
      'robots',
    );
    await assert.rejects(selectLoginProvider({ ...base, argument: 'nope' }), (e: unknown) => {
      return e instanceof ProviderNotFound && /nope/.test(e.message) && /corp, robots/.test(e.message);
    });
  });

  it("then the profile's own provider, then default_provider", async () => {
    assert.equal(
      await selectLoginProvider({ ...base, profileProvider: 'robots', defaultProvider: 'corp' }),
      'robots',
    );
    assert.equal(await selectLoginProvider({ ...base, defaultProvider: 'corp' }), 'corp');
  });

  it('then the only configured provider', async () => {
    assert.equal(await selectLoginProvider({ ...base, configured: ['solo'] }), 'solo');
  });

  it('then a choice, only when a person is there to make it', async () => {
    assert.equal(
      await selectLoginProvider({ ...base, choose: async (names) => names[1] as string }),
      'robots',
    );
    await assert.rejects(selectLoginProvider(base), (e: unknown) => {
      return (
        e instanceof ProviderNotFound &&
        /more than one provider is configured: corp, robots/.test(e.message) &&
        /keyfob login PROVIDER/.test(e.message)
      );
    });
  });

  it('no provider at all says where to add one', async () => {
    await assert.rejects(selectLoginProvider({ ...base, configured: [] }), /no provider is configured/);
  });
});
