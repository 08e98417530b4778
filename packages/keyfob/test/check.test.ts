/**
 * The six-step check as a library call, against an issuer the test makes (keys generated
 * here) and against dev-idp's real keys. Every hostile token names the step that refuses it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { CompactSign } from 'jose';
import {
  deadPort,
  newSigningKey,
  startListener,
  startTestIssuer,
  type TestIssuer,
  tamperSignature,
} from '../../../test/support/issuer.js';
import { InsecureUrl, InvalidInput, TokenInvalid, ValidationUndecided } from '../src/errors.js';
import { type CheckOptions, type CheckReport, checkFailure, checkToken } from '../src/index.js';
import { shown, when } from '../src/validate/report.js';

const STEPS = ['structure', 'algorithm', 'key', 'signature', 'issuer_audience', 'time'];

/** A fetch of its own per test group: the process-wide caches are keyed by it. */
function countingFetch() {
  const seen: string[] = [];
  const fetch: typeof globalThis.fetch = (input, init) => {
    seen.push(new URL(String(input instanceof Request ? input.url : input)).pathname);
    return globalThis.fetch(input, init);
  };
  return { fetch, seen, count: (path: string) => seen.filter((p) => p === path).length };
}

function failedStep(report: CheckReport): string | undefined {
  return report.steps.find((s) => s.status === 'failed')?.name;
}

function assertNoToken(report: CheckReport, token: string) {
  const text = JSON.stringify(report);
  assert.ok(!text.includes(token), 'the report does not contain the token');
  const signature = token.split('.')[2];
  if (signature && signature.length > 10) assert.ok(!text.includes(signature), 'nor its signature');
}

let issuer: TestIssuer;
let options: CheckOptions;

before(async () => {
  issuer = await startTestIssuer({ introspection: true });
  options = { issuer: issuer.issuer, audience: issuer.audience, fetch: countingFetch().fetch };
});
after(async () => {
  await issuer?.close();
});

