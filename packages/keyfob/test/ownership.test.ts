import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sharedGroup, shellQuote } from '../src/fs/ownership.js';

// Databases in /etc/group and /etc/passwd form: Debian's OpenSSH rule decides on these alone.
const passwd = [
  'root:x:0:0:root:/root:/bin/bash',
  'alice:x:1000:1000::/home/alice:/bin/bash',
  'bob:x:1001:1001::/home/bob:/bin/bash',
  'carol:x:1002:100::/home/carol:/bin/bash',
].join('\n');
const group = [
  'root:x:0:',
  'users:x:100:',
  'alice:x:1000:',
  'bob:x:1001:bob',
  'staff:x:50:alice,bob',
  'solo:x:60:alice',
  'empty:x:70:',
].join('\n');
const databases = { group, passwd };

describe('sharedGroup (is a group-writable path safe?)', () => {
  test("the owner's user-private group is private: umask 002 keeps working", () => {
    assert.equal(sharedGroup(1000, 1000, databases), null, 'primary group, no listed members');
    assert.equal(sharedGroup(1001, 1001, databases), null, 'primary group that also lists its user');
    assert.equal(sharedGroup(60, 1000, databases), null, 'a group listing only the owner');
  });

  test('a group with another member, listed or by primary group, is not', () => {
    assert.match(sharedGroup(50, 1000, databases) ?? '', /^staff \(gid 50\), which has other members: bob$/);
    assert.match(
      sharedGroup(100, 1000, databases) ?? '',
      /users \(gid 100\), which has other members: carol/,
    );
    assert.match(sharedGroup(1001, 1000, databases) ?? '', /other members: bob/);
  });

  test('a group nobody is in, an unknown group or owner, or unreadable databases are not', () => {
    assert.match(sharedGroup(70, 1000, databases) ?? '', /its owner is not a member/);
    assert.match(sharedGroup(999, 1000, databases) ?? '', /not in \/etc\/group/);
    assert.match(sharedGroup(60, 4242, { group, passwd }) ?? '', /other members: alice/);
    assert.match(sharedGroup(70, 4242, databases) ?? '', /owner is not in \/etc\/passwd/);
  });

  test('paths in hints are quoted for a shell', () => {
    assert.equal(shellQuote("/tmp/it's here"), `'/tmp/it'\\''s here'`);
  });
});
