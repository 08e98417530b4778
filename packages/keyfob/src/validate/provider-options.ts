/**
 * What checking "against a provider" means: its issuer, its API (`resource`) as the expected
 * audience, and its client credentials for introspecting opaque tokens.
 */
import type { ProviderConfig } from '../config/schema.js';
import { InvalidInput } from '../errors.js';
import type { CheckOptions } from './options.js';

/** The part of {@link CheckOptions} a provider's configuration determines. */
export type ProviderCheckOptions = Pick<CheckOptions, 'issuer' | 'audience' | 'introspection'>;

/**
 * The check options for tokens of `provider`.
 *
 * @param cliName How people run the commands, for the hint (`keyfob`).
 * @throws InvalidInput when the provider has no issuer to take keys from (an `oauth2` or machine
 *   provider configured with endpoints only, `firebase`, `assume_user`, `static`).
 */
export function checkOptionsForProvider(provider: ProviderConfig, cliName = 'keyfob'): ProviderCheckOptions {
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
