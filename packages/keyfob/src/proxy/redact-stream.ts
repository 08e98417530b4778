/**
 * Redacting the credentials a server echoes, in headers and in a streamed body. The body is
 * never buffered whole: between chunks the redactor holds back `maxSecretLength - 1` bytes, so a
 * secret split across chunk boundaries (a server that writes 7 bytes at a time) is still caught,
 * and memory stays bounded by the longest secret plus one chunk.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { type HeldSecrets, REDACTED } from '../held-secrets.js';

export { REDACTED };

interface Match {
  start: number;
  length: number;
}

/**
 * A byte stream with every secret replaced by {@link REDACTED}, whatever the chunking.
 * `redacted()` says how many were replaced (for a log line, never the secrets).
 */
export class RedactStream extends Transform {
  readonly #secrets: Buffer[];
  readonly #hold: number;
  readonly #replacement = Buffer.from(REDACTED);
  #carry: Buffer = Buffer.alloc(0);
  #count = 0;

  constructor(secrets: HeldSecrets) {
    super();
    // Longest first, as HeldSecrets keeps them (so `Bearer x` wins over `x`).
    this.#secrets = secrets.values.map((s) => Buffer.from(s));
    const longest = this.#secrets[0]?.length ?? 0;
    this.#hold = Math.max(0, longest - 1);
  }

  /** How many secrets were replaced so far. */
  redacted(): number {
    return this.#count;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.#secrets.length === 0) {
      done(null, data);
      return;
    }
    this.#process(this.#carry.length > 0 ? Buffer.concat([this.#carry, data]) : data, false);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#carry.length > 0) this.#process(this.#carry, true);
    done();
  }

  #process(buffer: Buffer, final: boolean): void {
    const longest = this.#hold + 1;
    let from = 0;
    for (;;) {
      const match = this.#earliest(buffer, from);
      // A match is final only when every secret that could start at or before it is wholly in
      // view: a longer one starting earlier may still be completed by the next chunk.
      if (match && (final || match.start + longest <= buffer.length)) {
        if (match.start > from) this.push(buffer.subarray(from, match.start));
        this.push(this.#replacement);
        this.#count++;
        from = match.start + match.length;
        continue;
      }
      // Bytes before `safe` cannot begin a secret the next chunk completes.
      const safe = final ? buffer.length : Math.max(from, buffer.length - this.#hold);
      const end = match ? Math.min(match.start, safe) : safe;
      if (end > from) this.push(buffer.subarray(from, end));
      this.#carry = Buffer.from(buffer.subarray(end));
      return;
    }
  }

  /** The earliest occurrence of any secret at or after `from`; the longest at a tie. */
  #earliest(buffer: Buffer, from: number): Match | undefined {
    let best: Match | undefined;
    for (const secret of this.#secrets) {
      const at = buffer.indexOf(secret, from);
      if (at < 0) continue;
      if (!best || at < best.start || (at === best.start && secret.length > best.length)) {
        best = { start: at, length: secret.length };
      }
    }
    return best;
  }
}
