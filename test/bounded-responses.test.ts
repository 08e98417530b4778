/**
 * Every response keyfob reads is read up to a bound (DESIGN.md, Security rules): a hostile
 * server on 127.0.0.1 that never stops sending a discovery document, a JWKS or a token response
 * makes the built `keyfob` fail with `RESPONSE_TOO_LARGE` naming the URL and the bound, its peak
 * memory stays small, and the server is no longer read. A token file must be a regular file: a
 * FIFO or a device is refused at once.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkToken, createKeyfob, ResponseTooLarge } from '@keyfob/core';
import { type CliResult, cliEnv, filesUnder, runCli } from './support/cli.js';
import { newSigningKey } from './support/issuer.js';

const PEAK_RSS = fileURLToPath(new URL('./support/peak-rss.cjs', import.meta.url));
const MIB = 1024 * 1024;
/** Generous: the CLI needs about 100 MB; reading an endless body unbounded blows far past it. */
const PEAK_RSS_LIMIT_KIB = 300 * 1024;
/** What the hostile server sends at most before it gives up (old code would buffer all of it). */
const SERVER_CAP_BYTES = 400 * MIB;

type Endless = 'discovery' | 'jwks' | 'token' | 'none';

interface Hostile {
  origin: string;
  /** Which response never ends. */
  endless: Endless;
  /** Bytes written into endless bodies, and whether each such response was closed by the client. */
  streams: Array<{ sent: number; closed: Promise<void>; isClosed: boolean }>;
  close(): Promise<void>;
}

let hostile: Hostile;
let scratch: string;

before(async () => {
  hostile = await startHostile();
  scratch = mkdtempSync(join(tmpdir(), 'keyfob-bounded-'));
});

after(async () => {
  await hostile?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A well-formed RS256 token naming the hostile server as its issuer (key id k1). */
async function hostileIssuedJwt(): Promise<string> {
  const key = await newSigningKey('RS256', 'k1');
  const { SignJWT } = await import('jose');
  return new SignJWT({ sub: 'someone' })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(hostile.origin)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey);
}

/** A server whose chosen response is an endless JSON string (with backpressure, up to a cap). */
async function startHostile(): Promise<Hostile> {
  const state: Hostile = { origin: '', endless: 'none', streams: [], close: async () => {} };
  const endless = (res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const stream = { sent: 0, isClosed: false, closed: Promise.resolve() };
    stream.closed = new Promise<void>((resolve) =>
      res.on('close', () => {
        stream.isClosed = true;
        resolve();
      }),
    );
    state.streams.push(stream);
    const chunk = Buffer.alloc(64 * 1024, 'a');
    res.write('{"issuer":"x","keys":[],"access_token":"');
    const pump = () => {
      while (!res.destroyed && stream.sent < SERVER_CAP_BYTES) {
        stream.sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end('"}');
    };
    pump();
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/.well-known/openid-configuration') {
        if (state.endless === 'discovery') return endless(res);
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            issuer: state.origin,
            jwks_uri: `${state.origin}/jwks`,
            token_endpoint: `${state.origin}/token`,
            response_types_supported: ['code'],
          }),
        );
      }
      if (path === '/jwks' && state.endless === 'jwks') return endless(res);
      if (path === '/token' && state.endless === 'token') return endless(res);
      if (path === '/big') {
        // 2 MiB: above the GET bound, below the POST (token) bound.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(Buffer.alloc(2 * MIB, 'b'));
      }
      if (path === '/declared') {
        // Announces 10 GiB and sends almost nothing: refused on the header, not after a wait.
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * MIB) });
        return void res.write('{"a":');
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":"not_found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

/**
 * The files of a home but for the parsed-config cache, which the first command in a fresh home
 * writes whatever happens next (it never holds a credential).
 */
function homeFiles(home: string): Record<string, string> {
  const files = filesUnder(home);
  delete files[join(home, 'cache', 'config.json')];
  return files;
}

/** A home whose machine profile `ci` uses the hostile server as its issuer. */
function hostileHome(): { home: string; env: Record<string, string>; rssFile: string } {
  const home = mkdtempSync(join(scratch, 'home-'));
  writeFileSync(
    join(home, 'config.yaml'),
    [
      'providers:',
      '  robot:',
      '    type: client_credentials',
      `    issuer: ${hostile.origin}`,
      '    client_id: robot',
      '    client_secret: ${ROBOT_SECRET}',
      'profiles:',
      '  ci:',
      '    provider: robot',
      '',
    ].join('\n'),
  );
  const rssFile = join(scratch, `rss-${Math.random().toString(36).slice(2)}`);
  return { home, rssFile, env: cliEnv(home, { ROBOT_SECRET: 'robot-secret', PEAK_RSS_FILE: rssFile }) };
}

/** Runs the CLI against an endless `what` and checks the bound held: error, memory, server. */
async function againstEndless(
  what: Endless,
  args: string[],
  target: ReturnType<typeof hostileHome>,
  input?: string,
): Promise<CliResult> {
  hostile.endless = what;
  const before = hostile.streams.length;
  const files = homeFiles(target.home);
  const result = await runCli(args, {
    env: target.env,
    nodeArgs: ['--require', PEAK_RSS],
    timeoutMs: 60_000,
    ...(input !== undefined ? { input } : {}),
  });
  const streams = hostile.streams.slice(before);
  assert.equal(streams.length, 1, `one endless ${what} response was served`);
  const [stream] = streams;
  assert.ok(stream);
  await stream.closed;
  assert.ok(stream.sent < 64 * MIB, `the server stopped being read (${stream.sent} bytes sent)`);
  const peak = Number(readFileSync(target.rssFile, 'utf8'));
  assert.ok(peak > 0 && peak < PEAK_RSS_LIMIT_KIB, `peak RSS ${Math.round(peak / 1024)} MB`);
  assert.equal(result.stdout, '', 'nothing on stdout');
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line:\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /robot-secret/);
  assert.deepEqual(homeFiles(target.home), files, 'nothing on disk changed');
  return result;
}

