/**
 * DESIGN.md, Security rules: a home, `sessions/`, state file or `config.yaml` that another user
 * owns, that every user can write, or that a group with other members can write is refused,
 * naming the path and the `chmod`/`chown` that fixes it, and nothing is written; a group-writable
 * path whose group is the user's own private group (the `umask 002` setup) is accepted.
 *
 * The tests run as root, whose group has no other members. A group with members is taken from
 * the machine's own databases: the primary group of a system user other than root.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, type TestHome } from './support/cli.js';

const PROFILES = 'profiles:\n  ci:\n    provider: robot\n';
/** A uid that is neither root nor the test's user. */
const OTHER_UID = 4242;

let idp: DevIdp;
let sharedGid: number;
let sharedGroupName: string;

before(async () => {
  assert.equal(process.getuid?.(), 0, 'these tests change owners and groups: they run as root');
  idp = await startDevIdp();
  const found = groupWithOtherMembers();
  sharedGid = found.gid;
  sharedGroupName = found.name;
});

after(async () => {
  await idp?.close();
});

/** The primary group of a user other than root, as /etc/passwd and /etc/group say. */
function groupWithOtherMembers(): { gid: number; name: string } {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [, , uid, gid] = line.split(':');
    if (uid === undefined || gid === undefined || uid === '0' || gid === '0') continue;
    const group = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[2] === gid);
    if (group) return { gid: Number(gid), name: group.split(':')[0] as string };
  }
  throw new Error('no group with a member other than root in /etc/passwd and /etc/group');
}

/** A home where `token --profile ci` has logged in and `switch ci` recorded it: config.yaml, state.json, sessions/, cache/. */
async function loggedInHome(): Promise<TestHome> {
  const home = makeHome(idp, PROFILES);
  const first = await runCli(['token', '--profile', 'ci'], { env: home.env });
  assert.equal(first.code, 0, first.stderr);
  const switched = await runCli(['switch', 'ci'], { env: home.env });
  assert.equal(switched.code, 0, switched.stderr);
  return home;
}

/** Every entry under `dir` (directories too, so a created lock or cache directory shows) with its bytes, mode and owner. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const stats = lstatSync(path);
    const bytes = entry.isFile() ? readFileSync(path, 'base64') : entry.isDirectory() ? 'dir' : 'other';
    out[path] = `${stats.mode.toString(8)} ${stats.uid}:${stats.gid} ${bytes}`;
  }
  return out;
}

type Target = 'home' | 'sessions/' | 'state file' | 'config.yaml';
const TARGETS: Target[] = ['home', 'sessions/', 'state file', 'config.yaml'];

function pathOf(home: string, target: Target): string {
  switch (target) {
    case 'home':
      return home;
    case 'sessions/':
      return join(home, 'sessions');
    case 'state file':
      return join(home, 'state.json');
    case 'config.yaml':
      return join(home, 'config.yaml');
  }
}

interface BadCase {
  name: string;
  apply(path: string): void;
  /** What the message must say beside the path. */
  says: RegExp;
  /** The fix the message must name. */
  fix: RegExp;
}

const BAD_CASES: BadCase[] = [
  {
    name: 'owned by another user',
    apply: (path) => chownSync(path, OTHER_UID, statSync(path).gid),
    says: new RegExp(`belongs to another user \\(uid ${OTHER_UID}\\)`),
    fix: /sudo chown 0 '/,
  },
  {
    name: 'writable by every user (o+w)',
    apply: (path) => chmodSync(path, statSync(path).mode | 0o002),
    says: /writable by every user/,
    fix: /run: chmod o-w '/,
  },
  {
    name: 'writable by a group with other members (g+w)',
    apply: (path) => {
      chownSync(path, 0, sharedGid);
      chmodSync(path, statSync(path).mode | 0o020);
    },
    says: /writable by its group \S+ \(gid \d+\), which has other members/,
    fix: /run: chmod g-w '/,
  },
  {
    name: 'setgid 2775 with a group that has other members',
    apply: (path) => {
      chownSync(path, 0, sharedGid);
      chmodSync(path, 0o2775);
    },
    says: /writable by its group \S+ \(gid \d+\), which has other members.*mode 2775/,
    fix: /run: chmod g-w '/,
  },
];

describe('files others can change are refused', () => {
  for (const bad of BAD_CASES) {
    it(`refuses the home, sessions/, the state file and config.yaml when ${bad.name}, writing nothing`, async () => {
      for (const target of TARGETS) {
        const home = await loggedInHome();
        const path = pathOf(home.home, target);
        bad.apply(path);
        const before = snapshot(home.home);
        // The token fast path would answer from this home: it must step aside, and the full
        // command must refuse. `status` reads all four as well.
        for (const args of [['token', '--profile', 'ci'], ['status']]) {
          const result = await runCli(args, { env: home.env });
          const what = `${bad.name}, ${target}, ${args.join(' ')}`;
          assert.equal(result.code, 1, `${what}: ${result.stdout}${result.stderr}`);
          assert.equal(result.stdout, '', `${what}: no token printed`);
          assert.ok(result.stderr.includes(`${path} `), `${what}: names ${path}: ${result.stderr}`);
          assert.match(result.stderr, bad.says, what);
          assert.match(result.stderr, bad.fix, what);
          assert.ok(result.stderr.includes(`'${path}'`), `${what}: the fix names the path`);
          if (bad.says.source.includes('group')) assert.ok(result.stderr.includes(sharedGroupName), what);
        }
        assert.deepEqual(snapshot(home.home), before, `${bad.name}, ${target}: nothing written`);
      }
    });
  }

  it('accepts all four group-writable when the group is the user’s own private group (umask 002)', async () => {
    const home = await loggedInHome();
    // Root's group (gid 0) has no member but root: the user-private group of umask 002 setups.
    chmodSync(home.home, 0o2775);
    chmodSync(join(home.home, 'sessions'), 0o775);
    chmodSync(join(home.home, 'state.json'), 0o664);
    chmodSync(join(home.home, 'config.yaml'), 0o664);
    for (const path of TARGETS.map((target) => pathOf(home.home, target))) {
      assert.equal(statSync(path).gid, 0);
    }
    const token = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    assert.match(token.stdout, /^\S+\n$/);
    const status = await runCli(['status'], { env: home.env });
    assert.equal(status.code, 0, status.stderr);
    const switched = await runCli(['switch', 'ci'], { env: home.env });
    assert.equal(switched.code, 0, switched.stderr);
    assert.equal(statSync(join(home.home, 'state.json')).mode & 0o777, 0o600, 'rewritten 0600');
  });
});
