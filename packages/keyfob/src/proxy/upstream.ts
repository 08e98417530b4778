/**
 * Where the credential proxy may send a request: under one base URL only (the tenant's
 * `server_url`, else the provider's `api_base`: origin and whole-segment path prefix), and never
 * to a URL that discovery names or that lies under a `control_plane`, even when they share the
 * origin (dev-idp's API is `${issuer}/api`, its token endpoint `${issuer}/token`): a tool behind
 * the proxy must not reach the identity provider or mint itself a service principal.
 */
import type { KeyfobConfig, ProviderConfig } from '../config/schema.js';
import { InvalidConfig } from '../errors.js';

/** A URL the proxy refuses: that URL exactly, or it and everything under it. */
export interface ForbiddenUrl {
  url: string;
  exact: boolean;
  /** Why, for the refusal's message: `token_endpoint of provider dev`. */
  what: string;
}

/** Where requests go and what under it is refused. */
export interface Upstream {
  base: URL;
  forbidden: ForbiddenUrl[];
}

/** A request target mapped under the base, or why not (a status and a message). */
export type Mapped = { ok: true; url: URL } | { ok: false; status: number; error: string; message: string };

/**
 * The base URL of a profile's requests: its tenant's `server_url`, else `api_base`.
 * @throws InvalidConfig naming the key to set when there is neither.
 */
export function upstreamBase(
  providerName: string | null,
  provider: ProviderConfig | undefined,
  tenantServer: string | null | undefined,
): URL {
  if (tenantServer) return new URL(tenantServer);
  if (provider?.api_base) return new URL(provider.api_base);
  const key = providerName ? `providers.${providerName}.api_base` : 'api_base (of the provider)';
  throw new InvalidConfig(
    `the proxy has nowhere to send requests: provider ${providerName ?? '(none)'} has no api_base and the credential has no tenant server`,
    { key },
    { hint: `set ${key} in config.yaml to the API the tools call` },
  );
}

/**
 * Every URL of the configuration and of discovery documents the proxy must never reach: each
 * provider's issuer (exactly) and its `/.well-known/` documents, each URL its discovery document
 * names, each `*_endpoint` and `jwks_uri` setting, and everything under each `control_plane`.
 * Only what shares the base's origin matters (nothing else is ever reached), so only those
 * issuers are asked for their documents.
 *
 * @param discover the issuer's discovery document (the instance's cached discovery).
 */
export async function forbiddenUrls(
  cfg: KeyfobConfig,
  base: URL,
  discover: (issuer: string) => Promise<Record<string, unknown>>,
): Promise<ForbiddenUrl[]> {
  const out: ForbiddenUrl[] = [];
  for (const [name, provider] of Object.entries(cfg.providers)) {
    const settings = provider as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(settings)) {
      if (typeof value !== 'string' || !URL.canParse(value)) continue;
      if (key === 'control_plane' || key.endsWith('_endpoint') || key === 'jwks_uri') {
        out.push({ url: value, exact: false, what: `${key} of provider ${name}` });
      }
    }
    const issuer = typeof settings.issuer === 'string' ? settings.issuer : undefined;
    if (!issuer || !URL.canParse(issuer)) continue;
    const issuerUrl = new URL(issuer);
    out.push({ url: issuer, exact: true, what: `the issuer of provider ${name}` });
    out.push({
      url: `${issuer.replace(/\/+$/, '')}/.well-known`,
      exact: false,
      what: `discovery of provider ${name}`,
    });
    if (issuerUrl.origin !== base.origin) continue;
    out.push({ url: `${issuerUrl.origin}/.well-known`, exact: false, what: `discovery of provider ${name}` });
    const document = await discover(issuer);
    for (const [key, value] of Object.entries(document)) {
      if (key === 'issuer' || typeof value !== 'string' || !URL.canParse(value)) continue;
      out.push({ url: value, exact: false, what: `${key} of provider ${name} (discovery)` });
    }
    // Endpoints named per client authentication method (RFC 8705 aliases) are URLs too.
    const aliases = document.mtls_endpoint_aliases;
    if (aliases && typeof aliases === 'object') {
      for (const [key, value] of Object.entries(aliases)) {
        if (typeof value === 'string' && URL.canParse(value)) {
          out.push({ url: value, exact: false, what: `${key} of provider ${name} (discovery)` });
        }
      }
    }
  }
  return out.filter((entry) => new URL(entry.url).origin === base.origin);
}

