/**
 * The CLI as a newcomer meets it, from a fresh home: output that stays on screen (through `npx`
 * too), the first error being the right one, messages a person can read, a `status` verdict,
 * and honest answers while a credential comes from the environment.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder, KEYFOB_BIN, loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';
import { startListener } from './support/issuer.js';
import { runInTerminal, screenOf } from './support/screen.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

let idp: DevIdp;
let home: TestHome;
before(async () => {
  idp = await startDevIdp();
  home = makeHome(idp);
  assert.equal((await loginWithDevice(idp, home)).code, 0);
});
after(async () => {
  await idp?.close();
});

/** `npx` as the README runs it, offline and without npm's update check, its cache outside the home. */
function npxEnv(env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    npm_config_update_notifier: 'false',
    npm_config_offline: 'true',
    npm_config_cache: mkdtempSync(join(tmpdir(), 'keyfob-npm-cache-')),
  };
}

function quoted(argv: readonly string[]): string {
  return argv.map((a) => `'${a}'`).join(' ');
}

describe('output at a terminal', () => {
  it('every command that prints data leaves it on screen, run directly and through npx', async () => {
    const commands: Array<{ args: string[]; shows: RegExp }> = [
      { args: ['fetch', `${idp.api}/hello`], shows: /"sub":"user-alice"/ },
      { args: ['token'], shows: /^eyJ/ },
      { args: ['status'], shows: /^\* default\s+dev\s+user-alice/ },
      { args: ['whoami'], shows: /^sub\s+user-alice$/ },
      { args: ['providers'], shows: /^\* dev\s+oidc/ },
      { args: ['explain'], shows: /^Using profile default/ },
      { args: ['check', '-', '--provider', 'dev'], shows: /^valid: signed by/ },
    ];
    const env = { ...npxEnv(home.env), NO_COLOR: '1' };
    for (const { args, shows } of commands) {
      for (const keyfob of [
        [process.execPath, KEYFOB_BIN],
        ['npx', 'keyfob'],
      ]) {
        // `check -` reads the token on stdin, from `keyfob token` (a token never goes in argv).
        const argv =
          args[0] === 'check'
            ? ['sh', '-c', `${quoted([...keyfob, 'token'])} | ${quoted([...keyfob, ...args])}`]
            : [...keyfob, ...args];
        const run = await runInTerminal(argv, { env, cwd: REPO });
        const screen = screenOf(run.output);
        assert.equal(run.code, 0, `${argv.join(' ')}:\n${run.output}`);
        assert.ok(
          screen.some((line) => shows.test(line)),
          `${keyfob[0]} ${args[0]}: ${shows} is on screen:\n${screen.join('\n')}\n(raw ${JSON.stringify(run.output)})`,
        );
      }
    }
  });

  it('piped, the fetch body is passed on byte for byte: no newline added', async () => {
    const piped = await runCli(['fetch', `${idp.api}/hello`], { env: home.env });
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(piped.stdout.startsWith('{') && piped.stdout.endsWith('}'), JSON.stringify(piped.stdout));
  });
});

describe('the first error is the right one', () => {
  it('fetch with no session: exit 2 naming login, not an origin refusal; nothing sent', async () => {
    const fresh = makeHome(idp);
    const listener = await startListener();
    try {
      for (const url of [listener.url, `${idp.api}/hello`]) {
        const result = await runCli(['fetch', url], { env: fresh.env });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /^keyfob: not logged in \(profile default\); run `keyfob login`\n$/);
      }
      assert.equal(listener.hits(), 0, 'nothing reached the other origin');
    } finally {
      await listener.close();
    }
  });

  it('whoami on a profile from --with-token shows its token while it is valid', async () => {
    const token = (await runCli(['token'], { env: home.env })).stdout.trim();
    const target = makeHome(idp);
    const login = await runCli(['login', '--with-token', '--profile', 'given'], {
      env: target.env,
      input: token,
    });
    assert.equal(login.code, 0, login.stderr);
    const whoami = await runCli(['whoami', '--profile', 'given', '--json'], { env: target.env });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal(JSON.parse(whoami.stdout).sub, 'user-alice');
    assert.doesNotMatch(whoami.stderr, /can no longer be renewed/);
  });
});

