/**
 * `kf.session(profile)`: an HTTP session bound to one profile, through `kf.fetch`. A person's
 * session at dev-idp (device flow, approved by its robot); the API is a recording server of the
 * test's own on 127.0.0.1, which can refuse tokens, so refreshes and retries are counted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AuthenticationRequired,
  createKeyfob,
  type Keyfob,
  OriginNotAllowed,
  SessionClosed,
} from '@keyfob/core';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { robotApproving } from './support/cli.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** How the recording API answers: `reject-first` refuses the first token it ever sees. */
type Mode = 'ok' | 'reject-first' | 'always-401';

interface Recorder {
  origin: string;
  seen: Seen[];
  mode: Mode;
  /** Sockets currently open to the server. */
  open: Set<Socket>;
  /** The first Authorization seen since the mode was set (`reject-first` refuses it). */
  firstToken: string | undefined;
  server: Server;
}

async function recorder(): Promise<Recorder> {
  const rec = { seen: [] as Seen[], mode: 'ok' as Mode, open: new Set<Socket>() } as Recorder;
  rec.server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const authorization = req.headers.authorization;
      rec.seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization,
        contentType: req.headers['content-type'],
        body,
      });
      rec.firstToken ??= authorization;
      const refuse =
        rec.mode === 'always-401' || (rec.mode === 'reject-first' && authorization === rec.firstToken);
      if (req.url?.startsWith('/v2/hop?to=')) {
        res.writeHead(302, { location: decodeURIComponent(req.url.slice('/v2/hop?to='.length)) }).end();
      } else if (req.url === '/v2/slow') {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/plain' }).end('late'), 300);
      } else if (refuse) {
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
    });
  });
  // Only the client ends a kept-alive connection (undici follows the server's hint otherwise).
  rec.server.keepAliveTimeout = 120_000;
  rec.server.on('connection', (socket: Socket) => {
    rec.open.add(socket);
    socket.on('close', () => rec.open.delete(socket));
  });
  await new Promise<void>((resolve) => rec.server.listen(0, '127.0.0.1', resolve));
  rec.origin = `http://127.0.0.1:${(rec.server.address() as AddressInfo).port}`;
  return rec;
}

let idp: DevIdp;
let api: Recorder;
let other: Recorder;
let kf: Keyfob;

before(async () => {
  idp = await startDevIdp();
  [api, other] = await Promise.all([recorder(), recorder()]);
  kf = createKeyfob({
    appName: 'acme',
    home: mkdtempSync(join(tmpdir(), 'acme-session-')),
    environment: { PATH: process.env.PATH },
    config: {
      providers: {
        corporate: {
          type: 'oidc',
          issuer: idp.issuer,
          client_id: idp.clients.cli.client_id,
          scopes: ['openid', 'profile', 'email', 'offline_access'],
          api_base: `${api.origin}/v2`,
        },
      },
      profiles: { corporate: { provider: 'corporate' } },
    },
  });
  await kf.login({ profile: 'corporate', flow: 'device', interaction: robotApproving(idp) });
});
after(async () => {
  await kf?.close();
  for (const rec of [api, other]) {
    rec?.server.closeAllConnections();
    rec?.server.close();
  }
  await idp?.close();
});

/** Runs `fn` with the API in `mode` and returns what it saw and how many refreshes dev-idp made. */
async function watching<T>(mode: Mode, fn: () => Promise<T>) {
  api.mode = mode;
  api.firstToken = undefined;
  api.seen.length = 0;
  const refreshesBefore = idp.stats.refreshRequests;
  const result = await fn().then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );
  return { ...result, seen: [...api.seen], refreshes: idp.stats.refreshRequests - refreshesBefore };
}

