/**
 * The one undici dispatcher of a keyfob instance: CA bundle, proxy and TLS setting, handed to
 * openid-client, jose and `kf.fetch` alike. Never a global dispatcher: two SDKs built on keyfob
 * may share a process with different settings.
 *
 * Every setting comes from the instance's `env`, never from `process.env` behind its back: a
 * library instance given its own environment gets exactly that (undici's EnvHttpProxyAgent
 * would read the process's proxy variables, so they are passed to it explicitly).
 *
 * undici is loaded on first use, so a cached `keyfob token` never pays for it.
 */
import { readFileSync } from 'node:fs';
import { type AppNames, envVar } from '../config/names.js';
import { InvalidConfig, TlsVerificationFailed } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** A PEM file of extra CA certificates and the variable that named it. */
export interface CaFile {
  variable: string;
  path: string;
  /**
   * Whether an unreadable file is an error. `<PREFIX>_CA_BUNDLE` is keyfob's own and must work;
   * `NODE_EXTRA_CA_CERTS` is skipped when unusable, as Node itself does (with its own warning).
   */
  required: boolean;
}

/** Proxy URLs as the environment gives them; an empty string means none. */
export interface ProxySettings {
  http: string;
  https: string;
  noProxy: string;
}

export interface HttpSettings {
  /** Extra CA certificates, from `<PREFIX>_CA_BUNDLE` and `NODE_EXTRA_CA_CERTS`. */
  caFiles: CaFile[];
  /** `false` only with `<PREFIX>_VERIFY_TLS=false` (or `0`, `no`, `off`). */
  verifyTls: boolean;
  /** The proxy variables, or `null` when no proxy is set. */
  proxy: ProxySettings | null;
}

/** Reads the HTTP settings from the environment. */
export function httpSettings(env: Env, names: AppNames): HttpSettings {
  const caFiles: CaFile[] = [];
  const bundle = env[envVar(names, 'CA_BUNDLE')];
  if (bundle) caFiles.push({ variable: envVar(names, 'CA_BUNDLE'), path: bundle, required: true });
  const extra = env.NODE_EXTRA_CA_CERTS;
  if (extra) caFiles.push({ variable: 'NODE_EXTRA_CA_CERTS', path: extra, required: false });
  const verify = env[envVar(names, 'VERIFY_TLS')];
  // Lower case first, as curl and undici read them.
  const http = env.http_proxy || env.HTTP_PROXY || '';
  const https = env.https_proxy || env.HTTPS_PROXY || '';
  return {
    caFiles,
    verifyTls: !(verify !== undefined && /^(false|0|no|off)$/i.test(verify)),
    proxy: http || https ? { http, https, noProxy: env.no_proxy ?? env.NO_PROXY ?? '' } : null,
  };
}

/**
 * The three ways out of a certificate failure, in the order a person should try them.
 * @param names keyfob's names, or the embedding application's (its prefix and renames).
 */
export function tlsFixes(names: AppNames): string {
  return `install the system's CA certificates (e.g. apt-get install ca-certificates), or set ${envVar(names, 'CA_BUNDLE')} to a PEM file with your CA, or, for development only, set ${envVar(names, 'VERIFY_TLS')}=false (insecure)`;
}

/** OpenSSL's certificate verification codes as Node reports them, and Node's host name check. */
const TLS_ERROR_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The certificate verification failure somewhere in an error's `cause` chain (undici's
 * "fetch failed" `TypeError` carries the socket's error as its cause; openid-client may wrap
 * that once more).
 */
