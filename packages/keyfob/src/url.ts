/**
 * The URL rules every part of keyfob shares.
 *
 * DESIGN.md, Security rules: plain `http` only on loopback addresses, `https` everywhere else.
 * A URL that keyfob talks to must not carry credentials of its own (they would end up in logs,
 * `Referer` headers and error messages) nor a fragment (meaningless to a server, and a classic
 * place for tokens to leak from an implicit-flow copy and paste).
 */
import { InsecureUrl, InvalidInput } from './errors.js';

/** Why a URL was refused; stable, so callers can map it onto their own error class. */
export type UrlProblem = 'malformed' | 'scheme' | 'insecure' | 'credentials' | 'fragment';

/** Outcome of {@link checkSecureUrl}: the parsed URL, or why it was refused. */
export type SecureUrlCheck =
  | { ok: true; url: URL }
  | {
      ok: false;
      problem: UrlProblem;
      /**
       * Reads after the name of the thing checked ("issuer must use https…"); never contains
       * the URL's user name, password, query or fragment.
       */
      message: string;
    };

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
// An IPv4-mapped 127.0.0.0/8 address as the WHATWG URL parser serialises it: [::ffff:7fXX:XXXX].
const MAPPED_LOOPBACK = /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/;

/**
 * Whether `hostname` is a loopback address: `localhost`, an IPv4 address in 127.0.0.0/8, or
 * `::1` (bare or in brackets, as `URL.hostname` gives it).
 *
 * Only the exact name `localhost` counts: `localhost.` and `*.localhost` may be sent to a DNS
 * server by the system resolver, so they are not trusted to stay on this machine. IPv4 must be
 * dotted decimal without leading zeros (`0127.0.0.1` is octal 87.0.0.1 to some parsers).
 *
 * @param hostname A host name or address, e.g. `URL.hostname`.
 * @returns `true` for loopback hosts, `false` for everything else (including non-strings).
 */
export function isLoopbackHost(hostname: string): boolean {
  if (typeof hostname !== 'string' || hostname.length === 0 || hostname.length > 255) return false;
  const host = hostname.toLowerCase();
  if (host === 'localhost') return true;
  const quad = DOTTED_QUAD.exec(host);
  if (quad) {
    const octets = quad
      .slice(1)
      .map((part) => (part.length > 1 && part.startsWith('0') ? Number.NaN : Number(part)));
    return octets.every((o) => o >= 0 && o <= 255) && octets[0] === 127;
  }
  if (!host.includes(':')) return false;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // Let the URL parser normalise the many spellings of an IPv6 address (0:0:0:0:0:0:0:1, ::0001…).
  let normalised: string;
  try {
    normalised = new URL(`http://[${bare}]/`).hostname;
  } catch {
    return false;
  }
  return normalised === '[::1]' || MAPPED_LOOPBACK.test(normalised);
}

/**
 * Checks a URL against keyfob's rules without throwing: absolute `https`, or `http` on a
 * loopback host; no user name or password; no fragment; no whitespace or control characters.
 *
 * @param value The URL as written by the user or received from a server.
 */
export function checkSecureUrl(value: string): SecureUrlCheck {
  if (typeof value !== 'string' || value.length === 0) {
    return { ok: false, problem: 'malformed', message: 'must be a URL' };
  }
  if (hasWhitespaceOrControl(value)) {
    return { ok: false, problem: 'malformed', message: 'must not contain spaces or control characters' };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, problem: 'malformed', message: 'is not a valid absolute URL (https://host/path)' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return {
      ok: false,
      problem: 'scheme',
      message: `must be an https URL, not ${url.protocol.slice(0, 20)}`,
    };
  }
  if (url.username !== '' || url.password !== '') {
    return {
      ok: false,
      problem: 'credentials',
      message:
        'must not contain a user name or password; remove them from the URL and configure the credential on its own',
    };
  }
  // `URL.hash` is '' for a bare trailing '#', so look at the text as well.
  if (url.hash !== '' || value.includes('#')) {
    return { ok: false, problem: 'fragment', message: 'must not contain a fragment (#…)' };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      ok: false,
      problem: 'insecure',
      message: `must use https: plain http is allowed only on loopback (127.0.0.1, [::1], localhost); write https://${url.host}${url.pathname}`,
    };
  }
  return { ok: true, url };
}

// The URL parser silently strips tabs and newlines inside a URL, so a value that looks like one
// host could be parsed as another; refuse them (and spaces, and C0/C1 controls) outright.
function hasWhitespaceOrControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code <= 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/**
 * Parses a URL that keyfob will talk to and enforces {@link checkSecureUrl}'s rules.
 *
 * @param value The URL text.
 * @param what What the URL is, for the message: `issuer`, `--issuer`, `the tenant's server_url`.
 * @returns The parsed URL.
 * @throws InsecureUrl for plain `http` on a host that is not loopback.
 * @throws InvalidInput for anything else that is not an acceptable `http(s)` URL.
 */
export function parseSecureUrl(value: string, what: string): URL {
  const result = checkSecureUrl(value);
  if (result.ok) return result.url;
  if (result.problem === 'insecure') throw new InsecureUrl(`${what} ${result.message}`);
  throw new InvalidInput(`${what} ${result.message}`);
}

/**
 * The origin (`scheme://host[:port]`) of a URL, as the fetch layer compares them: lower-case
 * host, default port omitted.
 *
 * @param url A URL or its text.
 * @throws InvalidInput when the text is not a URL or the URL has no origin (`data:`, `file:`…).
 */
export function originOf(url: string | URL): string {
  let parsed: URL;
  if (url instanceof URL) {
    parsed = url;
  } else {
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidInput('not a valid absolute URL, so it has no origin');
    }
  }
  if (parsed.origin === 'null') throw new InvalidInput(`a ${parsed.protocol} URL has no origin`);
  return parsed.origin;
}
