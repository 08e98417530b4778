/**
 * TLS and proxies on real parts: dev-idp served over HTTPS with a throw-away CA, reached by the
 * built `keyfob` command with a machine profile (no browser). A certificate failure names the
 * three fixes; the CA bundle, `NODE_EXTRA_CA_CERTS` and turning verification off each work;
 * `HTTPS_PROXY` and `NO_PROXY` decide whether a CONNECT tunnel is used. Two library instances in
 * one process keep their own settings: there is no global dispatcher.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createKeyfob, isKeyfobError } from '@keyfob/core';
import { type DevIdp, runDevIdpCli, startDevIdp } from '@keyfob/dev-idp';
import { type CliResult, makeHome, runCli, type TestHome } from './support/cli.js';
import { startProxy, type TestProxy } from './support/proxy.js';
import { makeTestCa, type TestCa } from './support/tls.js';

const ROBOT_PROFILE = 'profiles:\n  ci:\n    provider: robot\n';
const FIXES = [
  /install the system's CA certificates/,
  /set KEYFOB_CA_BUNDLE to a PEM file/,
  /KEYFOB_VERIFY_TLS=false \(insecure\)/,
];
const WARNING = /TLS certificate verification is off \(KEYFOB_VERIFY_TLS=false\)/g;

let ca: TestCa;
let idp: DevIdp;

before(async () => {
  ca = makeTestCa();
  idp = await startDevIdp({ tls: { key: ca.key, cert: ca.cert } });
});

after(async () => {
  await idp?.close();
  ca?.remove();
});

/** A fresh home (so nothing is cached) with a client-credentials profile `ci`. */
function robotHome(): TestHome {
  return makeHome(idp, ROBOT_PROFILE);
}

function token(home: TestHome, extra: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['token', '--profile', 'ci'], { env: { ...home.env, ...extra } });
}

function assertIssued(result: CliResult): void {
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one JWT on stdout');
}

/** Exit 1, one line on stderr, nothing on stdout, no stack. */
function assertOneLineFailure(result: CliResult): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, '', 'no token');
  assert.equal(result.stderr.trimEnd().split('\n').length, 1, `one line:\n${result.stderr}`);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack');
}

