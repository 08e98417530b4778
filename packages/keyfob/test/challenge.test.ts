/**
 * parseBearerChallenge: the `Bearer` challenge of a `WWW-Authenticate` header, for requests
 * whose token went in a cookie or another header (openid-client parses only its own).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBearerChallenge } from '../src/http/challenge.js';

describe('parseBearerChallenge', () => {
  it('reads quoted and bare parameters, names case-insensitive, escapes undone', () => {
    assert.deepEqual(
      parseBearerChallenge(
        'Bearer realm="eu-west-1", error="insufficient_scope", error_description="needs \\"tenant:admin\\"", Scope="tenant:admin tenant:read"',
      ),
      {
        realm: 'eu-west-1',
        error: 'insufficient_scope',
        error_description: 'needs "tenant:admin"',
        scope: 'tenant:admin tenant:read',
      },
    );
    assert.deepEqual(parseBearerChallenge('bearer error=invalid_token'), { error: 'invalid_token' });
    assert.deepEqual(parseBearerChallenge('DPoP algs="ES256", error=use_dpop_nonce'), {
      algs: 'ES256',
      error: 'use_dpop_nonce',
    });
  });

  it('finds the Bearer challenge after another scheme and stops at the next one', () => {
    assert.deepEqual(
      parseBearerChallenge('Basic realm="x", Bearer error="insufficient_scope", scope="a", Negotiate'),
      { error: 'insufficient_scope', scope: 'a' },
    );
    assert.deepEqual(parseBearerChallenge('Bearer'), {});
  });

  it('no header, no Bearer challenge, or a scheme that only starts with Bearer: undefined', () => {
    assert.equal(parseBearerChallenge(null), undefined);
    assert.equal(parseBearerChallenge(''), undefined);
    assert.equal(parseBearerChallenge('Basic realm="Bearer"'), undefined);
    assert.equal(parseBearerChallenge('Bearerish error="x"'), undefined);
  });

  it('bounds each value to 1 KiB', () => {
    const long = 'x'.repeat(5000);
    assert.equal(parseBearerChallenge(`Bearer error="${long}"`)?.error?.length, 1024);
  });
});
