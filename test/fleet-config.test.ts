/**
 * `fleet:` in the config and `KEYFOB_FLEET_REDIS` / `KEYFOB_FLEET_KEY` (DESIGN.md, Fleets): a
 * Redis URL with a password and every key must come from a variable; a key is 32 bytes as
 * base64 (standard or url-safe) or 64 hex digits; errors name the key path or the variable and
 * never echo a value.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKeyfob, InvalidConfig, InvalidInput } from '@keyfob/core';

const KEY = randomBytes(32);

/** The config validated with these variables; resolves the config or the error. */
async function validate(fleet: unknown, env: Record<string, string> = {}) {
  const kf = createKeyfob({ environment: { HOME: '/nonexistent', ...env }, config: { fleet } as never });
  return kf.config();
}

async function refused(fleet: unknown, env: Record<string, string>, path: RegExp, words: RegExp) {
  await assert.rejects(validate(fleet, env), (error: Error) => {
    assert.ok(error instanceof InvalidConfig, String(error));
    assert.match(error.message, path);
    assert.match(error.message, words);
    for (const value of Object.values(env)) assert.ok(!error.message.includes(value), 'no value echoed');
    return true;
  });
}

describe('fleet: in the config', () => {
  it('accepts a key as standard base64, url-safe base64 or hex, and a URL with its password from a variable', async () => {
    const base64 = KEY.toString('base64');
    const urlSafe = randomBytes(32).toString('base64url');
    const hex = randomBytes(32).toString('hex');
    const config = await validate(
      {
        redis: '${FLEET_REDIS_URL}',
        key_prefix: 'payments-workers',
        encryption_keys: ['${K1}', '${K2}', '${K3}'],
      },
      { FLEET_REDIS_URL: 'rediss://worker:s3cret@127.0.0.1:6380/2', K1: base64, K2: urlSafe, K3: hex },
    );
    assert.equal(config.fleet?.key_prefix, 'payments-workers');
    assert.equal(config.fleet?.encryption_keys.length, 3);
    const plain = await validate(
      { redis: 'redis://127.0.0.1:6379', encryption_keys: ['${K}'] },
      { K: base64 },
    );
    assert.equal(plain.fleet?.redis, 'redis://127.0.0.1:6379');
  });

  it('refuses a literal password in the URL, a literal key, a key that is not 32 bytes, an unknown setting', async () => {
    const K = KEY.toString('base64');
    await refused(
      { redis: 'redis://:hunter2@127.0.0.1:6379', encryption_keys: ['${K}'] },
      { K },
      /fleet\.redis/,
      /a Redis URL with a user or password is a secret: it must be exactly one \$\{VAR\} reference/,
    );
    await refused(
      { redis: 'redis://127.0.0.1:6379', encryption_keys: [K] },
      {},
      /fleet\.encryption_keys\[0\]/,
      /a literal key is not allowed here/,
    );
    await refused(
      { redis: 'redis://127.0.0.1:6379', encryption_keys: ['${K}'] },
      { K: randomBytes(16).toString('base64') },
      /fleet\.encryption_keys\[0\]/,
      /\$\{K\} is not a fleet key: 32 bytes written as base64 \(standard or url-safe\) or as 64 hex digits/,
    );
    await refused(
      { redis: 'redis://127.0.0.1:6379', encryption_keys: [] },
      {},
      /fleet\.encryption_keys/,
      /at least one key/,
    );
    await refused(
      { redis: 'http://127.0.0.1:6379', encryption_keys: ['${K}'] },
      { K },
      /fleet\.redis/,
      /redis:\/\//,
    );
    await refused(
      { redis: 'redis://127.0.0.1', encryption_keys: ['${K}'], keyprefix: 'x' },
      { K },
      /fleet\.keyprefix/,
      /unknown fleet setting \(did you mean key_prefix\?\)/,
    );
    await refused(
      { redis: 'redis://127.0.0.1', encryption_keys: ['${K}'], key_prefix: 'a b' },
      { K },
      /fleet\.key_prefix/,
      /letters, digits/,
    );
  });
});

describe('the fleet variables', () => {
  const machine = (env: Record<string, string>) =>
    createKeyfob({
      environment: { HOME: '/nonexistent', KEYFOB_CLIENT_ID: 'c', KEYFOB_CLIENT_SECRET: 's', ...env },
      config: {
        default_provider: 'robot',
        providers: {
          robot: { type: 'client_credentials', token_endpoint: 'http://127.0.0.1:1/token', client_id: 'c' },
        },
      } as never,
    });

  it('a Redis without a key, a key without a Redis, or a malformed key: a machine token call says which variable to set', async () => {
    await assert.rejects(
      machine({ KEYFOB_FLEET_REDIS: 'redis://127.0.0.1:1' }).getToken(),
      (error: Error) => {
        assert.ok(error instanceof InvalidInput);
        assert.match(error.message, /the fleet has Redis but no encryption key; set KEYFOB_FLEET_KEY/);
        return true;
      },
    );
    await assert.rejects(
      machine({ KEYFOB_FLEET_KEY: KEY.toString('hex') }).getToken(),
      /KEYFOB_FLEET_KEY is set but the fleet has no Redis; set KEYFOB_FLEET_REDIS/,
    );
    await assert.rejects(
      machine({ KEYFOB_FLEET_REDIS: 'redis://127.0.0.1:1', KEYFOB_FLEET_KEY: 'short' }).getToken(),
      (error: Error) => {
        assert.match(error.message, /KEYFOB_FLEET_KEY holds a value that is not a fleet key/);
        assert.ok(!error.message.includes('short'));
        return true;
      },
    );
    await assert.rejects(
      machine({
        KEYFOB_FLEET_REDIS: 'memcached://127.0.0.1:1',
        KEYFOB_FLEET_KEY: KEY.toString('hex'),
      }).getToken(),
      /KEYFOB_FLEET_REDIS must start with redis:\/\/ or rediss:\/\//,
    );
  });
});
