/**
 * `FIREBASE_AUTH_EMULATOR_HOST`, the Firebase SDKs' own variable, for `firebase` providers that
 * name no `emulator_host` in config.yaml. Applied where the instance reads a provider's
 * configuration, so the session binding and the provider see the same place.
 */
import { InvalidConfig } from '../errors.js';
import { isLoopbackHost } from '../url.js';
import type { FirebaseProviderConfig } from './schema.js';

/** The variable the Firebase SDKs read. */
export const FIREBASE_EMULATOR_VARIABLE = 'FIREBASE_AUTH_EMULATOR_HOST';

/**
 * The provider with `emulator_host` from the environment when config.yaml names none; an
 * `emulator_host` written in config.yaml wins.
 * @throws InvalidConfig when the variable is not a loopback `host:port` (the emulator speaks
 *   plain http).
 */
export function withEmulatorFromEnv(
  config: FirebaseProviderConfig,
  env: Readonly<Record<string, string | undefined>>,
): FirebaseProviderConfig {
  const value = env[FIREBASE_EMULATOR_VARIABLE]?.trim();
  if (config.emulator_host !== undefined || !value) return config;
  return { ...config, emulator_host: loopbackHost(value) };
}

function loopbackHost(value: string): string {
  let url: URL | undefined;
  try {
    url = /[/?#@\s]/.test(value) ? undefined : new URL(`http://${value}`);
  } catch {
    url = undefined;
  }
  const where = { file: 'the environment', key: FIREBASE_EMULATOR_VARIABLE };
  if (!url || url.port === '') {
    throw new InvalidConfig('must be host:port, e.g. 127.0.0.1:9099 (no scheme or path)', where);
  }
  if (!isLoopbackHost(url.hostname)) {
    throw new InvalidConfig(
      'the emulator speaks plain http, which is allowed only on loopback (127.0.0.1, [::1], localhost)',
      where,
      { hint: `unset ${FIREBASE_EMULATOR_VARIABLE}, or point it at an emulator on this machine` },
    );
  }
  return url.host;
}
