/**
 * bearerChallengeOf: the `Bearer` challenge of a response whose token went in a cookie or
 * another header (openid-client parses on its own only the requests it sent), by openid-client.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerChallengeOf } from '../src/http/challenge.js';

const answer = (header: string | null, status = 403) =>
  new Response('{"secret-body":true}', {
    status,
    headers: header === null ? {} : { 'www-authenticate': header },
  });

describe('bearerChallengeOf', () => {
  it('reads quoted and bare parameters, names case-insensitive, escapes undone', async () => {
    assert.deepEqual(
      await bearerChallengeOf(
        answer(
          'Bearer realm="eu-west-1", error="insufficient_scope", error_description="needs \\"tenant:admin\\"", Scope="tenant:admin tenant:read"',
        ),
      ),
      {
        realm: 'eu-west-1',
        error: 'insufficient_scope',
        error_description: 'needs "tenant:admin"',
        scope: 'tenant:admin tenant:read',
      },
    );
    assert.deepEqual(await bearerChallengeOf(answer('bearer error=invalid_token', 401)), {
      error: 'invalid_token',
    });
    assert.deepEqual(await bearerChallengeOf(answer('DPoP algs="ES256", error=use_dpop_nonce', 401)), {
      algs: 'ES256',
      error: 'use_dpop_nonce',
    });
  });

  it('finds the Bearer challenge after another scheme', async () => {
    assert.deepEqual(
      await bearerChallengeOf(answer('Basic realm="x", Bearer error="insufficient_scope", scope="a"')),
      { error: 'insufficient_scope', scope: 'a' },
    );
  });

  it('no header, no Bearer challenge, or a scheme that only starts with Bearer: undefined; the body unread', async () => {
    assert.equal(await bearerChallengeOf(answer(null)), undefined);
    assert.equal(await bearerChallengeOf(answer('Basic realm="Bearer"')), undefined);
    assert.equal(await bearerChallengeOf(answer('Bearerish error="x"')), undefined);
    const response = answer('Bearer error="insufficient_scope"');
    await bearerChallengeOf(response);
    assert.equal(response.bodyUsed, false);
    assert.deepEqual(await response.json(), { 'secret-body': true });
  });

  it('bounds each value to 1 KiB', async () => {
    const long = 'x'.repeat(5000);
    assert.equal((await bearerChallengeOf(answer(`Bearer error="${long}"`)))?.error?.length, 1024);
  });
});
