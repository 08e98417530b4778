/**
 * `keyfob check` as a user runs it: tokens really signed by dev-idp, and a corpus minted at run
 * time by an issuer the test makes (its own RS256 and ES256 keys). Every broken token exits 1
 * naming its failing step in one line; an unreachable issuer exits 3; nothing is echoed or
 * written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { type CliResult, filesUnder, makeHome, runCli, startCli, type TestHome } from './support/cli.js';
import {
  deadPort,
  newSigningKey,
  startListener,
  startTestIssuer,
  type TestIssuer,
  tamperSignature,
} from './support/issuer.js';
import { inTerminal } from './support/pty.js';
import { assertMatchesSchema } from './support/schemas.js';

let idp: DevIdp;
let issuer: TestIssuer;
let home: TestHome;
let dead: number;

before(async () => {
  [idp, issuer, dead] = await Promise.all([startDevIdp(), startTestIssuer(), deadPort()]);
  home = makeHome(
    idp,
    [
      '  own:',
      '    type: oidc',
      `    issuer: ${issuer.issuer}`,
      '    client_id: checker',
      `    resource: ${issuer.audience}`,
      '  gone:',
      '    type: oidc',
      `    issuer: http://127.0.0.1:${dead}`,
      '    client_id: nobody',
      'profiles:',
      '  ci:',
      '    provider: robot',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await Promise.all([idp?.close(), issuer?.close()]);
});

/** One line on stderr, no stack, no token, and not even a long piece of it. */
function assertCleanError(result: CliResult, token: string) {
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\n\s+at |Error:/, 'no stack trace');
  for (const piece of token.split('.').filter((p) => p.length >= 16)) {
    assert.ok(!result.stderr.includes(piece), 'stderr does not echo the token');
    assert.ok(!result.stdout.includes(piece), 'stdout does not echo the token');
  }
}

const check = (args: string[], input?: string) =>
  runCli(['check', ...args], { env: home.env, ...(input !== undefined ? { input } : {}) });

describe('valid tokens pass: exit 0', () => {
  it('RS256 and ES256 from the test issuer, as an argument and through stdin', async () => {
    for (const key of [issuer.rs256, issuer.es256]) {
      const token = await issuer.mint({}, { key });
      const arg = await check([token, '--provider', 'own']);
      assert.equal(arg.code, 0, arg.stderr);
      assert.match(arg.stdout, new RegExp(`^valid: signed by ${issuer.issuer}, expires `));
      const piped = await check(
        ['-', '--issuer', issuer.issuer, '--audience', issuer.audience],
        `${token}\n`,
      );
      assert.equal(piped.code, 0, piped.stderr);
    }
  });

  it("dev-idp's machine token: the profile's own, and piped from keyfob token", async () => {
    const own = await check(['--profile', 'ci', '--verbose']);
    assert.equal(own.code, 0, own.stderr);
    for (const step of ['structure', 'algorithm', 'key', 'signature', 'issuer_audience', 'time']) {
      assert.match(own.stdout, new RegExp(`✓ ${step} `));
    }
    assert.ok(!own.stdout.includes('\u001b['), 'no colour when not a terminal');
    const token = (await runCli(['token', '--profile', 'ci'], { env: home.env })).stdout;
    const json = await check(['-', '--provider', 'robot', '--json'], token);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assertMatchesSchema('check', report);
    assert.equal(report.valid, true);
    assert.equal(report.header.alg, 'RS256');
    assert.equal(report.claims.aud, idp.api);
    assert.equal(report.steps.length, 6);
  });

  it('at a terminal, --verbose marks each step in colour; never with NO_COLOR', async () => {
    const token = await issuer.mint();
    const coloured = await inTerminal(['check', token, '--provider', 'own', '-v'], home.env);
    assert.equal(coloured.code, 0, coloured.output);
    assert.ok(coloured.output.includes('\u001b[32m✓\u001b[39m structure'), coloured.output);
    const plain = await inTerminal(['check', token, '--provider', 'own', '-v'], {
      ...home.env,
      NO_COLOR: '1',
    });
    assert.equal(plain.code, 0, plain.output);
    assert.match(plain.output, /✓ structure/);
    assert.ok(!plain.output.includes('\u001b['), 'no escape codes with NO_COLOR');
  });

  it('after dev-idp rotates its keys, a token with the new kid passes', async () => {
    const before = JSON.parse((await check(['--profile', 'ci', '--json'])).stdout);
    await idp.rotateKeys();
    const refreshed = await runCli(['refresh', '--profile', 'ci'], { env: home.env });
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const after = await check(['--profile', 'ci', '--json']);
    assert.equal(after.code, 0, after.stderr);
    const report = JSON.parse(after.stdout);
    assert.notEqual(report.header.kid, before.header.kid, 'signed with the new key');
  });

  it('a process downloads the JWKS once, even for a kid it does not know', async () => {
    const fresh = await newSigningKey('ES256', 'es-later');
    issuer.published = [...issuer.published, fresh];
    try {
      const jwksBefore = issuer.requests['/jwks'] ?? 0;
      const ok = await check([await issuer.mint({}, { key: fresh }), '--provider', 'own']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal((issuer.requests['/jwks'] ?? 0) - jwksBefore, 1);
      const stranger = await newSigningKey('RS256', 'stranger');
      const unknown = await check([await issuer.mint({}, { key: stranger }), '--provider', 'own']);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /the key step failed: no key with kid "stranger"/);
      assert.equal((issuer.requests['/jwks'] ?? 0) - jwksBefore, 2, 'one download for this process too');
    } finally {
      issuer.published = issuer.published.filter((k) => k !== fresh);
    }
  });
});

