/**
 * The body of an error answer from an OAuth endpoint, kept so that error words can say what it
 * was. openid-client reports a wrong status or content type with the `Response` and no body, and
 * a `Transfer-Encoding: chunked` answer does not say whether it had one: this fetch wrapper reads
 * (up to a bound) the body of every answer of status 400 and above, hands openid-client a copy,
 * and remembers the text for {@link errorBodyOf}.
 */

/** More than this of an error body is not read: error words quote at most a short line. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

const bodies = new WeakMap<object, string>();

/** `fetch`, with the bodies of error answers read and remembered. */
export function rememberingErrorBodies(fetchImpl: typeof globalThis.fetch): typeof globalThis.fetch {
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    if (response.status < 400) return response;
    if (response.body === null) {
      bodies.set(response, '');
      return response;
    }
    const text = await readBounded(response.body);
    // Bytes, not a string: a string body would make the copy claim text/plain.
    const copy = new Response(text === '' ? null : new TextEncoder().encode(text), {
      status: response.status,
      statusText: response.statusText,
      headers: withoutLength(response.headers),
    });
    bodies.set(copy, text);
    return copy;
  };
}

/** The text of an error answer read by {@link rememberingErrorBodies}, or `undefined`. */
export function errorBodyOf(response: object): string | undefined {
  return bodies.get(response);
}

async function readBounded(body: ReadableStream<Uint8Array>): Promise<string> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // Past the bound the rest is not wanted; cancel it rather than read it.
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
}

/** The headers without those that described the original encoding of the body. */
function withoutLength(headers: Headers): Headers {
  const copy = new Headers(headers);
  copy.delete('content-length');
  copy.delete('content-encoding');
  copy.delete('transfer-encoding');
  return copy;
}