describe('messages a person can read', () => {
  it('the keychain fallback is one short line at login, once in status, and no error text in state', async () => {
    const target = makeHome(idp);
    const first = await loginWithDevice(idp, target);
    assert.equal(first.code, 0, first.stderr);
    const notice = first.stderr.split('\n').find((l) => /No keychain answered/.test(l)) ?? '';
    assert.match(
      notice,
      /^No keychain answered \([^)]{1,40}\); tokens are in \S+sessions \(readable only by you\); choose with token_storage in config\.yaml or KEYFOB_STORAGE\.$/,
    );
    assert.ok(notice.length < 200 + target.home.length, notice);
    assert.doesNotMatch(first.stderr, /DBus error|DBUS_SESSION_BUS_ADDRESS|Platform failure/);
    assert.equal((await loginWithDevice(idp, target, ['--profile', 'second'])).code, 0);

    const state = readFileSync(join(target.home, 'state.json'), 'utf8');
    assert.doesNotMatch(state, /DBus|Platform failure|did not answer:/, 'no error text kept in state');
    const status = await runCli(['status'], { env: target.env });
    assert.equal(status.code, 0, status.stderr);
    const reasons = status.stdout.split('\n').filter((l) => /no keychain answered/.test(l));
    assert.equal(reasons.length, 1, status.stdout);
    assert.match(reasons[0] ?? '', /^default, second: file: no keychain answered \([^)]{1,40}\);/);

    const debug = await loginWithDevice(idp, { ...target, env: { ...target.env, KEYFOB_DEBUG: '1' } }, [
      '--profile',
      'third',
    ]);
    assert.match(
      debug.stderr,
      /keyfob debug: keychain did not answer reason=\S/,
      'details with KEYFOB_DEBUG=1',
    );
  });

  it('a state file holding the old long keychain error is shown by its gist', async () => {
    const target = makeHome(idp);
    assert.equal((await loginWithDevice(idp, target)).code, 0);
    const file = join(target.home, 'state.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    state.profiles.default.store_reason =
      'file: no keychain answered (the Secret Service (e.g. gnome-keyring) did not answer: Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead) and no passphrase or identity is configured';
    writeFileSync(file, JSON.stringify(state));
    const status = await runCli(['status'], { env: target.env });
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout, /Platform failure|autolaunch/);
    assert.match(
      status.stdout,
      /default: file: no keychain answered \(no D-Bus session\); no passphrase or identity is configured/,
    );
  });

  it('argument mistakes are named, with the nearest flag or command, in one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['token', '--min-ttl', '-5'], /^keyfob: --min-ttl must be 0 or more seconds \(got -5\)\n$/],
      [
        ['token', '--min-ttl', 'soon'],
        /^keyfob: --min-ttl takes a whole number of seconds, such as --min-ttl 300\n$/,
      ],
      [
        ['token', '--min-ttl'],
        /^keyfob token: --min-ttl needs a value \(SECONDS\); run `keyfob token --help`\n$/,
      ],
      [
        ['login', '--hlep'],
        /^keyfob login: unknown flag --hlep \(did you mean --help\?\); run `keyfob login --help`\n$/,
      ],
      [['status', '--jsno'], /^keyfob status: unknown flag --jsno \(did you mean --json\?\); run/],
      [['-v'], /^keyfob: unknown flag -v \(did you mean --version\?\); run `keyfob --help`\n$/],
      [['stauts'], /^keyfob: unknown command "stauts" \(did you mean status\?\); run `keyfob --help`\n$/],
      [['--eyJhbGciOiJSUzI1NiJ9.e30.sig'], /^keyfob: unknown flag; run `keyfob --help`\n$/],
    ];
    for (const [args, expected] of cases) {
      const result = await runCli(args, { env: home.env });
      assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, expected, args.join(' '));
      assert.equal((result.stderr.match(/'/g) ?? []).length % 2, 0, 'no unbalanced quote');
    }
  });
});

describe('status gives a verdict', () => {
  it('a fresh home: "not logged in; run `keyfob login`", exit 2', async () => {
    const fresh = makeHome(idp);
    for (const args of [['status'], ['status', '--json']]) {
      const result = await runCli(args, { env: fresh.env });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr, 'keyfob: not logged in; run `keyfob login`\n');
    }
  });

  it('a valid session: exit 0 and the expiry with how far it is; an expired one that cannot renew: exit 2', async () => {
    const ok = await runCli(['status'], { env: home.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /\d{4}-\d\d-\d\dT[\d:.]+Z \(in \d+ min\)/);
    const json = JSON.parse((await runCli(['status', '--json'], { env: home.env })).stdout);
    assert.match(json.profiles[0].expires_at, /^\d{4}-\d\d-\d\dT[\d:.]+Z$/, 'JSON keeps the ISO time');

    // A profile from --with-token whose token has since expired (two hours passed).
    const token = (await runCli(['token'], { env: home.env })).stdout.trim();
    const target = makeHome(idp);
    assert.equal((await runCli(['login', '--with-token'], { env: target.env, input: token })).code, 0);
    const sessionFile = join(target.home, 'sessions', 'default.json');
    const stored = JSON.parse(readFileSync(sessionFile, 'utf8'));
    for (const t of Object.values(stored.session.access_tokens) as Array<{ expires_at: string }>) {
      t.expires_at = new Date(Date.now() - 2 * 3600_000).toISOString();
    }
    writeFileSync(sessionFile, JSON.stringify(stored));
    const expired = await runCli(['status'], { env: target.env });
    assert.equal(expired.code, 2, expired.stderr);
    assert.match(expired.stdout, /Z \(expired 2 h ago\)/);
    assert.match(
      expired.stderr,
      /^keyfob: the token of profile default expired 2 h ago and cannot be renewed; run `keyfob login`\n$/,
    );
  });
});

describe('a credential from the environment', () => {
  it('refresh says nothing was refreshed and why; logout refuses unless a profile is named', async () => {
    const target = makeHome(idp);
    assert.equal((await loginWithDevice(idp, target)).code, 0);
    const env = { ...target.env, KEYFOB_TOKEN: 'given-by-the-environment' };
    const before = filesUnder(target.home);

    const refresh = await runCli(['refresh'], { env });
    assert.equal(refresh.code, 1, refresh.stderr);
    assert.match(
      refresh.stderr,
      /^keyfob: nothing was refreshed: KEYFOB_TOKEN is set, and commands use that token as given instead of any stored profile; keyfob cannot refresh a token it was given; unset KEYFOB_TOKEN, or pass --profile NAME/,
    );
    assert.doesNotMatch(refresh.stderr, /Refreshed/);

    const logout = await runCli(['logout'], { env });
    assert.equal(logout.code, 1, logout.stderr);
    assert.match(logout.stderr, /^keyfob: nothing was logged out: KEYFOB_TOKEN is set/);
    assert.match(logout.stderr, /pass --profile NAME \(or --all\) to remove a stored session/);
    assert.deepEqual(filesUnder(target.home), before, 'the stored session is untouched');

    const named = await runCli(['logout', '--profile', 'default'], { env });
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stderr, /Logged out of profile default/);
    assert.match(named.stderr, /KEYFOB_TOKEN is still set: commands keep using that token as given\.\n$/);
  });
});
