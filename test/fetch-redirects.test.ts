/**
 * DESIGN.md, Security rules: `fetch` sends nothing of the caller's to another origin on a
 * redirect. Two servers of the test's own on 127.0.0.1 with different ports are two origins:
 * the first redirects with each of the five codes, the second records what reached it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyfob } from '@keyfob/core';
import { authenticatedFetch } from '../packages/keyfob/src/http/authenticated-fetch.js';
import { decideRedirect, inScope } from '../packages/keyfob/src/http/redirect.js';
import { cliEnv, runCli } from './support/cli.js';

const CODES = [301, 302, 303, 307, 308] as const;
const TOKEN = 'tok-never-leaves-its-origin-5f1c';
/** What the caller puts on the request: a cookie, an API key, a custom header, and a harmless Accept. */
const CALLER_HEADERS = {
  Cookie: 'session=cookie-value-9a7',
  'X-Api-Key': 'api-key-value-3b2',
  'X-Custom': 'custom-value-c4d',
  Accept: 'application/json',
};
const SECRET_VALUES = [TOKEN, 'cookie-value-9a7', 'api-key-value-3b2', 'custom-value-c4d'];

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Recorder {
  server: Server;
  origin: string;
  seen: Seen[];
}

/**
 * A server that records every request; `…/r/CODE?to=URL` answers CODE with `Location: URL`, and
 * anything else answers 200 with what it saw.
 */
async function recorder(): Promise<Recorder> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
      const redirect = /\/r\/(\d{3})$/.exec(url.pathname);
      if (redirect) {
        res.writeHead(Number(redirect[1]), { location: url.searchParams.get('to') ?? '/' });
        res.end('redirect body');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ landed: url.pathname }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

let first: Recorder;
let other: Recorder;

before(async () => {
  first = await recorder();
  other = await recorder();
  assert.notEqual(first.origin, other.origin);
});

after(() => {
  first?.server.close();
  other?.server.close();
});

/** A keyfob whose credential is a static token, allowed to reach the first server only. */
function keyfob() {
  const home = mkdtempSync(join(tmpdir(), 'keyfob-redirects-'));
  return createKeyfob({ home, environment: { KEYFOB_HOME: home }, token: TOKEN });
}

function redirectUrl(code: number, to: string, under = ''): string {
  return `${first.origin}${under}/r/${code}?to=${encodeURIComponent(to)}`;
}

function assertNothingOfTheCallers(seen: Seen, what: string): void {
  for (const name of ['authorization', 'cookie', 'x-api-key', 'x-custom', 'content-type']) {
    assert.equal(seen.headers[name], undefined, `${what}: ${name} reached the other origin`);
  }
  const raw = JSON.stringify(seen);
  for (const value of SECRET_VALUES) assert.ok(!raw.includes(value), `${what}: a caller's value leaked`);
  assert.equal(seen.headers.accept, 'application/json', `${what}: Accept is harmless and follows`);
}

