/**
 * A second issuer the tests make themselves: a loopback HTTP server with a discovery document,
 * a JWKS of keys generated here (RS256 and ES256) and, optionally, an introspection endpoint.
 * Tokens are minted with jose at run time, valid or deliberately broken; nothing is pasted.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CryptoKey,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
  UnsecuredJWT,
} from 'jose';

export interface SigningKey {
  alg: 'RS256' | 'ES256';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export interface TestIssuer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  issuer: string;
  /** The audience tokens are minted for by default. */
  audience: string;
  rs256: SigningKey;
  es256: SigningKey;
  /** Requests seen per path (`/.well-known/openid-configuration`, `/jwks`, `/introspect`). */
  requests: Record<string, number>;
  /** The keys the JWKS serves now; replace to rotate. */
  published: SigningKey[];
  /** Opaque tokens the introspection endpoint calls active, with their response. */
  opaque: Map<string, Record<string, unknown>>;
  /** Client credentials the introspection endpoint accepts (HTTP Basic). */
  introspectionClient: { id: string; secret: string };
  /** A token signed with `key` (RS256 by default): iss, aud, iat, exp (+10 min) unless overridden. */
  mint(
    claims?: JWTPayload,
    options?: { key?: SigningKey; header?: Record<string, unknown>; omit?: string[] },
  ): Promise<string>;
  /** The same claims without a signature (`alg: none`). */
  unsigned(claims?: JWTPayload): string;
  /** HS256 with the RS256 public key's PEM as the HMAC secret: the key-confusion attack. */
  hmacWithPublicKey(claims?: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

export async function newSigningKey(alg: 'RS256' | 'ES256', kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicJwk };
}

/**
 * Starts the issuer on 127.0.0.1 and a free port.
 * @param options.dateOffsetMs Shift the `Date` header (a server whose clock is off).
 * @param options.introspection Advertise and serve an introspection endpoint.
 */
export async function startTestIssuer(
  options: { dateOffsetMs?: number; introspection?: boolean } = {},
): Promise<TestIssuer> {
  const rs256 = await newSigningKey('RS256', 'rs-1');
  const es256 = await newSigningKey('ES256', 'es-1');
  const requests: Record<string, number> = {};
  const opaque = new Map<string, Record<string, unknown>>();
  const introspectionClient = { id: 'checker', secret: 'checker-secret' };
  let issuer = '';
  const state = { published: [rs256, es256] };

  const server: Server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests[path] = (requests[path] ?? 0) + 1;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.dateOffsetMs) headers.date = new Date(Date.now() + options.dateOffsetMs).toUTCString();
    const send = (status: number, body: unknown) => {
      res.writeHead(status, headers);
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        ...(options.introspection ? { introspection_endpoint: `${issuer}/introspect` } : {}),
      });
    }
    if (path === '/jwks') return send(200, { keys: state.published.map((k) => k.publicJwk) });
    if (path === '/introspect' && options.introspection) {
      if (!basicAuthMatches(req.headers.authorization, introspectionClient)) {
        return send(401, { error: 'invalid_client' });
      }
      const token = new URLSearchParams(await body(req)).get('token') ?? '';
      const known = opaque.get(token);
      return send(200, known ? { active: true, ...known } : { active: false });
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const audience = 'https://api.example.test';

  const defaults = (): JWTPayload => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: issuer, aud: audience, sub: 'user-1', iat: now, exp: now + 600 };
  };
  const merged = (claims: JWTPayload = {}, omit: string[] = []) => {
    const all: JWTPayload = { ...defaults(), ...claims };
    for (const name of omit) delete all[name];
    return all;
  };

  return {
    issuer,
    audience,
    rs256,
    es256,
    requests,
    get published() {
      return state.published;
    },
    set published(keys) {
      state.published = keys;
    },
    opaque,
    introspectionClient,
    async mint(claims, mintOptions = {}) {
      const key = mintOptions.key ?? rs256;
      return new SignJWT(merged(claims, mintOptions.omit))
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...mintOptions.header })
        .sign(key.privateKey);
    },
    unsigned(claims) {
      return new UnsecuredJWT(merged(claims)).encode();
    },
    async hmacWithPublicKey(claims) {
      const pem = await exportSPKI(rs256.publicKey);
      return new SignJWT(merged(claims))
        .setProtectedHeader({ alg: 'HS256', kid: rs256.kid })
        .sign(new TextEncoder().encode(pem));
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** A loopback listener that counts every request it gets (a `jku` target that must stay silent). */
export async function startListener(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A loopback port with nothing listening on it. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A token with one character in the middle of its signature changed. */
export function tamperSignature(token: string): string {
  const at = token.lastIndexOf('.') + Math.floor((token.length - token.lastIndexOf('.')) / 2);
  const swapped = token[at] === 'A' ? 'B' : 'A';
  return `${token.slice(0, at)}${swapped}${token.slice(at + 1)}`;
}

// RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
function basicAuthMatches(header: string | undefined, client: { id: string; secret: string }): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString().split(':');
  const decode = (v: string | undefined) => decodeURIComponent((v ?? '').replaceAll('+', ' '));
  return decode(id) === client.id && decode(secret) === client.secret;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => resolve(text));
  });
}
