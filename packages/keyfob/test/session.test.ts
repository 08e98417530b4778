import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AccessToken,
  accessTokenFromResponse,
  accessTokenKey,
  findAccessToken,
  isFreshEnough,
  newSession,
  parseScopes,
} from '../src/session.js';

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function token(lifetime: number | null, resource: string | null = null, scopes: string[] = []): AccessToken {
  return accessTokenFromResponse(
    { access_token: 'x', ...(lifetime === null ? {} : { expires_in: lifetime }), scope: scopes.join(' ') },
    { resource, scopes },
    t0,
  );
}

describe('scopes', () => {
  it('accepts commas or spaces, sorts and deduplicates', () => {
    assert.deepEqual(parseScopes('b,a  c, a'), ['a', 'b', 'c']);
    assert.deepEqual(parseScopes(['x y', 'x']), ['x', 'y']);
    assert.deepEqual(parseScopes(undefined), []);
  });
});

describe('freshness (DESIGN.md: remaining >= min(minTtl, half the lifetime))', () => {
  it('a long token is refreshed once it has less than minTtl left', () => {
    const hour = token(3600);
    assert.equal(isFreshEnough(hour, at(3600 - 61), 60), true);
    assert.equal(isFreshEnough(hour, at(3600 - 59), 60), false);
  });

  it('a short token is judged by half its lifetime, so minTtl beyond it never loops', () => {
    const short = token(10);
    assert.equal(isFreshEnough(short, at(0), 60), true, 'a token just obtained is accepted');
    assert.equal(isFreshEnough(short, at(4), 60), true);
    assert.equal(isFreshEnough(short, at(6), 60), false);
  });

  it('expiry comes from expires_in at receipt, not from the token, so clock skew does not matter', () => {
    assert.equal(token(300).expires_at, '2026-01-01T00:05:00.000Z');
  });

  it('a token without expiry is always fresh; an expired one never is', () => {
    assert.equal(isFreshEnough(token(null), at(10 ** 7), 60), true);
    assert.equal(isFreshEnough(token(100), at(101), 0), false);
  });
});

describe('access tokens keyed by resource and scopes', () => {
  it('finds the exact key, else a superset for the same resource, never another resource', () => {
    const session = newSession('dev', 'browser', t0);
    const api = token(60, 'https://api', ['read', 'write']);
    session.access_tokens[accessTokenKey(api.resource, api.scopes)] = api;
    assert.equal(findAccessToken(session, 'https://api', ['write', 'read']), api);
    assert.equal(findAccessToken(session, 'https://api', ['read']), api);
    assert.equal(findAccessToken(session, 'https://api', ['admin']), undefined);
    assert.equal(findAccessToken(session, null, []), undefined);
  });
});
