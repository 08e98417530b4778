/**
 * A private Secret Service for tests: a D-Bus session bus of our own and gnome-keyring-daemon on
 * it, unlocked with a throw-away password, its keyrings in a temp directory. Nothing of the
 * user's desktop session is touched, and nothing is started by D-Bus activation (the bus has no
 * service directories): what the tests see is exactly what they started.
 *
 * A missing `dbus-daemon` or `gnome-keyring-daemon` is an error, never a skip: `.ci/run`
 * installs the Debian packages `dbus` and `gnome-keyring`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A running bus, with or without a Secret Service on it. */
export interface TestBus {
  /**
   * Variables that point a process at this bus (and the keyring's runtime and data dirs). Give
   * them to child processes, or assign them to `process.env` before the keychain is first used.
   */
  readonly env: Readonly<Record<string, string>>;
  /** gnome-keyring-daemon's pid, or `null` on a bus without a Secret Service. */
  readonly keyringPid: number | null;
  /** Stops the keyring daemon (SIGSTOP): calls to it hang until {@link resumeKeyring}. */
  pauseKeyring(): void;
  resumeKeyring(): void;
  /** Stops every process this bus started and removes its directories. */
  close(): Promise<void>;
}

/** Options of {@link startBus}. */
export interface StartBusOptions {
  /** Start gnome-keyring-daemon, unlocked, on the bus. Default true. */
  secretService?: boolean;
}

const KEYRING_PASSWORD = 'keyfob-test-keyring';

/**
 * Starts a private session bus and, unless `secretService` is false, an unlocked
 * gnome-keyring-daemon serving `org.freedesktop.secrets` on it.
 *
 * @throws Error naming the Debian packages when a daemon is not installed or does not come up.
 */
export async function startBus(options: StartBusOptions = {}): Promise<TestBus> {
  const root = await mkdtemp(path.join(tmpdir(), 'keyfob-bus-'));
  const runtimeDir = path.join(root, 'run');
  const dataDir = path.join(root, 'data');
  const homeDir = path.join(root, 'home');
  await mkdir(runtimeDir, { mode: 0o700 });
  await mkdir(dataDir, { mode: 0o700 });
  await mkdir(homeDir, { mode: 0o700 });
  const config = path.join(root, 'bus.conf');
  await writeFile(config, busConfig(root));

  const children: ChildProcess[] = [];
  const stopAll = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      }
    }
    await rm(root, { recursive: true, force: true });
  };
  // A test runner that dies must not leave daemons behind.
  const onExit = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  try {
    const bus = spawn(
      'dbus-daemon',
      ['--config-file', config, '--nofork', '--print-address=1', '--nopidfile'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(bus);
    const address = await firstLine(bus, 'dbus-daemon', 'dbus');
    const env: Record<string, string> = {
      DBUS_SESSION_BUS_ADDRESS: address,
      XDG_RUNTIME_DIR: runtimeDir,
      XDG_DATA_HOME: dataDir,
    };

    let keyringPid: number | null = null;
    if (options.secretService !== false) {
      const keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...minimalEnv(), ...env, HOME: homeDir },
      });
      children.push(keyring);
      await spawned(keyring, 'gnome-keyring-daemon', 'gnome-keyring');
      keyring.stdin?.end(KEYRING_PASSWORD);
      keyring.stdout?.resume();
      keyring.stderr?.resume();
      await waitForName(address, 'org.freedesktop.secrets', keyring);
      keyringPid = keyring.pid ?? null;
    }

    return {
      env,
      keyringPid,
      pauseKeyring() {
        if (keyringPid !== null) process.kill(keyringPid, 'SIGSTOP');
      },
      resumeKeyring() {
        if (keyringPid !== null) process.kill(keyringPid, 'SIGCONT');
      },
      async close() {
        process.off('exit', onExit);
        await stopAll();
      },
    };
  } catch (error) {
    process.off('exit', onExit);
    await stopAll();
    throw error;
  }
}

/**
 * The environment of a process with no session bus at all (as over SSH, or in a container): the
 * current one without the variables that could lead to a bus or a desktop.
 */
export function envWithoutBus(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const name of ['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY', 'XDG_RUNTIME_DIR']) {
    delete env[name];
  }
  return env;
}

function busConfig(root: string): string {
  // The session.conf of Debian without <standard_session_servicedirs/>: no activation.
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:dir=${root}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;
}

function minimalEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'LANG', 'LC_ALL']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function missing(program: string, debianPackage: string): Error {
  return new Error(
    `${program} is not installed: the keychain tests need a real Secret Service. ` +
      `Install the Debian packages dbus and gnome-keyring (apt-get install -y ${debianPackage}); .ci/run does.`,
  );
}

/** Resolves once the process has started; rejects (naming the package) when it cannot be run. */
function spawned(child: ChildProcess, program: string, debianPackage: string): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? missing(program, debianPackage) : error);
    });
  });
}

async function firstLine(child: ChildProcess, program: string, debianPackage: string): Promise<string> {
  await spawned(child, program, debianPackage);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${program} printed no address in 10 s: ${stderr}`)),
      10_000,
    );
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${program} exited (${code}) before printing its address: ${stderr}`));
    });
  });
}

/** Polls the bus until `name` has an owner (the daemon registered), for up to 10 s. */
async function waitForName(address: string, name: string, owner: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (owner.exitCode !== null) throw new Error(`gnome-keyring-daemon exited (${owner.exitCode}) on start`);
    try {
      const { stdout } = await run(
        'dbus-send',
        [
          `--bus=${address}`,
          '--print-reply',
          '--dest=org.freedesktop.DBus',
          '/org/freedesktop/DBus',
          'org.freedesktop.DBus.NameHasOwner',
          `string:${name}`,
        ],
        { timeout: 2_000 },
      );
      if (/boolean true/.test(stdout)) return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing('dbus-send', 'dbus');
    }
    await sleep(50);
  }
  throw new Error(`${name} did not appear on the test bus within 10 s`);
}