export function findTlsFailure(error: unknown): { code: string; reason: string } | null {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_ERROR_CODES.has(code)) {
      const message = (current as { message?: unknown }).message;
      return { code, reason: typeof message === 'string' ? message : code };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** Process-wide, shared by every copy of this module (two SDKs may each bundle keyfob). */
const INSECURE_WARNED = Symbol.for('keyfob.insecure-tls-warned');

/** Warns once per process (and prefix) that verification is off. */
function warnInsecure(names: AppNames, log: Logger): void {
  const variable = envVar(names, 'VERIFY_TLS');
  const registry = globalThis as { [INSECURE_WARNED]?: Set<string> };
  registry[INSECURE_WARNED] ??= new Set();
  const warned = registry[INSECURE_WARNED];
  if (warned.has(variable)) return;
  warned.add(variable);
  const message = `TLS certificate verification is off (${variable}=false); use this only for development`;
  // A library instance without a logger still must not turn verification off silently.
  if (log === silentLogger) process.emitWarning(message, { code: 'KEYFOB_INSECURE_TLS' });
  else log.warn(message);
}

type FetchInput = Parameters<typeof globalThis.fetch>[0];

/**
 * A `fetch` bound to a dispatcher built from `settings`. The dispatcher is created on the
 * first request and reused for the instance's lifetime.
 * @throws InvalidConfig (from the first request) when `<PREFIX>_CA_BUNDLE` is unreadable or holds
 *   no certificate; TlsVerificationFailed when a server's certificate is refused.
 */
export function createFetch(settings: HttpSettings, names: AppNames, log: Logger): typeof globalThis.fetch {
  let ready: Promise<typeof globalThis.fetch> | undefined;
  let dispatcher: { close(): Promise<void> } | undefined;
  const load = async (): Promise<typeof globalThis.fetch> => {
    const ca = await caList(settings.caFiles, log);
    const undici = await import('undici');
    if (!settings.verifyTls) warnInsecure(names, log);
    const connect = { ...(ca ? { ca } : {}), rejectUnauthorized: settings.verifyTls };
    const agent = settings.proxy
      ? new undici.EnvHttpProxyAgent({
          httpProxy: settings.proxy.http,
          httpsProxy: settings.proxy.https,
          noProxy: settings.proxy.noProxy,
          connect,
          requestTls: connect,
          proxyTls: connect,
        })
      : new undici.Agent({ connect });
    dispatcher = agent;
    const boundFetch = (input: FetchInput, init?: RequestInit) =>
      undici.fetch(input as Parameters<typeof undici.fetch>[0], {
        ...(init as Parameters<typeof undici.fetch>[1]),
        dispatcher: agent,
      }) as unknown as Promise<Response>;
    return boundFetch as typeof globalThis.fetch;
  };
  const fetch = (async (input: FetchInput, init?: RequestInit) => {
    ready ??= load();
    const fetch = await ready;
    try {
      return await fetch(input, init);
    } catch (error) {
      // Mapped here, where the prefix is known, so that openid-client, jose and `kf.fetch` all
      // report the same error with the same fixes.
      const failure = findTlsFailure(error);
      if (!failure) throw error;
      throw new TlsVerificationFailed(
        `TLS certificate verification failed for ${originOf(input)}: ${failure.reason} (${failure.code})`,
        { hint: tlsFixes(names), cause: error },
      );
    }
  }) as typeof globalThis.fetch;
  closers.set(fetch, async () => {
    const open = dispatcher;
    ready = undefined;
    dispatcher = undefined;
    // close() lets requests in flight finish and then ends the idle keep-alive sockets, which
    // would otherwise keep a finished CLI process alive for seconds.
    await open?.close();
  });
  return fetch;
}

const closers = new WeakMap<typeof globalThis.fetch, () => Promise<void>>();

/**
 * Closes the connections of a fetch made by {@link createFetch} (a later request opens new
 * ones); does nothing for any other fetch, such as one given to `createKeyfob`.
 */
export async function closeFetch(fetch: typeof globalThis.fetch | undefined): Promise<void> {
  if (fetch) await closers.get(fetch)?.();
}

/**
 * The trusted CAs when extra ones are configured: Node's bundled roots plus every certificate
 * of the files (`ca` replaces the default list, so the roots must be repeated); `undefined`
 * keeps Node's default, which already holds the process's own `NODE_EXTRA_CA_CERTS`.
 */
async function caList(files: readonly CaFile[], log: Logger): Promise<string[] | undefined> {
  if (files.length === 0) return undefined;
  const { X509Certificate } = await import('node:crypto');
  const parses = (pem: string) => {
    try {
      new X509Certificate(pem);
      return true;
    } catch {
      return false;
    }
  };
  const extra = files.flatMap((file) => readCaFile(file, parses, log));
  if (extra.length === 0) return undefined;
  const { rootCertificates } = await import('node:tls');
  return [...rootCertificates, ...extra];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

/**
 * The certificates of one PEM file. Node ignores text in `ca` that is no certificate without a
 * word, so a wrong file would only show later as "unable to verify": check it here instead.
 */
function readCaFile(file: CaFile, parses: (pem: string) => boolean, log: Logger): string[] {
  const fail = (why: string, cause?: unknown): string[] => {
    if (!file.required) {
      log.debug('ca_file_skipped', { reason: why });
      return [];
    }
    throw new InvalidConfig(
      `${file.variable} names ${file.path}, which ${why}`,
      {},
      { hint: `point ${file.variable} at a PEM file of CA certificates`, ...(cause ? { cause } : {}) },
    );
  };
  let text: string;
  try {
    text = readFileSync(file.path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`, error);
  }
  const certificates = text.match(PEM_CERTIFICATE) ?? [];
  if (certificates.length === 0) return fail('holds no PEM certificate');
  const broken = certificates.findIndex((pem) => !parses(pem));
  if (broken >= 0) return fail(`holds a certificate that does not parse (number ${broken + 1})`);
  return certificates;
}

function originOf(input: FetchInput): string {
  try {
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    return new URL(href).origin;
  } catch {
    return 'the server';
  }
}
