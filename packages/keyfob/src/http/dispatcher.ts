/**
 * The one undici dispatcher of a keyfob instance: CA bundle, proxy and TLS setting, handed to
 * openid-client, jose and `kf.fetch` alike. Never a global dispatcher: two SDKs built on keyfob
 * may share a process with different settings.
 *
 * undici is loaded on first use, so a cached `keyfob token` never pays for it.
 */
import { readFileSync } from 'node:fs';
import { InvalidConfig } from '../errors.js';
import type { Logger } from '../log.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface HttpSettings {
  /** Extra CA certificates (PEM), from `<PREFIX>_CA_BUNDLE` and `NODE_EXTRA_CA_CERTS`. */
  caFiles: string[];
  /** `false` only with `<PREFIX>_VERIFY_TLS=false`. */
  verifyTls: boolean;
  /** Whether any proxy variable is set; undici's EnvHttpProxyAgent then reads them. */
  useProxy: boolean;
}

/** Reads the HTTP settings from the environment. */
export function httpSettings(env: Env, envPrefix: string): HttpSettings {
  const caFiles = [env[`${envPrefix}_CA_BUNDLE`], env.NODE_EXTRA_CA_CERTS].filter(
    (f): f is string => typeof f === 'string' && f.length > 0,
  );
  const verify = env[`${envPrefix}_VERIFY_TLS`];
  const proxyVars = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];
  return {
    caFiles,
    verifyTls: !(verify !== undefined && /^(false|0|no|off)$/i.test(verify)),
    useProxy: proxyVars.some((v) => Boolean(env[v])),
  };
}

let insecureWarned = false;

/**
 * A `fetch` bound to a dispatcher built from `settings`. The dispatcher is created on the
 * first request and reused for the instance's lifetime.
 */
export function createFetch(settings: HttpSettings, envPrefix: string, log: Logger): typeof globalThis.fetch {
  let ready: Promise<typeof globalThis.fetch> | undefined;
  const load = async (): Promise<typeof globalThis.fetch> => {
    const undici = await import('undici');
    const tls = await import('node:tls');
    const ca =
      settings.caFiles.length > 0 ? [...tls.rootCertificates, ...settings.caFiles.map(readCa)] : undefined;
    if (!settings.verifyTls && !insecureWarned) {
      insecureWarned = true;
      log.warn(
        `TLS certificate verification is off (${envPrefix}_VERIFY_TLS=false); use this only for development`,
      );
    }
    const connect = { ...(ca ? { ca } : {}), rejectUnauthorized: settings.verifyTls };
    const dispatcher = settings.useProxy
      ? new undici.EnvHttpProxyAgent({ connect, requestTls: connect, proxyTls: connect })
      : new undici.Agent({ connect });
    const boundFetch = (input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit) =>
      undici.fetch(input as Parameters<typeof undici.fetch>[0], {
        ...(init as Parameters<typeof undici.fetch>[1]),
        dispatcher,
      }) as unknown as Promise<Response>;
    return boundFetch as typeof globalThis.fetch;
  };
  return (async (input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit) => {
    ready ??= load();
    return (await ready)(input, init);
  }) as typeof globalThis.fetch;

  function readCa(file: string): string {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new InvalidConfig(
        `cannot read the CA bundle ${file}`,
        {},
        { cause: error, hint: 'check the path' },
      );
    }
  }
}
