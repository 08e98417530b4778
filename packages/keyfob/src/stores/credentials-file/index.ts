/**
 * `createKeyfob({ credentialsFile })`: the store a vendor's file layout gives, for the instance.
 */
import path from 'node:path';
import type { KeyfobConfig } from '../../config/schema.js';
import { InvalidInput } from '../../errors.js';
import type { CredentialsFileOptions } from '../../instance/types.js';
import { isRecord } from '../../shape.js';
import { resolveFields } from './fields.js';
import { resolveCredentialsPath } from './location.js';
import { CredentialsFileStore } from './store.js';

export { CredentialsFileStore, type CredentialsFileStoreOptions } from './store.js';

/** What {@link credentialsFileStore} needs from the instance. */
export interface CredentialsFileInput {
  options: CredentialsFileOptions | undefined;
  /** The app's name: the default session key is `<app>_session`. */
  app: string;
  /** The instance's home: the default file is in it. */
  home: string;
  /** The instance's environment (for `pathEnv`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home, for `~`. */
  userHome: string;
  cliName: string;
  /** The login command under the vendor's names, for messages. */
  loginCommand?: string;
  now: () => Date;
  config: () => Promise<KeyfobConfig>;
}

/**
 * The store of a `single-json` or `ini` layout, or `null` for `sessions` (keyfob's own file per
 * profile) and when no layout is given.
 *
 * @throws InvalidInput when the options are malformed.
 */
export function credentialsFileStore(input: CredentialsFileInput): CredentialsFileStore | null {
  const options = input.options;
  if (options === undefined) return null;
  if (!isRecord(options)) throw new InvalidInput('credentialsFile must be an object');
  const { layout } = options;
  if (layout === 'sessions') return null;
  if (layout !== 'single-json' && layout !== 'ini') {
    throw new InvalidInput('credentialsFile.layout must be sessions, single-json or ini');
  }
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === '')) {
    throw new InvalidInput('credentialsFile.path must be a non-empty string');
  }
  if (
    options.pathEnv !== undefined &&
    (typeof options.pathEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.pathEnv))
  ) {
    throw new InvalidInput('credentialsFile.pathEnv must be the name of an environment variable');
  }
  const file = resolveCredentialsPath({
    configured: options.path,
    pathEnv: options.pathEnv,
    env: input.env,
    userHome: input.userHome,
    fallback: path.join(path.resolve(input.home), layout === 'ini' ? 'credentials' : 'credentials.json'),
  });
  return new CredentialsFileStore({
    layout,
    file,
    fields: resolveFields(options.fields, input.app.replace(/[^A-Za-z0-9_.-]/g, '_')),
    cliName: input.cliName,
    ...(input.loginCommand ? { loginCommand: input.loginCommand } : {}),
    now: input.now,
    defaultProvider: async (profile, machine) => defaultProvider(await input.config(), profile, machine),
    resourceOf: async (provider) => {
      const cfg = await input.config();
      return (Object.hasOwn(cfg.providers, provider) ? cfg.providers[provider]?.resource : null) ?? null;
    },
  });
}

/**
 * The provider of an entry that names none: the profile's in config.yaml; else, for a machine
 * section (a client id and secret), the only `client_credentials` provider; else the default
 * provider, else the only provider.
 */
export function defaultProvider(cfg: KeyfobConfig, profile: string, machine: boolean): string | null {
  const configured = Object.hasOwn(cfg.profiles, profile) ? cfg.profiles[profile]?.provider : undefined;
  if (configured) return configured;
  const names = Object.keys(cfg.providers);
  if (machine) {
    const machines = names.filter((n) => cfg.providers[n]?.type === 'client_credentials');
    return machines.length === 1 ? (machines[0] as string) : null;
  }
  if (cfg.default_provider) return cfg.default_provider;
  return names.length === 1 ? (names[0] as string) : null;
}
