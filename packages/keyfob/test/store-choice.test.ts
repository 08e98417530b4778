/**
 * The default store choice: the rules on their own (with a stand-in probe), then as users meet
 * them, in child processes on a real Secret Service, on a bus without one, and with no bus at all.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateX25519Identity } from 'age-encryption';
import { envWithoutBus, startBus, type TestBus } from '../../../test/support/keyring.js';
import { appNames } from '../src/config/names.js';
import { InvalidInput, StoreUnavailable } from '../src/errors.js';
import { chooseStore, type StoreChoiceInput } from '../src/stores/choose.js';
import { randomHex } from '../src/stores/keychain/keyring.js';
import type { KeychainProbe } from '../src/stores/keychain.js';
import { lastJsonLine, runWithEnv } from './fixtures/env-children.js';
import { keyfobError, tempDir } from './fixtures/helpers.js';

const names = appNames();
const HOME = '/home/u/.config/keyfob';
const answered: KeychainProbe = {
  available: true,
  reason: 'the Secret Service (e.g. gnome-keyring) answered',
};
const silent: KeychainProbe = { available: false, reason: 'the Secret Service did not answer: no bus' };

function input(overrides: Partial<StoreChoiceInput>): StoreChoiceInput {
  return {
    names,
    home: HOME,
    explicit: null,
    explicitSource: null,
    recorded: null,
    encryptedConfigured: false,
    probeKeychain: async () => {
      throw new Error('the probe must not be called here');
    },
    ...overrides,
  };
}

describe('chooseStore rules', () => {
  test('the recorded store always wins, without probing, and says so', async () => {
    const choice = await chooseStore(input({ recorded: 'keychain' }));
    assert.deepEqual(choice, {
      kind: 'keychain',
      source: 'recorded',
      reason: 'keychain: recorded at first login',
      fallbackNotice: null,
    });
    const overridden = await chooseStore(
      input({ recorded: 'file', explicit: 'keychain', explicitSource: 'KEYFOB_STORAGE' }),
    );
    assert.equal(overridden.kind, 'file');
    assert.match(overridden.reason, /^file: recorded at first login \(KEYFOB_STORAGE asks for keychain/);
  });

  test('an explicit choice is used as it is, and an unreachable one is an error, not a fallback', async () => {
    const keychain = await chooseStore(
      input({ explicit: 'keychain', explicitSource: 'KEYFOB_STORAGE', probeKeychain: async () => answered }),
    );
    assert.deepEqual(keychain, {
      kind: 'keychain',
      source: 'explicit',
      reason: 'keychain: chosen by KEYFOB_STORAGE',
      fallbackNotice: null,
    });
    await assert.rejects(
      chooseStore(
        input({
          explicit: 'keychain',
          explicitSource: 'token_storage in /etc/x/config.yaml',
          probeKeychain: async () => silent,
        }),
      ),
      keyfobError(
        StoreUnavailable,
        'token_storage in /etc/x/config.yaml chooses the keychain store, but no keychain answered (the Secret Service did not answer: no bus)',
        'KEYFOB_STORAGE',
      ),
    );
    await assert.rejects(
      chooseStore(input({ explicit: 'encrypted-file', explicitSource: 'KEYFOB_STORAGE' })),
      keyfobError(StoreUnavailable, 'no passphrase or age identity', 'KEYFOB_PASSPHRASE'),
    );
    const prompted = await chooseStore(
      input({ explicit: 'encrypted-file', passphrasePromptAvailable: true }),
    );
    assert.equal(prompted.kind, 'encrypted-file');
    assert.equal(
      (await chooseStore(input({ explicit: 'file', explicitSource: 'KEYFOB_STORAGE' }))).kind,
      'file',
    );
    assert.equal(
      (await chooseStore(input({ explicit: 'memory' }))).reason,
      'memory: chosen by KEYFOB_STORAGE',
    );
  });

  test('by default: the keychain when one answers, silently', async () => {
    const choice = await chooseStore(input({ probeKeychain: async () => answered }));
    assert.deepEqual(choice, {
      kind: 'keychain',
      source: 'default',
      reason: 'keychain: the Secret Service (e.g. gnome-keyring) answered',
      fallbackNotice: null,
    });
  });

  test('by default without a keychain: encrypted-file when a key is configured, else file, never silently', async () => {
    const encrypted = await chooseStore(
      input({ encryptedConfigured: true, probeKeychain: async () => silent }),
    );
    assert.equal(encrypted.kind, 'encrypted-file');
    assert.match(encrypted.reason, /^encrypted-file: no keychain answered \(it did not answer\)/);
    assert.equal(
      encrypted.fallbackNotice,
      `No keychain answered (it did not answer); tokens are encrypted in ${HOME}/encrypted; choose with token_storage in config.yaml or KEYFOB_STORAGE.`,
    );
    assert.equal(
      encrypted.detail,
      'the Secret Service did not answer: no bus',
      'the details, for debug output',
    );

    const file = await chooseStore(input({ probeKeychain: async () => silent }));
    assert.equal(file.kind, 'file');
    assert.equal(
      file.reason,
      'file: no keychain answered (it did not answer); no passphrase or identity is configured',
    );
    assert.equal(
      file.fallbackNotice,
      `No keychain answered (it did not answer); tokens are in ${HOME}/sessions (readable only by you); choose with token_storage in config.yaml or KEYFOB_STORAGE.`,
    );
    assert.ok(!file.fallbackNotice.includes('\n'), 'one line');

    const acme = await chooseStore(input({ names: appNames('acme'), probeKeychain: async () => silent }));
    assert.match(acme.fallbackNotice ?? '', /ACME_STORAGE\.$/);
    const thrown = await chooseStore(
      input({
        probeKeychain: async () => {
          throw new Error('probe exploded');
        },
      }),
    );
    assert.equal(thrown.kind, 'file');
    assert.match(thrown.reason, /^file: no keychain answered \(it did not answer\)/);
    assert.equal(thrown.detail, 'probe exploded', "the probe's own words, for debug output only");
  });

  test('refuses malformed input', async () => {
    await assert.rejects(chooseStore(input({ explicit: 'cloud' as never })), InvalidInput);
    await assert.rejects(chooseStore(input({ home: '' })), InvalidInput);
    await assert.rejects(chooseStore(input({ encryptedConfigured: 'yes' as never })), InvalidInput);
  });
});

describe('the store choice in real processes', () => {
  let keyring: TestBus;
  let bare: TestBus;
  before(async () => {
    [keyring, bare] = await Promise.all([startBus(), startBus({ secretService: false })]);
  });
  after(async () => {
    await Promise.all([keyring?.close(), bare?.close()]);
  });

  const app = () => `kf-${randomHex(5)}`;
  const desktop = (extra: Record<string, string> = {}) => ({
    ...envWithoutBus(),
    ...keyring.env,
    DISPLAY: ':0',
    ...extra,
  });

  type ChildResult = {
    ok: boolean;
    kind?: string;
    source?: string;
    reason?: string;
    fallbackNotice?: string | null;
    subject?: string | null;
    tokenLength?: number | null;
    code?: string;
    message?: string;
  };
  async function child(
    home: string,
    command: 'login' | 'read',
    env: NodeJS.ProcessEnv,
  ): Promise<ChildResult> {
    const { stdout } = await runWithEnv('choose-child.ts', [home, command, 'work'], env);
    return lastJsonLine(stdout) as ChildResult;
  }

  test('a profile written while the keychain answered is still found there by a later process without a display', async () => {
    const home = path.join(await tempDir('keyfob-choice-'), 'home');
    const KF_TEST_APP = app();
    const first = await child(home, 'login', desktop({ KF_TEST_APP }));
    assert.equal(first.ok, true, first.message);
    assert.equal(first.kind, 'keychain');
    assert.equal(first.source, 'default');
    assert.equal(first.fallbackNotice, null);
    assert.equal(first.tokenLength, 8195, 'an 8 KB token round-trips');

    // Over SSH: no DISPLAY, no WAYLAND_DISPLAY, but the same keychain reachable.
    const headless = { ...envWithoutBus(), ...keyring.env, KF_TEST_APP };
    const later = await child(home, 'read', headless);
    assert.equal(later.ok, true, later.message);
    assert.equal(later.kind, 'keychain');
    assert.equal(later.source, 'recorded');
    assert.equal(later.reason, 'keychain: recorded at first login');
    assert.equal(later.subject, 'user-work');
    assert.equal(later.tokenLength, 8195);

    // With no bus at all the recorded keychain is unavailable: an error, not a second copy.
    const nowhere = await child(home, 'read', { ...envWithoutBus(), KF_TEST_APP });
    assert.equal(nowhere.ok, false);
    assert.equal(nowhere.code, 'STORE_UNAVAILABLE');
    assert.deepEqual(
      (await readdir(home)).sort(),
      ['keychain', 'locks', 'state.json'],
      'no file store appeared',
    );
  });

  test('with no Secret Service on the bus the fallback to file happens and is reported', async () => {
    const home = path.join(await tempDir('keyfob-choice-'), 'home');
    const result = await child(home, 'login', { ...envWithoutBus(), ...bare.env });
    assert.equal(result.ok, true, result.message);
    assert.equal(result.kind, 'file');
    assert.match(result.reason ?? '', /^file: no keychain answered \(/);
    assert.ok(result.fallbackNotice?.includes(path.join(home, 'sessions')), result.fallbackNotice ?? '');
    assert.match(result.fallbackNotice ?? '', /token_storage in config\.yaml or KEYFOB_STORAGE/);
    assert.equal(result.tokenLength, 8195);
  });

  test('with no bus and an identity file the fallback is encrypted-file, reported too', async () => {
    const root = await tempDir('keyfob-choice-');
    const home = path.join(root, 'home');
    const key = path.join(root, 'key.txt');
    await writeFile(key, `${await generateX25519Identity()}\n`, { mode: 0o600 });
    const result = await child(home, 'login', { ...envWithoutBus(), KF_TEST_IDENTITY_FILE: key });
    assert.equal(result.ok, true, result.message);
    assert.equal(result.kind, 'encrypted-file');
    assert.ok(result.fallbackNotice?.includes(path.join(home, 'encrypted')), result.fallbackNotice ?? '');
  });

  test('KEYFOB_STORAGE=keychain with no keychain is an error, and nothing is written', async () => {
    const home = path.join(await tempDir('keyfob-choice-'), 'home');
    for (const env of [
      { ...envWithoutBus(), KEYFOB_STORAGE: 'keychain' },
      { ...envWithoutBus(), ...bare.env, KEYFOB_STORAGE: 'keychain' },
    ]) {
      const result = await child(home, 'login', env);
      assert.equal(result.ok, false);
      assert.equal(result.code, 'STORE_UNAVAILABLE');
      assert.match(
        result.message ?? '',
        /^KEYFOB_STORAGE chooses the keychain store, but no keychain answered \(/,
      );
    }
    await assert.rejects(readdir(home), { code: 'ENOENT' });
  });
});
