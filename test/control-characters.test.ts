/**
 * One set of characters no server text prints raw, in the library (safeText, check details) and
 * in the CLI (sanitize): they were three sets, and a bidi override or U+2028 in a provider's
 * error_description passed one of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitize } from '../packages/cli/src/io.js';
import { CONTROL_CHARACTERS, safeText } from '../packages/keyfob/src/text.js';
import { shown } from '../packages/keyfob/src/validate/report.js';

describe('control characters in server text', () => {
  it('the library and the CLI replace exactly the same characters, in every plane-0 code point', () => {
    const differ: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const c = String.fromCharCode(code);
      const cli = sanitize(`a${c}b`) !== `a${c}b`;
      const lib = safeText(`a${c}b`) !== `a${c}b`;
      const report = shown(`a${c}b`) !== `a${c}b`;
      CONTROL_CHARACTERS.lastIndex = 0;
      if (cli !== lib || lib !== report) differ.push(code.toString(16));
    }
    assert.deepEqual(differ, [], 'code points treated differently');
  });

  it('escape sequences, bidi overrides and line separators never pass', () => {
    const hostile = 'ok\u001b[2J\u009b31m\u202eevil\u2066x\u2028y\u0007';
    for (const out of [sanitize(hostile), safeText(hostile), shown(hostile)]) {
      for (const c of ['\u001b', '\u009b', '\u202e', '\u2066', '\u2028', '\u0007']) {
        assert.ok(!out.includes(c), JSON.stringify(out));
      }
      assert.match(out, /ok/);
    }
  });
});