describe('an endless response', () => {
  it('discovery document: the login fails at 1 MiB with bounded memory', async () => {
    const result = await againstEndless('discovery', ['token', '--profile', 'ci'], hostileHome());
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /the response from http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration is larger than 1 MiB/,
    );
  });

  it('token response: the client_credentials login fails at 4 MiB with bounded memory', async () => {
    const result = await againstEndless('token', ['token', '--profile', 'ci'], hostileHome());
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /the response from http:\/\/127\.0\.0\.1:\d+\/token is larger than 4 MiB/);
  });

  it('JWKS: check cannot decide, fails at 1 MiB with bounded memory', async () => {
    const jwt = await hostileIssuedJwt();
    const result = await againstEndless(
      'jwks',
      ['check', '-', '--issuer', hostile.origin],
      hostileHome(),
      jwt,
    );
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /the response from http:\/\/127\.0\.0\.1:\d+\/jwks is larger than 1 MiB/);
  });
});

describe("checkToken with the caller's own fetch", () => {
  it('reads discovery and the JWKS up to the same bounds as the instance does', async () => {
    hostile.endless = 'jwks';
    const before = hostile.streams.length;
    const jwt = await hostileIssuedJwt();
    // Node's own fetch, unguarded: keyfob must bound what it reads through it anyway.
    const report = await checkToken(jwt, { issuer: hostile.origin, fetch: globalThis.fetch });
    assert.equal(report.valid, false);
    const details = report.steps.map((step) => step.detail).join('\n');
    assert.match(details, /\/jwks is larger than 1 MiB/, details);
    const stream = hostile.streams[before];
    assert.ok(stream, 'the JWKS was requested');
    await Promise.race([
      stream.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('connection left open')), 10_000)),
    ]);
    assert.ok(stream.sent < 64 * MIB, `${stream.sent} bytes sent`);
  });
});

describe("the instance's fetch (kf.http)", () => {
  it('stops reading at the bound and closes the connection while the process goes on', async () => {
    hostile.endless = 'jwks';
    const before = hostile.streams.length;
    const kf = createKeyfob({ home: scratch, environment: {} });
    await assert.rejects(kf.http(`${hostile.origin}/jwks`), (error: unknown) => {
      assert.ok(error instanceof ResponseTooLarge, String(error));
      assert.equal(error.code, 'RESPONSE_TOO_LARGE');
      assert.match(error.message, /\/jwks is larger than 1 MiB/);
      return true;
    });
    const stream = hostile.streams[before];
    assert.ok(stream);
    await Promise.race([
      stream.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('connection left open')), 10_000)),
    ]);
    assert.ok(stream.isClosed);
    assert.ok(stream.sent < 64 * MIB, `${stream.sent} bytes sent`);
  });

  it('refuses a declared Content-Length past the bound without waiting for the body', async () => {
    const kf = createKeyfob({ home: scratch, environment: {} });
    const started = Date.now();
    await assert.rejects(kf.http(`${hostile.origin}/declared`), ResponseTooLarge);
    assert.ok(Date.now() - started < 10_000, 'at once, not after a timeout');
  });

  it('allows 4 MiB for a POST (token responses carry large tokens) and 1 MiB for a GET', async () => {
    const kf = createKeyfob({ home: scratch, environment: {} });
    const posted = await kf.http(`${hostile.origin}/big`, { method: 'POST', body: 'x=1' });
    assert.equal((await posted.arrayBuffer()).byteLength, 2 * MIB);
    await assert.rejects(kf.http(`${hostile.origin}/big`), /larger than 1 MiB/);
  });
});

describe('KEYFOB_TOKEN_FILE', () => {
  for (const [kind, make, pattern] of [
    [
      'a FIFO',
      () => {
        const fifo = join(scratch, `fifo-${Date.now()}`);
        execFileSync('mkfifo', [fifo]);
        return fifo;
      },
      /the token file named by KEYFOB_TOKEN_FILE is a FIFO \(named pipe\), not a regular file/,
    ],
    [
      '/dev/zero',
      () => '/dev/zero',
      /the token file named by KEYFOB_TOKEN_FILE is a device, not a regular file/,
    ],
  ] as const) {
    it(`refuses ${kind} at once`, async () => {
      const target = hostileHome();
      const files = homeFiles(target.home);
      const started = Date.now();
      const result = await runCli(['token'], {
        env: { ...target.env, KEYFOB_TOKEN_FILE: make() },
        nodeArgs: ['--require', PEAK_RSS],
        // "At once": a hang (FIFO) or an endless read (/dev/zero) is killed long before this.
        timeoutMs: 15_000,
      });
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, pattern);
      assert.equal(result.stdout, '');
      assert.ok(Date.now() - started < 15_000);
      const peak = Number(readFileSync(target.rssFile, 'utf8'));
      assert.ok(peak < PEAK_RSS_LIMIT_KIB, `peak RSS ${Math.round(peak / 1024)} MB`);
      assert.deepEqual(homeFiles(target.home), files, 'nothing on disk changed');
    });
  }
});
