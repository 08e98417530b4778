import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, redactField } from '../src/log.js';

describe('the redacting logger', () => {
  it('prints only allow-listed fields; everything else is [redacted]', () => {
    const lines: string[] = [];
    const log = createLogger({ debug: true, write: (l) => lines.push(l) });
    log.debug('refresh', {
      provider: 'dev',
      refresh_token: 'rt-SECRET',
      access_token: 'at-SECRET',
      authorization: 'Bearer at-SECRET',
      code_verifier: 'v-SECRET',
      something_new: 'new-SECRET',
      url: 'https://idp.example/cb?code=c-SECRET&state=s',
    });
    const out = lines.join('');
    assert.doesNotMatch(out, /SECRET/);
    assert.match(out, /provider=dev/);
    assert.match(out, /url=https:\/\/idp\.example\/cb$/m);
    assert.match(out, /something_new=\[redacted\]/);
  });

  it('prints nothing at debug level unless debugging, and each warning once', () => {
    const lines: string[] = [];
    const log = createLogger({ debug: false, write: (l) => lines.push(l), prefix: 'acme' });
    log.debug('x', { provider: 'p' });
    log.warn('careful');
    log.warn('careful');
    assert.deepEqual(lines, ['acme: warning: careful\n']);
  });

  it('objects under a safe name are still redacted', () => {
    assert.equal(redactField('status', { token: 'x' }), '[redacted]');
    assert.equal(redactField('scopes', ['a', 'b']), 'a,b');
  });
});
