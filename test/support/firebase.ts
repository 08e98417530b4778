/**
 * The real Firebase Auth emulator (firebase-tools, installed into a cache folder by
 * `scripts/firebase-emulator.mjs`), started once per test file on a free loopback port, plus
 * the emulator's own admin endpoints to create and disable users.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: a plain .mjs script shared with .ci/run, without type declarations
import { FIREBASE_TOOLS_VERSION, firebaseBin } from '../../scripts/firebase-emulator.mjs';

/** The demo project (a `demo-` project never talks to Google). */
export const FIREBASE_PROJECT = 'demo-keyfob';
/** Any key: the emulator accepts every API key. */
export const FIREBASE_API_KEY = 'fake-api-key-for-tests';

export interface FirebaseEmulator {
  /** `127.0.0.1:PORT`, as `emulator_host` and `FIREBASE_AUTH_EMULATOR_HOST` take it. */
  host: string;
  /** Creates a user through the emulator's own sign-up endpoint; returns its user id. */
  signUp(email: string, password: string): Promise<string>;
  /** Disables a user (the emulator's admin `accounts:update` with `Bearer owner`). */
  disable(localId: string): Promise<void>;
  stop(): Promise<void>;
  /** Signs in with email and password; returns the (unsigned) ID token. */
  signIn(email: string, password: string): Promise<string>;
  /** Deletes a user (the emulator's admin `accounts:delete` with `Bearer owner`). */
  deleteUser(localId: string): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the emulator and waits until it answers (≈15 s).
 * @throws when firebase-tools is not installed: run `node scripts/firebase-emulator.mjs`.
 */
export async function startFirebaseEmulator(): Promise<FirebaseEmulator> {
  const bin: string = firebaseBin();
  if (!existsSync(bin)) {
    throw new Error(
      `the Firebase Auth emulator (firebase-tools@${FIREBASE_TOOLS_VERSION}) is not installed at ${bin}; ` +
        'run `node scripts/firebase-emulator.mjs` (.ci/run does)',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-firebase-'));
  writeFileSync(
    join(dir, 'firebase.json'),
    JSON.stringify({ emulators: { auth: { port, host: '127.0.0.1' }, ui: { enabled: false } } }),
  );
  const child: ChildProcess = spawn(
    bin,
    ['emulators:start', '--only', 'auth', '--project', FIREBASE_PROJECT],
    {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true', HOME: dir, XDG_CONFIG_HOME: join(dir, '.config') },
    },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const host = `127.0.0.1:${port}`;
  const base = `http://${host}`;

  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the Firebase Auth emulator exited (${child.exitCode}):\n${output.slice(-2000)}`);
    }
    try {
      const res = await fetch(`${base}/`);
      const body = (await res.json()) as { authEmulator?: { ready?: boolean } };
      if (body.authEmulator?.ready) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Firebase Auth emulator did not become ready in 90 s:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    host,
    async signUp(email, password) {
      const res = await fetch(
        `${base}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=${FIREBASE_API_KEY}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password, returnSecureToken: true }),
        },
      );
      const body = (await res.json()) as { localId?: string };
      if (!res.ok || !body.localId) throw new Error(`signUp failed: ${res.status} ${JSON.stringify(body)}`);
      return body.localId;
    },
    async disable(localId) {
      const res = await fetch(
        `${base}/identitytoolkit.googleapis.com/v1/projects/${FIREBASE_PROJECT}/accounts:update`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer owner' },
          body: JSON.stringify({ localId, disableUser: true }),
        },
      );
      if (!res.ok) throw new Error(`accounts:update failed: ${res.status} ${await res.text()}`);
    },
    stop,
    async signIn(email, password) {
      const res = await fetch(
        `${base}/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword?key=${FIREBASE_API_KEY}`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email, password, returnSecureToken: true }),
        },
      );
      const body = (await res.json()) as { idToken?: string };
      if (!res.ok || !body.idToken) throw new Error(`signIn failed: ${res.status}`);
      return body.idToken;
    },
    async deleteUser(localId) {
      const res = await fetch(
        `${base}/identitytoolkit.googleapis.com/v1/projects/${FIREBASE_PROJECT}/accounts:delete`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer owner' },
          body: JSON.stringify({ localId }),
        },
      );
      if (!res.ok) throw new Error(`accounts:delete failed: ${res.status} ${await res.text()}`);
    },
  };
}

/** A server of the test's own on 127.0.0.1; returns its `host:port`. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A proxy that records every request and CONNECT, and refuses them all: nothing leaves. */
export async function refusingProxy() {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.writeHead(403).end();
  });
  server.on('connect', (req, socket: Socket) => {
    seen.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  const host = await listen(server);
  return {
    seen,
    url: `http://${host}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