describe('fetch and redirects to another origin', () => {
  for (const code of CODES) {
    it(`a ${code} of a GET is followed with no Cookie, X-Api-Key, Authorization or custom header`, async () => {
      const kf = keyfob();
      const before = other.seen.length;
      const response = await kf.fetch(redirectUrl(code, `${other.origin}/landing`), {
        headers: CALLER_HEADERS,
        allowOrigins: [first.origin],
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), { landed: '/landing' });
      assert.equal(other.seen.length, before + 1);
      const seen = other.seen.at(-1) as Seen;
      assert.equal(seen.method, 'GET');
      assertNothingOfTheCallers(seen, `GET ${code}`);
      // The first hop, inside the origin, had everything.
      const hop = first.seen.at(-1) as Seen;
      assert.equal(hop.headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(hop.headers.cookie, CALLER_HEADERS.Cookie);
    });

    const resends = code === 307 || code === 308;
    it(`a ${code} of a POST with a body is ${resends ? 'not followed: the caller gets the redirect' : 'followed as a GET with nothing of the caller’s'}`, async () => {
      const kf = keyfob();
      const before = other.seen.length;
      const response = await kf.fetch(redirectUrl(code, `${other.origin}/landing`), {
        method: 'POST',
        headers: { ...CALLER_HEADERS, 'Content-Type': 'text/plain' },
        body: 'a body of the caller',
        allowOrigins: [first.origin],
      });
      assert.equal((first.seen.at(-1) as Seen).body, 'a body of the caller');
      if (resends) {
        assert.equal(response.status, code);
        assert.equal(response.headers.get('location'), `${other.origin}/landing`);
        assert.equal(await response.text(), 'redirect body');
        assert.equal(other.seen.length, before, 'nothing reached the other origin');
        return;
      }
      assert.equal(response.status, 200);
      const seen = other.seen.at(-1) as Seen;
      assert.equal(other.seen.length, before + 1);
      assert.equal(seen.method, 'GET');
      assert.equal(seen.body, '');
      assertNothingOfTheCallers(seen, `POST ${code}`);
    });

    it(`a ${code} inside the origin keeps the credential, the caller's headers${resends ? ' and the body' : ''}`, async () => {
      const kf = keyfob();
      for (const method of ['GET', 'POST']) {
        const before = first.seen.length;
        const response = await kf.fetch(redirectUrl(code, `${first.origin}/landing`), {
          method,
          headers: CALLER_HEADERS,
          ...(method === 'POST' ? { body: 'same-origin body' } : {}),
          allowOrigins: [first.origin],
        });
        assert.equal(response.status, 200);
        assert.equal(first.seen.length, before + 2);
        const landed = first.seen.at(-1) as Seen;
        assert.equal(landed.path, '/landing');
        assert.equal(landed.headers.authorization, `Bearer ${TOKEN}`);
        assert.equal(landed.headers.cookie, CALLER_HEADERS.Cookie);
        assert.equal(landed.headers['x-api-key'], CALLER_HEADERS['X-Api-Key']);
        assert.equal(landed.headers['x-custom'], CALLER_HEADERS['X-Custom']);
        if (method === 'POST' && resends) assert.equal(landed.body, 'same-origin body');
      }
    });
  }

  it('a redirect out of the path prefix the credential was sent under counts as another origin', async () => {
    const debug: Array<{ event: string; fields: Record<string, unknown> }> = [];
    const send = (url: string, method: string) =>
      authenticatedFetch(
        {
          token: async () => ({ access_token: TOKEN }),
          allowedOrigins: [first.origin],
          fetch: globalThis.fetch,
          loginCommand: 'keyfob login',
          renewable: false,
          pathPrefix: '/north-1',
          log: { debug: (event, fields = {}) => debug.push({ event, fields: { ...fields } }), warn() {} },
        },
        url,
        { method, headers: CALLER_HEADERS, ...(method === 'POST' ? { body: 'x' } : {}) },
      );
    const inside = await send(redirectUrl(302, `${first.origin}/north-1/deeper`, '/north-1'), 'GET');
    assert.equal(inside.status, 200);
    const kept = first.seen.at(-1) as Seen;
    assert.equal(kept.path, '/north-1/deeper');
    assert.equal(kept.headers.authorization, `Bearer ${TOKEN}`, 'inside the prefix the credential follows');
    assert.equal(kept.headers.cookie, CALLER_HEADERS.Cookie);

    const sibling = await send(redirectUrl(302, `${first.origin}/north-10/x`, '/north-1'), 'GET');
    assert.equal(sibling.status, 200);
    const landed = first.seen.at(-1) as Seen;
    assert.equal(landed.path, '/north-10/x');
    assertNothingOfTheCallers(landed, '/north-10 is not under /north-1');
    const post = await send(redirectUrl(307, `${first.origin}/north-10/x`, '/north-1'), 'POST');
    assert.equal(post.status, 307, 'a body is not resent out of the prefix either');

    const dropped = debug.find((line) => line.event === 'fetch.redirect');
    assert.ok(dropped, 'debug says what was dropped');
    assert.deepEqual([...(dropped.fields.dropped_headers as string[])].sort(), [
      'authorization',
      'cookie',
      'x-api-key',
      'x-custom',
    ]);
    assert.ok(debug.some((line) => line.event === 'fetch.redirect_not_followed'));
    assert.ok(!JSON.stringify(debug).includes(TOKEN) && !JSON.stringify(debug).includes('cookie-value'));
  });

  it('whole path segments: /north-1 covers /north-1 and /north-1/…, never /north-10', () => {
    const scope = { origin: 'https://api.test', pathPrefix: '/north-1/' };
    assert.ok(inScope(new URL('https://api.test/north-1'), scope));
    assert.ok(inScope(new URL('https://api.test/north-1/v1/x'), scope));
    assert.ok(!inScope(new URL('https://api.test/north-10'), scope));
    assert.ok(!inScope(new URL('https://api.test/north-1/../north-10'), scope));
    assert.ok(!inScope(new URL('https://api.test:444/north-1'), scope));
    const decision = decideRedirect({
      status: 303,
      location: '/north-10/y',
      from: new URL('https://api.test/north-1/x'),
      method: 'PUT',
      headers: new Headers(CALLER_HEADERS),
      scope,
      alreadyOut: false,
    });
    assert.ok(decision.follow);
    assert.equal(decision.method, 'GET');
    assert.deepEqual([...decision.headers.keys()], ['accept']);
  });

  it('keyfob fetch -H Cookie -H X-Api-Key: nothing crosses, a POST 307 is printed, not followed; KEYFOB_DEBUG names what was dropped', async () => {
    const home = mkdtempSync(join(tmpdir(), 'keyfob-redirects-cli-'));
    const env = cliEnv(home, { KEYFOB_TOKEN: TOKEN, KEYFOB_DEBUG: '1' });
    const common = [
      '-H',
      `Cookie: ${CALLER_HEADERS.Cookie}`,
      '-H',
      `X-Api-Key: ${CALLER_HEADERS['X-Api-Key']}`,
    ];
    const allow = ['--allow-origin', first.origin];

    let before = other.seen.length;
    const get = await runCli(['fetch', ...common, ...allow, redirectUrl(302, `${other.origin}/cli`)], {
      env,
    });
    assert.equal(get.code, 0, get.stderr);
    assert.deepEqual(JSON.parse(get.stdout), { landed: '/cli' });
    assert.equal(other.seen.length, before + 1);
    const seen = other.seen.at(-1) as Seen;
    for (const name of ['authorization', 'cookie', 'x-api-key'])
      assert.equal(seen.headers[name], undefined, name);
    assert.match(get.stderr, /fetch\.redirect\b.*dropped_headers=\S*cookie/);
    assert.match(get.stderr, /x-api-key/);
    for (const value of SECRET_VALUES) assert.ok(!get.stderr.includes(value), 'no value in debug output');

    before = other.seen.length;
    const post = await runCli(
      ['fetch', ...common, ...allow, '-d', 'cli body', redirectUrl(307, `${other.origin}/cli`)],
      { env },
    );
    assert.equal(post.code, 1);
    assert.equal(post.stdout, 'redirect body');
    assert.match(post.stderr, /HTTP 307\b/);
    assert.ok(post.stderr.includes(`the redirect to ${other.origin} was not followed`), post.stderr);
    assert.equal(other.seen.length, before, 'nothing reached the other origin');
  });
});
