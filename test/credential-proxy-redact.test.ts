/**
 * The credential proxy's streaming redactor (`proxy/redact-stream.ts`): a secret split across
 * chunk boundaries at any point is still replaced, the longer form (`Bearer x`) first, and the
 * rest of the body passes byte for byte.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeldSecrets } from '../packages/keyfob/src/held-secrets.js';
import { REDACTED, RedactStream } from '../packages/keyfob/src/proxy/redact-stream.js';

describe('RedactStream', () => {
  /** Feeds `text` to a redactor in the given chunk sizes and returns its output. */
  async function redacted(text: string, secrets: string[], cut: (i: number) => boolean): Promise<string> {
    const stream = new RedactStream(new HeldSecrets(secrets));
    const out: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    let start = 0;
    for (let i = 1; i <= text.length; i++) {
      if (i === text.length || cut(i)) {
        stream.write(text.slice(start, i));
        start = i;
      }
    }
    stream.end();
    await new Promise((resolve) => stream.on('end', resolve));
    return Buffer.concat(out).toString();
  }

  it('catches a secret split at any point, the longer form first, and leaves the rest byte for byte', async () => {
    const token = 'eyJhbGciOi.secret-payload.sig';
    const text = `{"a":"Bearer ${token}","b":"${token}","c":"Bearer eyJhbG not it"}`;
    const expected = `{"a":"${REDACTED}","b":"${REDACTED}","c":"Bearer eyJhbG not it"}`;
    const secrets = [token, `Bearer ${token}`];
    for (let at = 1; at < text.length; at++) {
      assert.equal(await redacted(text, secrets, (i) => i === at), expected, `split at ${at}`);
    }
    assert.equal(await redacted(text, secrets, () => true), expected, 'one byte at a time');
    assert.equal(await redacted(text, [], () => true), text, 'nothing to redact');
  });
});
