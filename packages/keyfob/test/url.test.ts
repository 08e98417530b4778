import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InsecureUrl, InvalidInput } from '../src/errors.js';
import { checkSecureUrl, isLoopbackHost, originOf, parseSecureUrl } from '../src/url.js';

describe('isLoopbackHost', () => {
  test('accepts 127.0.0.0/8, ::1 in both spellings, and localhost', () => {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '127.255.255.255',
      '::1',
      '[::1]',
      'localhost',
      'LOCALHOST',
    ]) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  test('accepts other spellings of ::1 and IPv4-mapped loopback', () => {
    for (const host of ['0:0:0:0:0:0:0:1', '[0::1]', '::ffff:127.0.0.1', '[::ffff:7f00:1]']) {
      assert.equal(isLoopbackHost(host), true, host);
    }
  });

  test('refuses everything else, including look-alikes', () => {
    for (const host of [
      '',
      '128.0.0.1',
      '10.0.0.1',
      '0.0.0.0',
      '::',
      '::2',
      '[::2]',
      '::ffff:10.0.0.1',
      '127.0.0.1.example.com',
      'localhost.',
      'app.localhost',
      'localhost.example.com',
      '0127.0.0.1',
      '127.0.0.256',
      '127.0.0',
      'example.com',
    ]) {
      assert.equal(isLoopbackHost(host), false, host);
    }
  });
});

describe('parseSecureUrl', () => {
  test('accepts https anywhere', () => {
    assert.equal(
      parseSecureUrl('https://sso.example.com/realms/main', 'issuer').href,
      'https://sso.example.com/realms/main',
    );
    assert.equal(parseSecureUrl('https://10.0.0.1:8443/x?y=1', 'issuer').port, '8443');
  });

  test('accepts plain http on loopback only', () => {
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://[::1]:3000/cb',
      'http://localhost:9/',
      'http://127.9.9.9',
    ]) {
      assert.equal(parseSecureUrl(url, 'issuer').protocol, 'http:', url);
    }
  });

  test('refuses plain http elsewhere with InsecureUrl naming what and the fix', () => {
    const error = catchError(() => parseSecureUrl('http://sso.example.com/realms/main', 'issuer'));
    assert.ok(error instanceof InsecureUrl);
    assert.equal(error.code, 'INSECURE_URL');
    assert.match(error.message, /^issuer must use https/);
    assert.match(error.message, /write https:\/\/sso\.example\.com\/realms\/main/);
  });

  test('refuses user name and password without echoing them', () => {
    const error = catchError(() => parseSecureUrl('https://alice:hunter2@api.example.com/', 'api_base'));
    assert.ok(error instanceof InvalidInput);
    assert.match(error.message, /^api_base must not contain a user name or password/);
    assert.ok(!error.message.includes('hunter2'));
    assert.ok(!error.message.includes('alice'));
  });

  test('refuses fragments, even an empty one', () => {
    for (const url of ['https://api.example.com/#access_token=abc', 'https://api.example.com/#']) {
      const error = catchError(() => parseSecureUrl(url, 'api_base'));
      assert.ok(error instanceof InvalidInput, url);
      assert.match(error.message, /fragment/);
      assert.ok(!error.message.includes('abc'));
    }
  });

  test('refuses other schemes and malformed text', () => {
    for (const [url, pattern] of [
      ['ftp://example.com/', /must be an https URL, not ftp:/],
      ['file:///etc/passwd', /not file:/],
      ['javascript:alert(1)', /not javascript:/],
      ['example.com', /not a valid absolute URL/],
      ['', /must be a URL/],
      ['https://exa\tmple.com/', /spaces or control characters/],
      ['https://example.com/\n', /spaces or control characters/],
      [' https://example.com/', /spaces or control characters/],
    ] as const) {
      const error = catchError(() => parseSecureUrl(url, 'issuer'));
      assert.ok(error instanceof InvalidInput, url);
      assert.match(error.message, pattern, url);
    }
  });

  test('checkSecureUrl reports the problem without throwing', () => {
    assert.deepEqual(
      (({ ok, problem }) => ({ ok, problem }))(
        checkSecureUrl('http://example.com/') as { ok: false; problem: string },
      ),
      { ok: false, problem: 'insecure' },
    );
    const ok = checkSecureUrl('https://example.com/');
    assert.equal(ok.ok, true);
  });
});

describe('originOf', () => {
  test('gives scheme, lower-case host and non-default port', () => {
    assert.equal(originOf('https://API.Example.com:443/v1?x=1'), 'https://api.example.com');
    assert.equal(originOf('http://127.0.0.1:8080/x'), 'http://127.0.0.1:8080');
    assert.equal(originOf(new URL('http://[::1]:3000/')), 'http://[::1]:3000');
  });

  test('refuses text that is not a URL and URLs without an origin', () => {
    assert.throws(() => originOf('not a url'), InvalidInput);
    assert.throws(() => originOf('data:text/plain,hi'), InvalidInput);
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof Error);
    return error;
  }
  assert.fail('expected an error');
}