describe('broken and hostile tokens: exit 1, naming the failing step', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: Array<[string, () => Promise<string>, string]> = [
    ['signature tampered', async () => tamperSignature(await issuer.mint()), 'signature'],
    ['alg none', async () => issuer.unsigned(), 'algorithm'],
    ["HS256 keyed with the issuer's public key", () => issuer.hmacWithPublicKey(), 'algorithm'],
    ['an unknown kid', async () => issuer.mint({}, { key: await newSigningKey('ES256', 'nobody') }), 'key'],
    ['expired', () => issuer.mint({ exp: now() - 3600 }), 'time'],
    ['nbf in the future', () => issuer.mint({ nbf: now() + 3600 }), 'time'],
    ['iss with one trailing slash more', () => issuer.mint({ iss: `${issuer.issuer}/` }), 'issuer_audience'],
    ['missing aud', () => issuer.mint({}, { omit: ['aud'] }), 'issuer_audience'],
    ['a foreign aud', () => issuer.mint({ aud: 'https://elsewhere.example.test' }), 'issuer_audience'],
    ['two segments', async () => (await issuer.mint()).split('.').slice(0, 2).join('.'), 'structure'],
    [
      'bad base64',
      async () => {
        const [h, p, s] = (await issuer.mint()).split('.');
        return `${h}.${p}.${s?.slice(0, 20)}%%${s?.slice(22)}`;
      },
      'structure',
    ],
  ];
  for (const [name, make, step] of cases) {
    it(`${name}: ${step}`, async () => {
      const token = await make();
      const before = filesUnder(home.home);
      const result = await check([token, '--provider', 'own', '--json']);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, new RegExp(`^keyfob: the token is invalid: the ${step} step failed: `));
      assertCleanError(result, token);
      const report = JSON.parse(result.stdout);
      assertMatchesSchema('check', report);
      assert.equal(report.valid, false);
      assert.equal(report.steps.find((s: { status: string }) => s.status === 'failed')?.name, step);
      if (step === 'structure') {
        assert.equal(report.header, null);
        assert.equal(report.claims, null);
      }
      assert.deepEqual(filesUnder(home.home), before, 'nothing on disk changed');
    });
  }

  it('a jku header pointing at a local listener: refused, and the listener hears nothing', async () => {
    const listener = await startListener();
    try {
      const attacker = await newSigningKey('RS256', 'attacker');
      const token = await issuer.mint(
        {},
        { key: attacker, header: { jku: listener.url, x5u: listener.url } },
      );
      const result = await check([token, '--provider', 'own', '--verbose']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the key step failed/);
      assert.match(result.stdout, /✗ key +no key with kid "attacker".*jku, x5u headers were ignored/);
      assert.equal(listener.hits(), 0);
    } finally {
      await listener.close();
    }
  });

  it('a 1 MB token through stdin is refused by the structure step; over 2 MiB by the reader', async () => {
    const [h, , s] = (await issuer.mint()).split('.');
    const huge = `${h}.${'A'.repeat(1024 * 1024)}.${s}`;
    const result = await check(['-', '--provider', 'own', '--verbose'], huge);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /the structure step failed: the token is \d+ characters long, more than the 65536/,
    );
    assert.match(result.stdout, /✗ structure/);
    assertCleanError(result, huge);
    // keyfob stops reading at 2 MiB and exits, so the rest of the write meets a closed pipe.
    const running = startCli(['check', '-', '--provider', 'own'], {
      env: home.env,
      input: 'A'.repeat(3 * 1024 * 1024),
    });
    running.child.stdin?.on('error', () => {});
    const tooBig = await running.done;
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.stderr, /^keyfob: standard input holds more than 2 MiB/);
    assert.equal(tooBig.stderr.trim().split('\n').length, 1);
  });

  it('junk on stdin and in argv: one clear line each, nothing echoed', async () => {
    for (const junk of ['not a token at all', '{"alg":"none"}', 'a.b', '\u0000\u0001binary']) {
      const piped = await check(['-', '--provider', 'own'], junk);
      assert.equal(piped.code, 1, piped.stderr);
      assert.match(piped.stderr, /the structure step failed/);
      assert.equal(piped.stderr.trim().split('\n').length, 1);
    }
    const empty = await check(['-', '--provider', 'own'], '   \n');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /no token on standard input/);
  });
});

