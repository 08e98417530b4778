/**
 * The `Bearer` challenge of a `WWW-Authenticate` header (RFC 6750 §3), read from the header
 * itself. openid-client parses challenges only for requests it sends with `Authorization:
 * Bearer`; a token placed in a cookie or another header (a provider's `credential`) gets the
 * same challenge from the server, and the same `insufficient_scope` and `scope` must reach
 * the caller's error.
 */

/** auth-param = token "=" ( token / quoted-string ), separated by commas. */
const PARAM = /([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9!#$%&'*+.^_`|~/-]+))/y;

/**
 * The parameters of the first `Bearer` (or `DPoP`) challenge in `header`, or undefined when
 * there is none. Values are bounded to 1 KiB each; unknown parameters are kept.
 */
export function parseBearerChallenge(header: string | null): Record<string, string> | undefined {
  if (!header) return undefined;
  const start = /(?:^|,)\s*(bearer|dpop)(?=\s|,|$)/i.exec(header);
  if (!start) return undefined;
  const params: Record<string, string> = {};
  let at = start.index + start[0].length;
  for (;;) {
    while (at < header.length && /[\s,]/.test(header[at] ?? '')) at++;
    PARAM.lastIndex = at;
    const match = PARAM.exec(header);
    // Another scheme's challenge, or the end: this challenge's parameters are done.
    if (!match) break;
    const [whole, name = '', quoted, bare] = match;
    const value = quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '');
    params[name.toLowerCase()] = value.slice(0, 1024);
    at += whole.length;
  }
  return params;
}