/**
 * Checks the base itself is not forbidden (an `api_base` under the control plane would make
 * every request a refusal: said once, at start).
 * @throws InvalidConfig naming what the base lies under.
 */
export function assertBaseAllowed(upstream: Upstream, key: string): void {
  const hit = forbiddenHit(upstream.base, upstream.forbidden);
  if (hit && !hit.exact) {
    throw new InvalidConfig(`the proxy's upstream ${upstream.base.href} lies under the ${hit.what}`, { key });
  }
}

/**
 * Maps an origin-form request target (`/registry/packages?x=1`) under the base, or refuses it:
 * absolute-form and authority-form targets, `..` and `.` segments (also percent-encoded), an
 * encoded `/` or `\`, empty segments, and anything that lands on a forbidden URL.
 */
export function mapTarget(target: string, upstream: Upstream): Mapped {
  if (!target.startsWith('/') || target.startsWith('//')) {
    return refuse(400, 'bad_target', 'only origin-form request targets (/path?query) are accepted');
  }
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? '' : target.slice(q);
  if (path.includes('\\') || /%(2f|5c|00)/i.test(path) || path.includes('#')) {
    return refuse(400, 'bad_target', 'the path may not contain \\, # or an encoded /, \\ or NUL');
  }
  const segments = path.split('/').slice(1);
  for (const [i, segment] of segments.entries()) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return refuse(400, 'bad_target', 'the path has a malformed percent-encoding');
    }
    if (decoded === '.' || decoded === '..') {
      return refuse(400, 'bad_target', 'the path may not contain . or .. segments');
    }
    if (segment === '' && i < segments.length - 1) {
      return refuse(400, 'bad_target', 'the path may not contain empty segments (//)');
    }
  }
  const prefix = upstream.base.pathname.replace(/\/+$/, '');
  const url = new URL(`${prefix}${path}${query}`, upstream.base.origin);
  if (!underPrefix(url.pathname, prefix)) {
    return refuse(400, 'bad_target', 'the path would leave the upstream base');
  }
  const hit = forbiddenHit(url, upstream.forbidden);
  if (hit) {
    return refuse(
      403,
      'forbidden_target',
      `the proxy never forwards to the identity provider or the control plane (${hit.what})`,
    );
  }
  return { ok: true, url };
}

function refuse(status: number, error: string, message: string): Mapped {
  return { ok: false, status, error, message };
}

function underPrefix(pathname: string, prefix: string): boolean {
  return prefix === '' || pathname === prefix || pathname.startsWith(`${prefix}/`);
}

/**
 * The forbidden entry `url` hits. Paths are compared percent-decoded, lower-cased and without
 * trailing slashes: servers route `/TOKEN`, `/%74oken` and `/token/` to the token endpoint.
 */
function forbiddenHit(url: URL, forbidden: readonly ForbiddenUrl[]): ForbiddenUrl | undefined {
  const path = comparable(url.pathname);
  return forbidden.find((entry) => {
    const other = new URL(entry.url);
    if (other.origin !== url.origin) return false;
    const prefix = comparable(other.pathname);
    if (path === prefix) return true;
    return !entry.exact && (prefix === '' || path.startsWith(`${prefix}/`));
  });
}

function comparable(pathname: string): string {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // Refused earlier for request targets; a configured URL keeps its text.
  }
  return decoded.toLowerCase().replace(/\/+$/, '');
}