describe('could not decide: exit 3', () => {
  it('an unreachable issuer, by provider or by URL', async () => {
    const token = await issuer.mint({ iss: `http://127.0.0.1:${dead}` });
    for (const target of [
      ['--provider', 'gone'],
      ['--issuer', `http://127.0.0.1:${dead}`],
    ]) {
      const result = await check([token, ...target, '--json']);
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /^keyfob: could not decide whether the token is valid: .*ECONNREFUSED/);
      assertCleanError(result, token);
      const report = JSON.parse(result.stdout);
      assertMatchesSchema('check', report);
      assert.equal(report.undecided, true);
      assert.equal(report.steps[1].status, 'undecided');
    }
  });
});

describe('usage errors', () => {
  it('bad flags are one line, exit 1, before anything is read', async () => {
    const before = filesUnder(home.home);
    const token = await issuer.mint();
    for (const [args, expected] of [
      [[token, '--provider', 'own', '--issuer', issuer.issuer], /--provider or --issuer, not both/],
      [[token, '--provider', 'own', '--clock-tolerance', '301'], /between 0 and 300 seconds/],
      [[token, '--provider', 'own', '--clock-tolerance', 'soon'], /whole number of seconds/],
      [[token, '--issuer', 'http://sso.example.com'], /https/],
      [[token, '--provider', 'nosuch'], /provider nosuch is not configured/],
    ] as Array<[string[], RegExp]>) {
      const result = await check(args);
      assert.equal(result.code, 1, `${args.slice(1).join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, expected);
      assertCleanError(result, token);
    }
    assert.deepEqual(filesUnder(home.home), before);
  });

  it('--help describes the command', async () => {
    const help = await check(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: keyfob check \[TOKEN \| -\]/);
    assert.match(help.stdout, /--profile NAME/);
    assert.match(help.stdout, /Exit 0 valid, 1 invalid, 3/);
  });
});
