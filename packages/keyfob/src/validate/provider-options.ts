/**
 * What checking "against a provider" means: its issuer, its API (`resource`) as the expected
 * audience, and its client credentials for introspecting opaque tokens.
 */
import { withEmulatorFromEnv } from '../config/firebase-emulator.js';
import type { ProviderConfig } from '../config/schema.js';
import { InvalidInput } from '../errors.js';
import type { CheckOptions } from './options.js';

/** The part of {@link CheckOptions} a provider's configuration determines. */
export type ProviderCheckOptions = Pick<CheckOptions, 'issuer' | 'audience' | 'introspection' | 'offline'>;

/**
 * The check options for tokens of `provider`.
 *
 * @param cliName How people run the commands, for the hint (`keyfob`).
 * @throws InvalidInput when the provider has no issuer to take keys from (an `oauth2` or machine
 *   provider configured with endpoints only, `firebase`, `assume_user`, `static`).
 */
export function checkOptionsForProvider(
  provider: ProviderConfig,
  cliName = 'keyfob',
  env: Readonly<Record<string, string | undefined>> = {},
): ProviderCheckOptions {
  if (provider.type === 'firebase') return firebaseCheckOptions(withEmulatorFromEnv(provider, env), cliName);
  const issuer = 'issuer' in provider ? provider.issuer : undefined;
  if (!issuer) {
    throw new InvalidInput(`provider ${provider.name} (${provider.type}) has no issuer to take keys from`, {
      hint: `name one with \`${cliName} check --issuer URL\``,
    });
  }
  const clientId = 'client_id' in provider ? provider.client_id : undefined;
  const clientSecret = 'client_secret' in provider ? provider.client_secret : undefined;
  return {
    issuer,
    ...(provider.resource ? { audience: provider.resource } : {}),
    ...(clientId ? { introspection: { clientId, clientSecret: clientSecret ?? null } } : {}),
  };
}

/**
 * A Firebase ID token's issuer is `https://securetoken.google.com/<project_id>` and its audience
 * the project id. A provider bound to the Auth emulator fetches nothing from Google: the
 * emulator signs nothing, so its tokens fail the algorithm step as they are.
 */
function firebaseCheckOptions(
  provider: Extract<ProviderConfig, { type: 'firebase' }>,
  cliName: string,
): ProviderCheckOptions {
  if (!provider.project_id) {
    throw new InvalidInput(
      `provider ${provider.name} (firebase) names no project_id, which its tokens' issuer needs`,
      {
        hint: `add project_id to it in config.yaml, or name the issuer with \`${cliName} check --issuer URL\``,
      },
    );
  }
  return {
    issuer: `https://securetoken.google.com/${provider.project_id}`,
    audience: provider.project_id,
    ...(provider.emulator_host
      ? {
          offline: `provider ${provider.name} is bound to the Firebase Auth emulator at ${provider.emulator_host}, which signs nothing; nothing is fetched from Google to verify its tokens`,
        }
      : {}),
  };
}