describe('valid tokens', () => {
  it('RS256 and ES256 pass all six steps, in order', async () => {
    for (const key of [issuer.rs256, issuer.es256]) {
      const token = await issuer.mint({}, { key });
      const report = await checkToken(token, options);
      assert.equal(report.valid, true, JSON.stringify(report.steps));
      assert.equal(report.undecided, false);
      assert.equal(report.format, 'jwt');
      assert.deepEqual(
        report.steps.map((s) => s.name),
        STEPS,
      );
      assert.ok(report.steps.every((s) => s.ok && s.status === 'passed'));
      assert.equal(report.header?.alg, key.alg);
      assert.equal(report.claims?.sub, 'user-1');
      assert.equal(checkFailure(report), null);
      assertNoToken(report, token);
    }
  });

  it('a second check asks the issuer nothing (discovery and keys are cached)', async () => {
    const own = countingFetch();
    const opts = { ...options, fetch: own.fetch };
    await checkToken(await issuer.mint(), opts);
    const first = own.seen.length;
    assert.equal(first, 2, `discovery + JWKS: ${own.seen.join(', ')}`);
    for (let i = 0; i < 5; i++) assert.equal((await checkToken(await issuer.mint(), opts)).valid, true);
    assert.equal(own.seen.length, first);
  });

  it('a repeated check (keys cached, header seen) reports exactly what the first one did', async () => {
    const own = countingFetch();
    const opts = { ...options, fetch: own.fetch };
    for (const key of [issuer.rs256, issuer.es256]) {
      const token = await issuer.mint({ nbf: Math.floor(Date.now() / 1000) - 5 }, { key });
      const first = await checkToken(token, opts);
      const again = await checkToken(token, opts);
      assert.deepEqual(again, first);
      const tampered = await checkToken(tamperSignature(token), opts);
      assert.equal(failedStep(tampered), 'signature');
    }
  });

  it('correctly signed claims that are not JSON fail at structure, on the first check and after', async () => {
    const header = { alg: 'RS256', kid: issuer.rs256.kid };
    const token = await new CompactSign(new TextEncoder().encode('["an array", "not an object"]'))
      .setProtectedHeader(header)
      .sign(issuer.rs256.privateKey);
    const opts = { ...options, fetch: countingFetch().fetch };
    for (let i = 0; i < 2; i++) {
      const report = await checkToken(token, opts);
      assert.equal(failedStep(report), 'structure', JSON.stringify(report.steps));
      assert.match(report.steps[0]?.detail ?? '', /claims are not/);
      assert.equal(report.claims, null);
    }
    // The same header on a good token: the key is cached now, and the token passes.
    assert.equal((await checkToken(await issuer.mint(), opts)).valid, true);
  });

  it('options changed between checks are honoured (the audience list edited in place)', async () => {
    const audience = [issuer.audience];
    const opts: CheckOptions = { ...options, audience };
    const token = await issuer.mint();
    assert.equal((await checkToken(token, opts)).valid, true);
    audience[0] = 'https://someone-else.example.test';
    assert.equal(failedStep(await checkToken(token, opts)), 'issuer_audience');
    opts.audience = issuer.audience;
    assert.equal((await checkToken(token, opts)).valid, true);
    // Kept settings hold their own copy: an array swapped in with equal entries, then the old
    // one edited, changes nothing.
    const first = [issuer.audience];
    const swapped: CheckOptions = { ...options, audience: first };
    assert.equal((await checkToken(token, swapped)).valid, true);
    swapped.audience = [issuer.audience];
    first[0] = 'https://someone-else.example.test';
    assert.equal((await checkToken(token, swapped)).valid, true);
    opts.clockTolerance = 301;
    await assert.rejects(checkToken(token, opts), InvalidInput);
  });

  it('JSON nested deeper than 32 levels fails at structure (forged or signed, first check or repeated)', async () => {
    // Valid JSON that JSON.stringify (and so any report printer) cannot print: written as text.
    const deep = `${'['.repeat(20_000)}1${']'.repeat(20_000)}`;
    const header = { alg: 'RS256', kid: issuer.rs256.kid };
    const sign = (claims: string) =>
      new CompactSign(new TextEncoder().encode(claims))
        .setProtectedHeader(header)
        .sign(issuer.rs256.privateKey);
    const iss = JSON.stringify(issuer.issuer);
    const deepExp = await sign(`{"iss":${iss},"exp":${deep}}`);
    const deepAud = await sign(`{"iss":${iss},"exp":${Math.floor(Date.now() / 1000) + 600},"aud":${deep}}`);
    const justDeepEnough = await sign(
      `{"iss":${iss},"exp":${Math.floor(Date.now() / 1000) + 600},"x":${'['.repeat(31)}1${']'.repeat(31)}}`,
    );
    const opts = { ...options, audience: undefined, fetch: countingFetch().fetch };
    assert.equal((await checkToken(await issuer.mint(), opts)).valid, true, 'the key is cached now');
    for (let i = 0; i < 2; i++) {
      for (const token of [deepExp, deepAud, tamperSignature(deepExp)]) {
        const report = await checkToken(token, opts);
        assert.equal(failedStep(report), 'structure', JSON.stringify(report.steps));
        assert.match(
          report.steps[0]?.detail ?? '',
          /the claims are nested 20001 levels deep; keyfob reads at most 32/,
        );
        assert.doesNotThrow(() => JSON.stringify(report));
      }
      assert.equal((await checkToken(justDeepEnough, opts)).valid, true);
    }
    const critHeader = `{"alg":"RS256","kid":${JSON.stringify(issuer.rs256.kid)},"crit":${deep}}`;
    const crit = `${Buffer.from(critHeader).toString('base64url')}.${Buffer.from('{}').toString('base64url')}.AAAA`;
    const report = await checkToken(crit, opts);
    assert.equal(failedStep(report), 'structure');
    assert.match(report.steps[0]?.detail ?? '', /the header is nested 20001 levels deep/);
  });

  it('an exp beyond any date is reported as a number, not a crash', async () => {
    const report = await checkToken(await issuer.mint({ exp: 1e300 }), options);
    assert.equal(report.valid, true, JSON.stringify(report.steps));
    assert.match(report.steps[5]?.detail ?? '', /1e\+300 \(beyond any date\)/);
  });

  it('several audiences need azp; the audience may be one of a list', async () => {
    const both = await issuer.mint({ aud: [issuer.audience, 'https://other.example.test'], azp: 'cli' });
    assert.equal((await checkToken(both, options)).valid, true);
    const noAzp = await issuer.mint({ aud: [issuer.audience, 'https://other.example.test'] });
    assert.equal(failedStep(await checkToken(noAzp, options)), 'issuer_audience');
    const wrongAzp = await checkToken(both, { ...options, authorizedParty: 'someone-else' });
    assert.equal(failedStep(wrongAzp), 'issuer_audience');
    const anyOf = await checkToken(await issuer.mint(), { ...options, audience: ['x', issuer.audience] });
    assert.equal(anyOf.valid, true);
  });

  it('without an expected audience, the audience is reported as not checked', async () => {
    const report = await checkToken(await issuer.mint(), { ...options, audience: undefined });
    assert.equal(report.valid, true);
    assert.match(report.steps[4]?.detail ?? '', /aud not checked/);
  });

  it('typ is enforced when asked for (RFC 9068 at+jwt)', async () => {
    const atJwt = await issuer.mint({}, { header: { typ: 'at+jwt' } });
    assert.equal((await checkToken(atJwt, { ...options, typ: 'application/at+jwt' })).valid, true);
    const plain = await issuer.mint();
    assert.equal(failedStep(await checkToken(plain, { ...options, typ: 'at+jwt' })), 'structure');
  });
});

