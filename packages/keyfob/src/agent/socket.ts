/**
 * Where a keyfob agent listens, and the check a client makes before it connects.
 *
 * One agent per home and config (DESIGN.md, The keyfob agent): the socket's name carries the
 * protocol version and a hash of the app, home and config path, so a test or project with its
 * own home never reaches the user's agent, and a new version never talks to an old agent. The
 * socket lives in a 0700 directory: `$XDG_RUNTIME_DIR/<app>/`, else the home; when that path
 * would pass the 107-byte limit of a socket's path, `/tmp/<app>-agent-<uid>/` (as tmux does).
 *
 * Node has no peer credentials on a Unix socket, so the directory is the boundary: a client
 * checks that it is the user's, 0700 and not a symlink (and that no other user can rename it
 * away) before it connects or sends anything.
 */
import { lstatSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { AGENT_PROTOCOL_VERSION } from './protocol.js';
import { sha256Hex } from './sha256.js';

/** What one agent serves: the app's names, its home and its config file. */
export interface AgentSpec {
  /** The app name (`keyfob`, `acme`): the runtime directory's name. */
  app: string;
  envPrefix: string;
  /** `createKeyfob({ env })`: single variables the app renamed, by keyfob's suffix. */
  envRenames: Record<string, string>;
  cliName: string;
  commandNames: Record<string, string>;
  home: string;
  /** The config file's absolute path (it may not exist). */
  configPath: string;
}

/** Where the agent of a spec listens. */
export interface AgentLocation {
  dir: string;
  socket: string;
}

// sockaddr_un holds 108 bytes with the terminating NUL on Linux (104 on macOS).
const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

/** The socket of the agent for `spec`, or `null` when no directory gives a short enough path. */
export function agentLocation(
  spec: AgentSpec,
  env: Readonly<Record<string, string | undefined>>,
): AgentLocation | null {
  const hash = sha256Hex(JSON.stringify([spec.app, spec.envPrefix, spec.home, spec.configPath])).slice(0, 16);
  const name = `agent-v${AGENT_PROTOCOL_VERSION}-${hash}.sock`;
  const runtime = env.XDG_RUNTIME_DIR;
  const dirs = [
    runtime && isAbsolute(runtime) ? join(runtime, spec.app) : spec.home,
    join('/tmp', `${spec.app}-agent-${process.getuid?.() ?? 0}`),
  ];
  for (const dir of dirs) {
    const socket = join(dir, name);
    if (Buffer.byteLength(socket) <= MAX_SOCKET_PATH_BYTES) return { dir, socket };
  }
  return null;
}

/** The directory check's outcome: usable, missing (no agent), or refused with the reason. */
export type DirCheck =
  | { status: 'ok' }
  | { status: 'missing' }
  | { status: 'refused'; reason: string; fix: string };

/**
 * Whether a client may connect to a socket in `dir`: the directory is the user's, 0700, not a
 * symlink, and its parent does not let another user rename it away (world-writable only with
 * the sticky bit, as `/tmp`). Synchronous: the token fast path calls it.
 */
export function checkAgentDir(dir: string): DirCheck {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch {
    return { status: 'missing' };
  }
  const uid = process.getuid?.();
  if (stats.isSymbolicLink()) {
    return { status: 'refused', reason: `${dir} is a symbolic link`, fix: `rm ${dir}` };
  }
  if (!stats.isDirectory())
    return { status: 'refused', reason: `${dir} is not a directory`, fix: `rm ${dir}` };
  if (uid !== undefined && stats.uid !== uid) {
    return {
      status: 'refused',
      reason: `${dir} belongs to another user (uid ${stats.uid})`,
      fix: `remove ${dir} as its owner`,
    };
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
    return {
      status: 'refused',
      reason: `${dir} is mode ${mode}: other users could reach the agent`,
      fix: `chmod 700 ${dir}`,
    };
  }
  try {
    const parent = lstatSync(dirname(dir));
    // A directory others may write could have ours renamed away and another put in its place.
    if ((parent.mode & 0o002) !== 0 && (parent.mode & 0o1000) === 0) {
      return {
        status: 'refused',
        reason: `${dirname(dir)} lets other users replace ${dir}`,
        fix: `chmod o-w,g-w ${dirname(dir)}`,
      };
    }
  } catch {
    return { status: 'missing' };
  }
  return { status: 'ok' };
}
