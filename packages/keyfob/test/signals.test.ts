/**
 * The critical section of lifecycle/signals.ts in real child processes: a signal that would end
 * the process is held and re-raised after release (the process dies of it); a signal the
 * application handles itself is left to the application, whose handler runs once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';

const MODULE = new URL('../src/lifecycle/signals.ts', import.meta.url).href;

function runChild(
  body: string,
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  const script = `import { holdSignals } from ${JSON.stringify(MODULE)};\nconst sleep = (ms) => new Promise((r) => setTimeout(r, ms));\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
}

describe('holding signals', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    test(`${signal} inside a section is acted on at release: the process dies of it, after the work`, async () => {
      const result = await runChild(`
        const section = holdSignals({ what: 'the work', lost: 'the work may be lost', prefix: 'demo' });
        process.kill(process.pid, '${signal}');
        await sleep(200);
        process.stdout.write('committed\\n');
        section.release();
        await sleep(2000);
        process.stdout.write('survived\\n');
      `);
      assert.equal(result.signal, signal, result.err);
      assert.equal(result.out, 'committed\n');
      assert.match(result.err, new RegExp(`^demo: ${signal} received; finishing the work first`));
    });
  }

  test("a signal the application listens to is the application's: its handler runs once, nothing is re-raised", async () => {
    const result = await runChild(`
      let calls = 0;
      process.on('SIGTERM', () => { calls += 1; });
      const section = holdSignals({ what: 'the work', lost: 'the work may be lost' });
      process.kill(process.pid, 'SIGTERM');
      await sleep(200);
      section.release();
      await sleep(300);
      process.stdout.write('handler calls: ' + calls + '\\n');
    `);
    assert.equal(result.code, 0, result.err);
    assert.equal(result.out, 'handler calls: 1\n');
    assert.equal(result.err, '');
  });

  test('a second signal while held stops at once, saying what may be lost', async () => {
    const result = await runChild(`
      holdSignals({ what: 'the work', lost: 'The work may be lost; run it again', prefix: 'demo' });
      process.kill(process.pid, 'SIGINT');
      await sleep(200);
      process.kill(process.pid, 'SIGINT');
      await sleep(2000);
      process.stdout.write('survived\\n');
    `);
    assert.equal(result.signal, 'SIGINT');
    assert.equal(result.out, '');
    assert.match(result.err, /demo: SIGINT again: stopping now\. The work may be lost; run it again/);
  });
});