describe('hostile and broken tokens: each names its failing step', () => {
  const cases: Array<[string, () => Promise<string>, string, RegExp]> = [
    ['signature tampered', async () => tamperSignature(await issuer.mint()), 'signature', /does not match/],
    ['alg none', async () => issuer.unsigned(), 'algorithm', /alg none/],
    ['HS256 with the public key as secret', () => issuer.hmacWithPublicKey(), 'algorithm', /HMAC/],
    [
      'an unknown kid',
      async () => issuer.mint({}, { key: await newSigningKey('RS256', 'nobody') }),
      'key',
      /no key with kid "nobody"/,
    ],
    [
      'a known kid, signed by someone else',
      async () => {
        const attacker = await newSigningKey('RS256', issuer.rs256.kid);
        return issuer.mint({}, { key: attacker });
      },
      'signature',
      /does not match/,
    ],
    [
      'expired',
      async () => issuer.mint({ exp: Math.floor(Date.now() / 1000) - 3600 }),
      'time',
      /expired .* ago/,
    ],
    [
      'nbf in the future',
      async () => issuer.mint({ nbf: Math.floor(Date.now() / 1000) + 3600 }),
      'time',
      /not valid before/,
    ],
    [
      'iat in the future',
      async () => issuer.mint({ iat: Math.floor(Date.now() / 1000) + 3600 }),
      'time',
      /issued in the future/,
    ],
    ['no exp', async () => issuer.mint({}, { omit: ['exp'] }), 'time', /no exp claim/],
    [
      'iss off by a trailing slash',
      async () => issuer.mint({ iss: `${issuer.issuer}/` }),
      'issuer_audience',
      /trailing slash/,
    ],
    ['missing aud', async () => issuer.mint({}, { omit: ['aud'] }), 'issuer_audience', /no aud claim/],
    [
      'a foreign aud',
      async () => issuer.mint({ aud: 'https://evil.example.test' }),
      'issuer_audience',
      /does not contain/,
    ],
    [
      'two segments',
      async () => (await issuer.mint()).split('.').slice(0, 2).join('.'),
      'structure',
      /three dot-separated segments/,
    ],
    [
      'bad base64',
      async () => {
        const [h, p, s] = (await issuer.mint()).split('.');
        return `${h}.${p?.slice(0, 10)}*!${p?.slice(12)}.${s}`;
      },
      'structure',
      /claims segment is not base64url/,
    ],
    [
      'header that is not JSON',
      async () => {
        const [, p, s] = (await issuer.mint()).split('.');
        return `${Buffer.from('{not json').toString('base64url')}.${p}.${s}`;
      },
      'structure',
      /header is not/,
    ],
    ['a JWE', async () => 'a.b.c.d.e', 'structure', /encrypted/],
    [
      'crit header',
      // jose will not sign an unknown critical extension: build the token by hand.
      async () => {
        const [, p, s] = (await issuer.mint()).split('.');
        const header = { alg: 'RS256', kid: issuer.rs256.kid, crit: ['x-private'], 'x-private': 1 };
        return `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${p}.${s}`;
      },
      'structure',
      /critical/,
    ],
  ];
  for (const [name, make, step, detail] of cases) {
    it(`${name}: ${step}`, async () => {
      const token = await make();
      const report = await checkToken(token, options);
      assert.equal(report.valid, false);
      assert.equal(report.undecided, false);
      assert.equal(failedStep(report), step, JSON.stringify(report.steps, null, 1));
      const failure = report.steps.find((s) => s.name === step);
      assert.match(failure?.detail ?? '', detail);
      const after = report.steps.slice(report.steps.indexOf(failure as never) + 1);
      for (const s of after)
        assert.ok(s.status === 'skipped' || s.status === 'passed' || s.status === 'failed');
      assert.equal(report.steps.length, 6);
      const error = checkFailure(report);
      assert.ok(error instanceof TokenInvalid);
      assert.equal(error.exitCode, 1);
      assert.match(error.message, new RegExp(`the ${step} step failed`));
      assert.ok(!error.message.includes(token));
      assertNoToken(report, token);
    });
  }

  it('a wrong audience and an expiry are both reported (claims are judged independently)', async () => {
    const token = await issuer.mint({
      aud: 'https://evil.example.test',
      exp: Math.floor(Date.now() / 1000) - 3600,
    });
    const report = await checkToken(token, options);
    const byName = Object.fromEntries(report.steps.map((s) => [s.name, s.status]));
    assert.equal(byName.signature, 'passed');
    assert.equal(byName.issuer_audience, 'failed');
    assert.equal(byName.time, 'failed');
  });

  it('a jku header is never fetched, whatever kid it comes with', async () => {
    const listener = await startListener();
    try {
      const attacker = await newSigningKey('RS256', 'attacker');
      for (const key of [attacker, await newSigningKey('RS256', issuer.rs256.kid)]) {
        const token = await issuer.mint(
          {},
          { key, header: { jku: listener.url, x5u: listener.url, jwk: key.publicJwk } },
        );
        const report = await checkToken(token, options);
        assert.equal(report.valid, false);
        assert.ok(['key', 'signature'].includes(failedStep(report) ?? ''), JSON.stringify(report.steps));
      }
      const signedByIssuer = await issuer.mint({}, { header: { jku: listener.url } });
      const report = await checkToken(signedByIssuer, options);
      assert.equal(report.valid, true);
      assert.match(report.steps[2]?.detail ?? '', /jku header was ignored/);
      assert.equal(listener.hits(), 0, 'the jku URL received no request');
    } finally {
      await listener.close();
    }
  });

  it('a 1 MB token is refused by the structure step without being decoded', async () => {
    const huge = `${(await issuer.mint()).split('.')[0]}.${'a'.repeat(1024 * 1024)}.sig`;
    const started = performance.now();
    const report = await checkToken(huge, options);
    const elapsed = performance.now() - started;
    assert.equal(failedStep(report), 'structure');
    assert.match(report.steps[0]?.detail ?? '', /more than the 65536/);
    assert.equal(report.header, null);
    assert.equal(report.claims, null);
    assert.ok(elapsed < 50, `refused in ${elapsed.toFixed(1)} ms`);
  });

  it('a hostile kid is quoted short and printable', async () => {
    const token = await issuer.mint({}, { header: { kid: `x\u001b[31m${'k'.repeat(5000)}` } });
    const report = await checkToken(token, options);
    const detail = report.steps.find((s) => s.name === 'key')?.detail ?? '';
    assert.ok(detail.length < 300, detail);
    assert.ok(!detail.includes('\u001b'), 'no escape character');
  });

  it('unusable options throw; a bad token never does', async () => {
    await assert.rejects(checkToken('x', { ...options, clockTolerance: 301 }), InvalidInput);
    await assert.rejects(checkToken('x', { ...options, algorithms: ['HS256'] }), InvalidInput);
    await assert.rejects(checkToken('x', { ...options, algorithms: ['none'] }), InvalidInput);
    await assert.rejects(checkToken('x', { ...options, issuer: 'http://sso.example.com' }), InsecureUrl);
    const narrowed = await checkToken(await issuer.mint({}, { key: issuer.es256 }), {
      ...options,
      algorithms: ['RS256'],
    });
    assert.equal(failedStep(narrowed), 'algorithm');
  });
});

