/**
 * Which profile a command uses, and which provider `login` uses: DESIGN.md's Profiles section
 * as two pure functions, so every rule is tested without disk or network.
 */
import { ProviderNotFound } from '../errors.js';
import { assertProfileName, isProfileName } from '../profile-name.js';

export type ProfileSource = 'flag' | 'environment' | 'active' | 'default';

export interface SelectedProfile {
  name: string;
  source: ProfileSource;
}

/** `--profile`, else `<PREFIX>_PROFILE`, else the active profile, else `default`. */
export function selectProfile(input: {
  explicit: string | undefined;
  envValue: string | undefined;
  envName: string;
  active: string | null;
}): SelectedProfile {
  const { explicit, envValue } = input;
  if (explicit !== undefined) {
    assertProfileName(explicit, '--profile');
    return { name: explicit, source: 'flag' };
  }
  if (envValue) {
    assertProfileName(envValue, input.envName);
    return { name: envValue, source: 'environment' };
  }
  if (input.active) return { name: input.active, source: 'active' };
  return { name: 'default', source: 'default' };
}

export interface ProviderChoiceInput {
  /** The `login` argument. */
  argument: string | undefined;
  /** The provider the profile is already bound to (state file or config.yaml). */
  profileProvider: string | null;
  defaultProvider: string | null;
  configured: readonly string[];
  /** Asks the person to choose; present only when a person is there. */
  choose?: (names: readonly string[]) => Promise<string>;
  /** How the person runs login, for the error message, e.g. `keyfob login`. */
  loginCommand: string;
}

/**
 * The argument, else the profile's own provider, else `default_provider`, else the only
 * configured provider, else a choice on a terminal, else an error naming the providers.
 */
export async function selectLoginProvider(input: ProviderChoiceInput): Promise<string> {
  const known = (name: string) => input.configured.includes(name);
  if (input.argument !== undefined) {
    if (!known(input.argument)) throw unknownProvider(input.argument, input.configured);
    return input.argument;
  }
  if (input.profileProvider && known(input.profileProvider)) return input.profileProvider;
  if (input.defaultProvider) return input.defaultProvider;
  if (input.configured.length === 1) return input.configured[0] as string;
  if (input.configured.length === 0) {
    throw new ProviderNotFound('no provider is configured', {
      hint: 'add one under `providers:` in config.yaml (see the README)',
    });
  }
  if (input.choose) return input.choose(input.configured);
  throw new ProviderNotFound(`more than one provider is configured: ${input.configured.join(', ')}`, {
    hint: `run \`${input.loginCommand} PROVIDER\` with one of them, or set default_provider in config.yaml`,
  });
}

function unknownProvider(name: string, configured: readonly string[]): ProviderNotFound {
  const shown = isProfileName(name) ? `"${name}"` : 'given';
  const list = configured.length > 0 ? configured.join(', ') : 'none';
  return new ProviderNotFound(`the provider ${shown} is not configured`, {
    hint: `configured providers: ${list}`,
  });
}
