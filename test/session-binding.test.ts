/**
 * Sessions are bound to where they came from (DESIGN.md, Sessions and freshness): after the
 * configuration is pointed at another server, a profile's refresh token, stored machine secret
 * and access tokens are sent nowhere, and the person is told both places and the login to run.
 * "Another server" is a recording server of the test's own on 127.0.0.1: it must receive nothing,
 * not even a discovery request.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, keyfobConfig, startDevIdp } from '@keyfob/dev-idp';
import { filesUnder, loginWithDevice, makeHome, runCli, type TestHome } from './support/cli.js';

interface Recorder {
  url: string;
  requests: Array<{ method: string; path: string; body: string; authorization: string | null }>;
  close(): Promise<void>;
}

/** A server that records every request and answers each with a 500: "the other place". */
async function startRecorder(): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        authorization: req.headers.authorization ?? null,
      });
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function sessionOf(home: TestHome, profile = 'default'): Record<string, unknown> {
  return JSON.parse(readFileSync(join(home.home, 'sessions', `${profile}.json`), 'utf8')).session;
}

function pointConfigAt(home: TestHome, text: string): void {
  writeFileSync(join(home.home, 'config.yaml'), text);
}

describe('a session is bound to the place it came from', () => {
  let idp: DevIdp;
  let other: Recorder;
  before(async () => {
    idp = await startDevIdp();
    other = await startRecorder();
  });
  after(async () => {
    await other.close();
    await idp.close();
  });

  it('issuer changed: token --min-ttl 999999 exits 2 naming both issuers; nothing reaches the new one; logout revokes nothing there', async () => {
    const home = makeHome(idp);
    assert.equal((await loginWithDevice(idp, home)).code, 0);
    assert.deepEqual(sessionOf(home).bound_to, {
      issuer: idp.issuer,
      token_endpoint: null,
      client_id: idp.clients.cli.client_id,
    });
    pointConfigAt(home, keyfobConfig({ ...idp, issuer: other.url }, { machine: true }));
    const before = filesUnder(join(home.home, 'sessions'));
    const refreshesBefore = idp.stats.refreshRequests;

    const token = await runCli(['token', '--min-ttl', '999999'], { env: home.env });
    assert.equal(token.code, 2, token.stderr);
    assert.equal(token.stdout, '');
    assert.ok(token.stderr.includes(`logged in at issuer ${idp.issuer}`), token.stderr);
    assert.ok(token.stderr.includes(`now names issuer ${other.url}`), token.stderr);
    assert.match(token.stderr, /run `keyfob login`/);
    assert.deepEqual(other.requests, [], 'the other issuer received nothing, not even discovery');
    assert.equal(idp.stats.refreshRequests, refreshesBefore);
    assert.deepEqual(filesUnder(join(home.home, 'sessions')), before, 'the session file is unchanged');

    const whoami = await runCli(['whoami'], { env: home.env });
    assert.equal(whoami.code, 2, whoami.stderr);
    assert.deepEqual(other.requests, [], 'no access token went to the other userinfo');

    const refreshToken = sessionOf(home).refresh_token as string;
    const logout = await runCli(['logout'], { env: home.env });
    assert.equal(logout.code, 0, logout.stderr);
    assert.ok(logout.stderr.includes(`issued by issuer ${idp.issuer}`), logout.stderr);
    assert.deepEqual(other.requests, [], 'no revocation was sent to the other issuer');
    assert.ok(!JSON.stringify(other.requests).includes(refreshToken));
  });

  it('client id changed at the same issuer: exit 2 naming both clients, no request', async () => {
    const home = makeHome(idp);
    assert.equal((await loginWithDevice(idp, home)).code, 0);
    const tokensBefore = idp.stats.tokenRequests;
    pointConfigAt(
      home,
      keyfobConfig(
        { ...idp, clients: { ...idp.clients, cli: { ...idp.clients.cli, client_id: 'another-client' } } },
        { machine: true },
      ),
    );
    const token = await runCli(['token', '--min-ttl', '999999'], { env: home.env });
    assert.equal(token.code, 2, token.stderr);
    assert.ok(token.stderr.includes(`(client ${idp.clients.cli.client_id})`), token.stderr);
    assert.ok(token.stderr.includes('(client another-client)'), token.stderr);
    assert.equal(idp.stats.tokenRequests, tokensBefore);
  });

  it('a machine secret stored with --with-secret goes only to the token endpoint it was stored for', async () => {
    const machine = (issuer: string) =>
      [
        'providers:',
        '  vault:',
        '    type: client_credentials',
        `    issuer: ${issuer}`,
        `    client_id: ${idp.clients.machine.client_id}`,
        `    api_base: ${idp.api}`,
        `    resource: ${idp.api}`,
        'profiles:',
        '  ci:',
        '    provider: vault',
        '',
      ].join('\n');
    const home = makeHome(idp);
    pointConfigAt(home, machine(idp.issuer));
    const secret = idp.clients.machine.client_secret;
    const login = await runCli(['login', 'vault', '--profile', 'ci', '--with-secret'], {
      env: home.env,
      input: `${secret}\n`,
    });
    assert.equal(login.code, 0, login.stderr);
    pointConfigAt(home, machine(other.url));
    const before = filesUnder(join(home.home, 'sessions'));
    // The machine token in the store is still fresh: `refresh` forces the re-acquisition.
    const token = await runCli(['refresh', '--profile', 'ci'], { env: home.env });
    assert.equal(token.code, 2, token.stderr);
    assert.ok(token.stderr.includes(`issuer ${idp.issuer}`) && token.stderr.includes(`issuer ${other.url}`));
    assert.match(token.stderr, /run `keyfob login --profile ci`/);
    assert.deepEqual(other.requests, [], 'the secret never reached the other server');
    assert.deepEqual(filesUnder(join(home.home, 'sessions')), before);
  });

  it('a session stored before bindings were recorded is taken as bound to the current configuration', async () => {
    const home = makeHome(idp);
    assert.equal((await loginWithDevice(idp, home)).code, 0);
    const file = join(home.home, 'sessions', 'default.json');
    const envelope = JSON.parse(readFileSync(file, 'utf8'));
    delete envelope.session.bound_to;
    writeFileSync(file, JSON.stringify(envelope), { mode: 0o600 });
    const token = await runCli(['token', '--min-ttl', '999999'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    assert.equal((sessionOf(home).bound_to as { issuer: string }).issuer, idp.issuer, 'stamped on renewal');
  });
});
