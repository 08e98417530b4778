/**
 * `keyfob dev-idp` takes every flag dev-idp's README documents, and each one does what it says:
 * checked through the real `keyfob` command against the server it starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { DevIdp } from '@keyfob/dev-idp';
import {
  deviceAuthorization,
  deviceLogin,
  jwtPayload,
  refresh,
  tokenRequest,
} from '../packages/dev-idp/test/helpers.js';
import { cliEnv, KEYFOB_BIN } from './support/cli.js';
import { makeTestCa } from './support/tls.js';

const README = fileURLToPath(new URL('../packages/dev-idp/README.md', import.meta.url));

interface Ready {
  issuer: string;
  api: string;
  clients: DevIdp['clients'];
}

/** Starts `keyfob dev-idp ARGS` and resolves once its ready line is out. */
async function devIdp(args: string[], extraEnv: Record<string, string> = {}) {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-devidp-'));
  const child = spawn(process.execPath, [KEYFOB_BIN, 'dev-idp', ...args], {
    env: { ...cliEnv(home), ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0] ?? '') as Ready);
    });
    void exited.then((code) => reject(new Error(`keyfob dev-idp exited ${code}: ${stderr}`)));
  });
  return {
    ready,
    /** dev-idp as the test helpers take it: its issuer and clients. */
    idp: ready as unknown as DevIdp,
    stderr: () => stderr,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function machineToken(idp: DevIdp) {
  return tokenRequest(
    idp,
    { grant_type: 'client_credentials' },
    { id: idp.clients.machine.client_id, secret: idp.clients.machine.client_secret },
  );
}

describe('keyfob dev-idp', () => {
  it("lists every flag of dev-idp's README in its --help", async () => {
    const documented = [...readFileSync(README, 'utf8').matchAll(/^\| `(--[a-z-]+)/gm)].map((m) => m[1]);
    assert.ok(documented.length >= 10, `${documented}`);
    const help = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [KEYFOB_BIN, 'dev-idp', '--help']);
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.on('close', () => resolve(out));
    });
    for (const flag of documented)
      assert.match(help, new RegExp(`${flag}\\b`), `${flag} in keyfob dev-idp --help`);
  });

  it('--port, --data, the four lifetimes, --reuse-grace and --quiet each take effect', async () => {
    const port = await freePort();
    const data = join(mkdtempSync(join(tmpdir(), 'keyfob-devidp-data-')), 'state.json');
    const server = await devIdp([
      '--port',
      String(port),
      '--data',
      data,
      '--access-token-ttl',
      '123',
      '--id-token-ttl',
      '77',
      '--device-code-ttl',
      '99',
      '--reuse-grace',
      '30',
      '--quiet',
    ]);
    try {
      assert.equal(server.ready.issuer, `http://127.0.0.1:${port}`, '--port');
      const machine = await machineToken(server.idp);
      assert.equal(machine.status, 200, JSON.stringify(machine.body));
      assert.equal(machine.body.expires_in, 123, '--access-token-ttl');
      const device = await deviceAuthorization(server.idp);
      assert.equal(Number(device.expires_in), 99, '--device-code-ttl');
      const login = await deviceLogin(server.idp);
      const idToken = jwtPayload(String(login.id_token));
      assert.equal(Number(idToken.exp) - Number(idToken.iat), 77, '--id-token-ttl');
      const first = String(login.refresh_token);
      assert.equal((await refresh(server.idp, first)).status, 200);
      assert.equal(
        (await refresh(server.idp, first)).status,
        200,
        '--reuse-grace: a spent token within 30 s',
      );
      assert.equal(server.stderr(), '', '--quiet: no request log');
    } finally {
      assert.equal(await server.stop(), 0);
    }
    assert.equal(JSON.parse(readFileSync(data, 'utf8')).schema_version, 1, '--data: state kept in the file');
  });

  it('--refresh-token-ttl ends refresh tokens; without --quiet each request is logged; variables work too', async () => {
    const server = await devIdp(['--refresh-token-ttl', '1'], { KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL: '45' });
    try {
      const login = await deviceLogin(server.idp);
      assert.equal(login.expires_in, 45, 'KEYFOB_DEV_IDP_ACCESS_TOKEN_TTL');
      await new Promise((resolve) => setTimeout(resolve, 2500));
      const late = await refresh(server.idp, String(login.refresh_token));
      assert.equal(late.status, 400);
      assert.equal(late.body.error, 'invalid_grant', '--refresh-token-ttl 1: expired after 2.5 s');
      assert.match(server.stderr(), /^dev-idp: .*\/token/m, 'the request log is on');
    } finally {
      assert.equal(await server.stop(), 0);
    }
  });

  it('--tls-key and --tls-cert serve HTTPS on 127.0.0.1', async () => {
    const ca = makeTestCa();
    const server = await devIdp(['--tls-key', ca.keyFile, '--tls-cert', ca.certFile]);
    try {
      assert.match(server.ready.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
      const discovery = await new Promise<Record<string, unknown>>((resolve, reject) => {
        get(
          `${server.ready.issuer}/.well-known/openid-configuration`,
          { ca: readFileSync(ca.caFile) },
          (res) => {
            let body = '';
            res.on('data', (d) => {
              body += d;
            });
            res.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
          },
        ).on('error', reject);
      });
      assert.equal(discovery.issuer, server.ready.issuer);
      assert.match(String(discovery.token_endpoint), /^https:\/\//);
    } finally {
      assert.equal(await server.stop(), 0);
      ca.remove();
    }
    assert.ok(!existsSync(ca.dir));
  });
});
