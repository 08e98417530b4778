/**
 * Where a provider's credential goes on a request (DESIGN.md, Integrators): `Authorization:
 * Bearer` (the default), a header the vendor's API reads (`{ header: X-Api-Token }`), or a
 * cookie (`{ cookie: ks_uat }`, sent as `Cookie: ks_uat=<jwt>`). Never a query parameter: URLs
 * end up in logs. `kf.fetch`, the CLI's `fetch` and the agent tools place it through
 * {@link placeCredential}, and a redirect out of the credential's scope sends none of it.
 */

/** `credential:` of a provider, validated. */
export type CredentialPlacement =
  | { kind: 'bearer' }
  | { kind: 'header'; name: string }
  | { kind: 'cookie'; name: string };

/** RFC 9110 token: the characters of a header name, and (RFC 6265) of a cookie name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

/**
 * Headers a credential may not take: the transport's own, the ones fetch forbids, and the two
 * that already carry credentials (`Authorization` is `bearer`; `Cookie` is `{ cookie: NAME }`).
 */
const RESERVED_HEADERS = new Set([
  'host',
  'cookie',
  'set-cookie',
  'authorization',
  'proxy-authorization',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'origin',
  'referer',
]);

/**
 * Reads a provider's `credential` setting.
 * @returns the placement, or a sentence saying what is wrong (for INVALID_CONFIG naming the key).
 */
export function parseCredentialPlacement(value: unknown): CredentialPlacement | string {
  if (value === undefined || value === null || value === 'bearer') return { kind: 'bearer' };
  const shape = 'must be bearer, { header: NAME } or { cookie: NAME } (never a query parameter)';
  if (typeof value !== 'object' || Array.isArray(value)) return shape;
  const entries = Object.entries(value);
  if (entries.length !== 1) return shape;
  const [kind, name] = entries[0] as [string, unknown];
  if (kind !== 'header' && kind !== 'cookie') return shape;
  if (typeof name !== 'string' || !TOKEN.test(name)) {
    return `${kind} must be a ${kind} name (letters, digits and !#$%&'*+.^_\`|~-, at most 64)`;
  }
  if (kind === 'header' && RESERVED_HEADERS.has(name.toLowerCase())) {
    return `header ${name} cannot carry the credential${name.toLowerCase() === 'authorization' ? ' (that is credential: bearer)' : name.toLowerCase() === 'cookie' ? ' (use { cookie: NAME })' : ''}`;
  }
  return { kind, name };
}

/**
 * `headers` with the credential placed: the custom header set (replacing the caller's), or the
 * cookie added after the caller's own cookies (one of the same name is replaced). For `bearer`
 * the caller sends it through `Authorization` itself; this returns `headers` unchanged.
 */
export function placeCredential(headers: Headers, placement: CredentialPlacement, token: string): Headers {
  const out = new Headers(headers);
  if (placement.kind === 'header') out.set(placement.name, token);
  if (placement.kind === 'cookie') {
    const own = (out.get('cookie') ?? '')
      .split(';')
      .map((part) => part.trim())
      .filter((part) => part !== '' && part.split('=')[0]?.trim() !== placement.name);
    out.set('cookie', [...own, `${placement.name}=${token}`].join('; '));
  }
  return out;
}
