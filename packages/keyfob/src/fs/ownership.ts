/**
 * Who may change the files keyfob trusts.
 *
 * DESIGN.md, Security rules: the home, `sessions/`, the state file and `config.yaml` are
 * refused when another user owns them, when every user can write them, or when their group can
 * write them unless that group is the user's own private group. "Private" is Debian's OpenSSH
 * rule (its `secure_permissions`), so that `umask 002` setups with user-private groups keep
 * working: the group has exactly one member, the owner, counting both the members listed in
 * `/etc/group` and the users whose primary group it is in `/etc/passwd`. A group with no member
 * at all is not private (such groups typically serve setgid programs). Node has no `getgrgid`,
 * so the two files are read directly; a group or user found only in a network directory (LDAP,
 * sssd) cannot be vouched for and is refused, with the `chmod` that fixes it.
 */
import { readFileSync, type Stats } from 'node:fs';
import { InsecurePermissions } from '../errors.js';

/** Options of {@link permissionProblem}. */
export interface PermissionOptions {
  /**
   * Also trust files owned by root (uid 0), who can change any file anyway: a `config.yaml`
   * an administrator provides (`--config /etc/...`) is legitimately root's.
   */
  allowRootOwner?: boolean;
  /** The `/etc/group` and `/etc/passwd` texts; read from disk when absent (tests pass their own). */
  databases?: { group: string; passwd: string };
}

/**
 * What is wrong with the ownership or mode of `target`, whose (already taken) stats are
 * `stats`, or `null` when only its owner can change it.
 *
 * Without a notion of uid (Windows) nothing is checked: there the file's ACL is the OS's.
 */
export function permissionProblem(
  target: string,
  stats: Stats,
  options: PermissionOptions = {},
): InsecurePermissions | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  const quoted = shellQuote(target);
  if (stats.uid !== uid && !(options.allowRootOwner && stats.uid === 0)) {
    return new InsecurePermissions(
      `${target} belongs to another user (uid ${stats.uid}), who could change what is read from it`,
      { hint: `use a path of your own, or have it given to you: sudo chown ${uid} ${quoted}` },
    );
  }
  const mode = `mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
  const worldWritable = (stats.mode & 0o002) !== 0;
  const groupWritable = (stats.mode & 0o020) !== 0;
  const groupIssue = groupWritable ? sharedGroup(stats.gid, stats.uid, options.databases) : null;
  if (groupIssue !== null) {
    const also = worldWritable ? ' and by every user' : '';
    return new InsecurePermissions(`${target} is writable by its group ${groupIssue}${also} (${mode})`, {
      hint: `run: chmod ${worldWritable ? 'go-w' : 'g-w'} ${quoted}`,
    });
  }
  if (worldWritable) {
    return new InsecurePermissions(`${target} is writable by every user (${mode})`, {
      hint: `run: chmod o-w ${quoted}`,
    });
  }
  return null;
}

/** Throws the problem {@link permissionProblem} finds, if any. */
export function assertPermissions(target: string, stats: Stats, options: PermissionOptions = {}): void {
  const problem = permissionProblem(target, stats, options);
  if (problem) throw problem;
}

/**
 * Why group `gid` is not the private group of `owner`, as words that follow "writable by its
 * group" (e.g. `staff (gid 50), which has other members: alice, bob`), or `null` when it is.
 */
export function sharedGroup(
  gid: number,
  owner: number,
  databases?: { group: string; passwd: string },
): string | null {
  let group: string;
  let passwd: string;
  try {
    group = databases?.group ?? readFileSync('/etc/group', 'utf8');
    passwd = databases?.passwd ?? readFileSync('/etc/passwd', 'utf8');
  } catch {
    return `(gid ${gid}), whose members cannot be read from /etc/group`;
  }
  const entry = findEntry(group, 2, gid);
  if (!entry) return `(gid ${gid}), which is not in /etc/group, so who is in it cannot be told`;
  const label = `${entry[0]} (gid ${gid})`;
  const users = passwdEntries(passwd);
  const ownerName = users.find((user) => user.uid === owner)?.name;
  const others = new Set<string>();
  let members = 0;
  for (const user of users) {
    if (user.gid !== gid) continue;
    members++;
    if (user.uid !== owner) others.add(user.name);
  }
  const listed = (entry[3] ?? '').split(',').filter(Boolean);
  if (listed.length > 0) members++;
  for (const name of listed) if (name !== ownerName) others.add(name);
  if (others.size > 0) return `${label}, which has other members: ${[...others].sort().join(', ')}`;
  if (ownerName === undefined) return `${label}, whose owner is not in /etc/passwd`;
  if (members === 0) return `${label}, of which its owner is not a member`;
  return null;
}

/** The fields of the first line of a colon-separated database whose field `index` is `id`. */
function findEntry(text: string, index: number, id: number): string[] | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length > index && fields[index] === String(id)) return fields;
  }
  return undefined;
}

function passwdEntries(text: string): Array<{ name: string; uid: number; gid: number }> {
  const users: Array<{ name: string; uid: number; gid: number }> = [];
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (!name || !/^\d+$/.test(uid ?? '') || !/^\d+$/.test(gid ?? '')) continue;
    users.push({ name, uid: Number(uid), gid: Number(gid) });
  }
  return users;
}

/** `'path'` for a shell, with embedded quotes escaped. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