describe('kf.session', () => {
  it('a relative URL goes under api_base, with the profile token', async () => {
    await using session = kf.session('corporate');
    const { value, seen, error } = await watching('ok', () => session.get('items?page=2'));
    assert.equal(error, undefined);
    assert.equal(value?.status, 200);
    assert.deepEqual(await value?.json(), { ok: true });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.url, '/v2/items?page=2');
    const { access_token } = await kf.getToken({ profile: 'corporate' });
    assert.equal(seen[0]?.authorization, `Bearer ${access_token}`);
    const slash = await watching('ok', () => session.get('/items'));
    assert.equal(slash.seen[0]?.url, '/v2/items', 'a leading / stays under api_base, as kf.fetch does');
  });

  it('a 401 from a server that refuses the first token: one refresh, one retry, then the answer', async () => {
    await using session = kf.session('corporate');
    const { value, seen, refreshes, error } = await watching('reject-first', () => session.get('/me'));
    assert.equal(error, undefined);
    assert.equal(value?.status, 200);
    await value?.body?.cancel();
    assert.equal(refreshes, 1, 'exactly one refresh');
    assert.equal(seen.length, 2, 'exactly one retry');
    assert.notEqual(seen[0]?.authorization, seen[1]?.authorization, 'the retry carries the new token');
  });

  it('a second 401 is AuthenticationRequired naming the login, after one refresh and one retry', async () => {
    await using session = kf.session('corporate');
    const { error, seen, refreshes } = await watching('always-401', () => session.get('/me'));
    assert.ok(error instanceof AuthenticationRequired, String(error));
    assert.equal(error.code, 'AUTHENTICATION_REQUIRED');
    assert.match(error.message, /refused the credential \(HTTP 401\)/);
    assert.match(error.message, /login --profile corporate/);
    assert.equal(refreshes, 1);
    assert.equal(seen.length, 2);
  });

  it('a POST with a JSON body is sent as JSON and replayed on the retry', async () => {
    await using session = kf.session('corporate');
    const body = { name: 'widget', tags: ['a', 'b'], nested: { n: 1 } };
    const { value, seen, refreshes, error } = await watching('reject-first', () =>
      session.post('/items', body),
    );
    assert.equal(error, undefined);
    assert.equal(value?.status, 200);
    await value?.body?.cancel();
    assert.equal(refreshes, 1);
    assert.equal(seen.length, 2);
    for (const request of seen) {
      assert.equal(request.method, 'POST');
      assert.equal(request.url, '/v2/items');
      assert.equal(request.contentType, 'application/json');
      assert.deepEqual(JSON.parse(request.body), body);
    }
    const text = await watching('ok', () =>
      session.put('/items/1', 'a=1', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    );
    assert.equal(text.seen[0]?.body, 'a=1', 'a string body is sent as it is');
    assert.equal(text.seen[0]?.contentType, 'application/x-www-form-urlencoded');
    await text.value?.body?.cancel();
    const patched = await watching('ok', async () => {
      await (await session.patch('/items/1', [1, 2])).body?.cancel();
      await (await session.delete('/items/1')).body?.cancel();
    });
    assert.deepEqual(
      patched.seen.map((r) => [r.method, r.url, r.contentType, r.body]),
      [
        ['PATCH', '/v2/items/1', 'application/json', '[1,2]'],
        ['DELETE', '/v2/items/1', undefined, ''],
      ],
    );
  });

  it('an absolute URL to another origin gets no token: refused before sending, and not carried on a redirect', async () => {
    await using session = kf.session('corporate');
    other.seen.length = 0;
    await assert.rejects(session.get(`${other.origin}/steal`), OriginNotAllowed);
    assert.equal(other.seen.length, 0, 'nothing reached the other origin');
    const hop = await watching('ok', () =>
      session.get(`/hop?to=${encodeURIComponent(`${other.origin}/landed`)}`),
    );
    assert.equal(hop.value?.status, 200);
    await hop.value?.body?.cancel();
    assert.match(hop.seen[0]?.authorization ?? '', /^Bearer /, 'the API got the token');
    assert.equal(other.seen.length, 1, 'the redirect was followed');
    assert.equal(other.seen[0]?.url, '/landed');
    assert.equal(other.seen[0]?.authorization, undefined, 'no Authorization crossed origins');
  });

  it('close() closes the connections it opened; a closed session refuses new requests clearly', async () => {
    let kept: ReturnType<Keyfob['session']> | undefined;
    {
      await using session = kf.session('corporate');
      kept = session;
      const response = await session.get('/items');
      await response.body?.cancel();
      assert.ok(api.open.size > 0, 'a keep-alive connection is open');
      assert.equal(session.closed, false);
    }
    assert.equal(kept.closed, true, 'the end of the await using block closed it');
    const deadline = Date.now() + 5_000;
    while (api.open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(api.open.size, 0, 'the idle connection was closed');
    api.seen.length = 0;
    const refused = await kept.get('/items').then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof SessionClosed, String(refused));
    assert.equal(refused.code, 'INVALID_INPUT');
    assert.match(refused.message, /session of profile corporate was closed; create a new one/);
    assert.equal(api.seen.length, 0, 'nothing was sent');
    await kept.close(); // idempotent
    // A close() while a request is in flight lets it finish first.
    const busy = kf.session('corporate');
    const late = busy.get('/slow');
    const closing = busy.close();
    await assert.rejects(busy.get('/items'), SessionClosed);
    const answer = await late;
    assert.equal(await answer.text(), 'late');
    await closing;
    // The instance stays usable: a new session opens new connections.
    const plain = kf.session('corporate');
    try {
      const response = await plain.get('/items');
      assert.equal(response.status, 200);
      await response.body?.cancel();
    } finally {
      await plain.close();
    }
  });
});