describe('keys: one refetch on an unknown kid, rate-limited', () => {
  it('a key published later is found after one download; an unknown kid costs at most one per cooldown', async () => {
    const own = countingFetch();
    const opts = { ...options, fetch: own.fetch, jwksCooldown: 0.3 };
    assert.equal((await checkToken(await issuer.mint(), opts)).valid, true);
    assert.equal(own.count('/jwks'), 1);

    const next = await newSigningKey('ES256', 'es-2');
    // Generated up front: an RSA key takes longer than the cooldown to make.
    const stranger = await newSigningKey('RS256', 'stranger');
    issuer.published = [...issuer.published, next];
    try {
      await sleep(350);
      const report = await checkToken(await issuer.mint({}, { key: next }), opts);
      assert.equal(report.valid, true, JSON.stringify(report.steps));
      assert.equal(own.count('/jwks'), 2, 'one refetch');

      const soon = await checkToken(await issuer.mint({}, { key: stranger }), opts);
      assert.equal(failedStep(soon), 'key');
      assert.match(soon.steps[2]?.detail ?? '', /not downloaded again/);
      assert.equal(own.count('/jwks'), 2, 'within the cooldown: no download');

      await sleep(350);
      const later = await checkToken(await issuer.mint({}, { key: stranger }), opts);
      assert.equal(failedStep(later), 'key');
      assert.match(later.steps[2]?.detail ?? '', /downloaded again: still unknown/);
      assert.equal(own.count('/jwks'), 3, 'exactly one more download, then failure');
    } finally {
      issuer.published = issuer.published.filter((k) => k !== next);
    }
  });

  it('no kid with several keys for the algorithm fails; with one key it is used', async () => {
    const one = await issuer.mint({}, { key: issuer.es256, header: { kid: undefined } });
    assert.equal((await checkToken(one, options)).valid, true);
    const second = await newSigningKey('ES256', 'es-3');
    const own = countingFetch();
    issuer.published = [...issuer.published, second];
    try {
      const report = await checkToken(one, { ...options, fetch: own.fetch });
      assert.equal(failedStep(report), 'key');
      assert.match(report.steps[2]?.detail ?? '', /no kid and the issuer's JWKS has several ES256 keys/);
    } finally {
      issuer.published = issuer.published.filter((k) => k !== second);
    }
  });
});

describe('undecided: exit 3 material', () => {
  it('an unreachable issuer is undecided, not invalid', async () => {
    const port = await deadPort();
    const token = await issuer.mint({ iss: `http://127.0.0.1:${port}` });
    const report = await checkToken(token, { ...options, issuer: `http://127.0.0.1:${port}` });
    assert.equal(report.valid, false);
    assert.equal(report.undecided, true);
    assert.equal(report.steps[1]?.status, 'undecided');
    assert.match(report.steps[1]?.detail ?? '', /ECONNREFUSED/);
    const error = checkFailure(report);
    assert.ok(error instanceof ValidationUndecided);
    assert.equal(error.exitCode, 3);
  });

  it('alg none is invalid even when the issuer is unreachable (nothing to ask)', async () => {
    const port = await deadPort();
    const report = await checkToken(issuer.unsigned(), { ...options, issuer: `http://127.0.0.1:${port}` });
    assert.equal(report.undecided, false);
    assert.equal(failedStep(report), 'algorithm');
  });
});

describe('time judged on the issuer clock', () => {
  it("a local clock an hour behind the issuer's does not make an expired token valid", async () => {
    const ahead = await startTestIssuer({ dateOffsetMs: 3600_000 });
    try {
      const now = Math.floor(Date.now() / 1000);
      // Valid by this machine's clock, expired by the issuer's.
      const token = await ahead.mint({ exp: now + 1800, iat: now });
      const report = await checkToken(token, {
        issuer: ahead.issuer,
        audience: ahead.audience,
        fetch: countingFetch().fetch,
      });
      assert.equal(failedStep(report), 'time', JSON.stringify(report.steps));
      assert.match(report.steps[5]?.detail ?? '', /issuer's clock, which is (59m 5\ds|1h 0m) ahead/);
    } finally {
      await ahead.close();
    }
  });
});

describe('opaque tokens', () => {
  it('are introspected with the given client; active passes, unknown fails', async () => {
    issuer.opaque.set('opaque-token-123', {
      client_id: 'cli',
      scope: 'read',
      aud: issuer.audience,
      iss: issuer.issuer,
    });
    const client = {
      clientId: issuer.introspectionClient.id,
      clientSecret: issuer.introspectionClient.secret,
    };
    const ok = await checkToken('opaque-token-123', { ...options, introspection: client });
    assert.equal(ok.valid, true, JSON.stringify(ok.steps));
    assert.equal(ok.format, 'opaque');
    assert.deepEqual(
      ok.steps.map((s) => s.name),
      ['structure', 'introspection', 'issuer_audience', 'time'],
    );
    assert.equal(ok.claims?.scope, 'read');
    const unknown = await checkToken('opaque-token-456', { ...options, introspection: client });
    assert.equal(failedStep(unknown), 'introspection');
    assert.equal(unknown.undecided, false);
    const foreign = await checkToken('opaque-token-123', {
      ...options,
      audience: 'https://x',
      introspection: client,
    });
    assert.equal(failedStep(foreign), 'issuer_audience');
  });

  it('without client credentials, or with wrong ones, the check cannot decide', async () => {
    const none = await checkToken('opaque-token-123', options);
    assert.equal(none.undecided, true);
    assert.match(none.steps[1]?.detail ?? '', /client's credentials/);
    const wrong = await checkToken('opaque-token-123', {
      ...options,
      introspection: { clientId: 'checker', clientSecret: 'nope' },
    });
    assert.equal(wrong.undecided, true);
  });
});

describe('with dev-idp', () => {
  let idp: DevIdp;
  before(async () => {
    idp = await startDevIdp();
  });
  after(async () => {
    await idp?.close();
  });

  async function machineToken(): Promise<string> {
    const response = await fetch(`${idp.issuer}/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${idp.clients.machine.client_id}:${idp.clients.machine.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: idp.api }),
    });
    const body = (await response.json()) as { access_token: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    return body.access_token;
  }

  it('a real RS256 access token passes; after a key rotation the new kid costs one refetch', async () => {
    const own = countingFetch();
    const opts = { issuer: idp.issuer, audience: idp.api, fetch: own.fetch, jwksCooldown: 0.2 };
    const first = await checkToken(await machineToken(), opts);
    assert.equal(first.valid, true, JSON.stringify(first.steps));
    assert.equal(first.header?.alg, 'RS256');
    const discovery = (await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    const jwksPath = new URL(discovery.jwks_uri).pathname;
    assert.equal(own.count(jwksPath), 1);

    await idp.rotateKeys();
    const rotated = await machineToken();
    assert.notEqual(
      JSON.parse(Buffer.from(rotated.split('.')[0] ?? '', 'base64url').toString()).kid,
      first.header?.kid,
    );
    await sleep(250);
    const second = await checkToken(rotated, opts);
    assert.equal(second.valid, true, JSON.stringify(second.steps));
    assert.equal(own.count(jwksPath), 2, 'one refetch for the new kid');
    assert.equal((await checkToken(rotated, opts)).valid, true);
    assert.equal(own.count(jwksPath), 2, 'then cached');
  });
});

describe('report details', () => {
  it('quote any value from a token or a server without throwing, short and printable', () => {
    const deep = JSON.parse(`${'['.repeat(20_000)}1${']'.repeat(20_000)}`) as unknown;
    assert.equal(shown(deep), '(a nested array too deep to show)');
    assert.equal(shown('kid\u0000\u001b[31m'), 'kid??[31m');
    assert.equal(shown('x'.repeat(500)).length, 81);
    const now = new Date('2026-01-01T00:00:00Z');
    assert.match(when(deep, now), /nested array too deep to show.*\(not a time\)/);
    assert.equal(when('soon', now), 'soon (not a time)');
    assert.equal(when(1e300, now), '1e+300 (beyond any date)');
    assert.equal(when(now.getTime() / 1000 + 90, now), '2026-01-01T00:01:30Z (in 1m 30s)');
  });
});