describe('dev-idp over HTTPS', () => {
  it('serves its issuer on https with the certificate given', () => {
    assert.match(idp.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(idp.api, `${idp.issuer}/api`);
  });

  it('`--tls-key` and `--tls-cert` serve HTTPS; one without the other is one error line', async () => {
    const stdout = new PassThrough();
    const controller = new AbortController();
    const ready = new Promise<string>((resolve) =>
      stdout.once('data', (chunk: Buffer) => resolve(String(chunk))),
    );
    const exit = runDevIdpCli(
      ['--quiet', '--tls-key', ca.keyFile, '--tls-cert', ca.certFile],
      { stdout, stderr: new PassThrough(), env: {} },
      controller.signal,
    );
    const line = JSON.parse(await ready) as { issuer: string };
    assert.match(line.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
    controller.abort();
    assert.equal(await exit, 0);

    const stderr = new PassThrough();
    let errors = '';
    stderr.on('data', (chunk: Buffer) => {
      errors += String(chunk);
    });
    const lone = await runDevIdpCli(['--tls-key', ca.keyFile], {
      stdout: new PassThrough(),
      stderr,
      env: {},
    });
    assert.equal(lone, 1);
    assert.match(errors, /^keyfob dev-idp: --tls-key and --tls-cert go together \(see --help\)\n$/);
  });
});

describe('keyfob over HTTPS with a private CA', () => {
  it('without the CA: exit 1 naming the failed verification and the three fixes', async () => {
    const result = await token(robotHome());
    assertOneLineFailure(result);
    assert.match(result.stderr, /TLS certificate verification failed for https:\/\/127\.0\.0\.1:\d+/);
    for (const fix of FIXES) assert.match(result.stderr, fix);
  });

  it('works with KEYFOB_CA_BUNDLE', async () => {
    assertIssued(await token(robotHome(), { KEYFOB_CA_BUNDLE: ca.caFile }));
  });

  it('works with NODE_EXTRA_CA_CERTS', async () => {
    assertIssued(await token(robotHome(), { NODE_EXTRA_CA_CERTS: ca.caFile }));
  });

  it('works with KEYFOB_CA_BUNDLE when NODE_EXTRA_CA_CERTS is also set (both are trusted)', async () => {
    const other = makeTestCa();
    try {
      assertIssued(
        await token(robotHome(), { KEYFOB_CA_BUNDLE: other.caFile, NODE_EXTRA_CA_CERTS: ca.caFile }),
      );
      assertIssued(
        await token(robotHome(), { KEYFOB_CA_BUNDLE: ca.caFile, NODE_EXTRA_CA_CERTS: other.caFile }),
      );
    } finally {
      other.remove();
    }
  });

  it('works with KEYFOB_VERIFY_TLS=false and warns exactly once across several requests', async () => {
    const home = robotHome();
    const stats = idp.stats.apiRequests;
    // discovery, the token request and the API request: three requests, one process.
    const result = await runCli(['fetch', `${idp.api}/hello`, '--profile', 'ci'], {
      env: { ...home.env, KEYFOB_VERIFY_TLS: 'false' },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).client_id, idp.clients.machine.client_id);
    assert.equal(idp.stats.apiRequests - stats, 1);
    assert.equal(result.stderr.match(WARNING)?.length, 1, result.stderr);
  });

  it('`keyfob fetch` to the API maps a certificate failure the same way', async () => {
    const home = robotHome();
    // The token is cached with the CA; the resource request then goes out without it.
    assertIssued(await token(home, { KEYFOB_CA_BUNDLE: ca.caFile }));
    const stats = idp.stats.tokenRequests.client_credentials ?? 0;
    const result = await runCli(['fetch', `${idp.api}/hello`, '--profile', 'ci'], { env: home.env });
    assertOneLineFailure(result);
    assert.equal(idp.stats.tokenRequests.client_credentials ?? 0, stats, 'the cached token was used');
    assert.match(result.stderr, /TLS certificate verification failed for https:\/\/127\.0\.0\.1:\d+/);
    for (const fix of FIXES) assert.match(result.stderr, fix);
    const trusted = await runCli(['fetch', `${idp.api}/hello`, '--profile', 'ci'], {
      env: { ...home.env, KEYFOB_CA_BUNDLE: ca.caFile },
    });
    assert.equal(trusted.code, 0, trusted.stderr);
  });

  it('a missing or garbage KEYFOB_CA_BUNDLE is one clear error line', async () => {
    const missing = await token(robotHome(), { KEYFOB_CA_BUNDLE: join(ca.dir, 'nope.pem') });
    assertOneLineFailure(missing);
    assert.match(missing.stderr, /KEYFOB_CA_BUNDLE names \S+nope\.pem, which does not exist/);

    const garbage = join(ca.dir, 'garbage.pem');
    writeFileSync(garbage, 'this is not a certificate\n');
    const notPem = await token(robotHome(), { KEYFOB_CA_BUNDLE: garbage });
    assertOneLineFailure(notPem);
    assert.match(notPem.stderr, /KEYFOB_CA_BUNDLE names \S+garbage\.pem, which holds no PEM certificate/);

    const broken = join(ca.dir, 'broken.pem');
    writeFileSync(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const unparsable = await token(robotHome(), { KEYFOB_CA_BUNDLE: broken });
    assertOneLineFailure(unparsable);
    assert.match(unparsable.stderr, /holds a certificate that does not parse/);
  });
});

describe('proxies', () => {
  let proxy: TestProxy;
  before(async () => {
    proxy = await startProxy({ tunnel: true });
  });
  after(() => proxy?.close());

  const target = () => new URL(idp.issuer).host;

  it('HTTPS_PROXY: the requests go through a CONNECT tunnel', async () => {
    const before = proxy.connects.length;
    assertIssued(await token(robotHome(), { KEYFOB_CA_BUNDLE: ca.caFile, HTTPS_PROXY: proxy.url }));
    const tunnels = proxy.connects.slice(before);
    assert.ok(tunnels.length >= 1, 'at least one tunnel');
    assert.ok(
      tunnels.every((t) => t === target()),
      `every tunnel leads to dev-idp: ${tunnels.join(', ')}`,
    );
  });

  it('NO_PROXY naming the host bypasses the proxy', async () => {
    const before = proxy.connects.length;
    assertIssued(
      await token(robotHome(), {
        KEYFOB_CA_BUNDLE: ca.caFile,
        HTTPS_PROXY: proxy.url,
        NO_PROXY: '127.0.0.1',
      }),
    );
    assert.equal(proxy.connects.length, before, 'no tunnel');
  });

  it('a certificate failure through the proxy still names the fixes', async () => {
    const result = await token(robotHome(), { HTTPS_PROXY: proxy.url });
    assertOneLineFailure(result);
    for (const fix of FIXES) assert.match(result.stderr, fix);
  });
});

describe('the library: one dispatcher per instance', () => {
  it('two instances in one process keep their own TLS and proxy settings', async () => {
    const trusting = robotHome();
    const plain = robotHome();
    const proxied = robotHome();
    const proxy = await startProxy({ tunnel: true });
    try {
      const withCa = createKeyfob({ environment: { ...trusting.env, KEYFOB_CA_BUNDLE: ca.caFile } });
      const without = createKeyfob({ environment: plain.env });
      const viaProxy = createKeyfob({
        environment: { ...proxied.env, KEYFOB_CA_BUNDLE: ca.caFile, HTTPS_PROXY: proxy.url },
      });
      const [ok, refused, tunnelled] = await Promise.allSettled([
        withCa.getToken({ profile: 'ci' }),
        without.getToken({ profile: 'ci' }),
        viaProxy.getToken({ profile: 'ci' }),
      ]);
      assert.equal(ok.status, 'fulfilled', ok.status === 'rejected' ? String(ok.reason) : '');
      assert.equal(refused.status, 'rejected');
      const reason = refused.status === 'rejected' ? refused.reason : undefined;
      assert.ok(isKeyfobError(reason), String(reason));
      assert.equal(reason.code, 'TLS_VERIFICATION_FAILED');
      assert.equal(
        tunnelled.status,
        'fulfilled',
        tunnelled.status === 'rejected' ? String(tunnelled.reason) : '',
      );
      assert.ok(proxy.connects.length >= 1, 'only the instance with HTTPS_PROXY used the proxy');
      const connects = proxy.connects.length;

      // The first instance's trust did not leak into the second, nor the other way round.
      await assert.rejects(without.getToken({ profile: 'ci' }), { code: 'TLS_VERIFICATION_FAILED' });
      assert.ok(
        (
          await createKeyfob({ environment: { ...plain.env, KEYFOB_CA_BUNDLE: ca.caFile } }).getToken({
            profile: 'ci',
          })
        ).access_token,
      );
      assert.equal(proxy.connects.length, connects, 'instances without HTTPS_PROXY never tunnel');
    } finally {
      await proxy.close();
    }
  });
});
