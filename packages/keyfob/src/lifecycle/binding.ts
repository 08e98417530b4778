/**
 * Sessions are bound to where they came from (DESIGN.md, Sessions and freshness).
 *
 * The place is read from the configuration alone, before any provider is created, so a session
 * whose provider now names another issuer, token endpoint, client, control plane or emulator
 * is stopped before anything (not even discovery of the new issuer) is sent anywhere.
 */
import type { ProviderConfig } from '../config/schema.js';
import { AuthenticationRequired } from '../errors.js';
import type { Session, SessionBinding } from '../session.js';

/** The fields compared, in the order a message names them. */
const FIELDS = [
  'issuer',
  'token_endpoint',
  'control_plane',
  'emulator_host',
  'api_key',
  'client_id',
] as const;

/**
 * Where sessions of a provider configured like this come from, or `null` for a provider with no
 * place to send anything to (a static token). An `exchange` is bound to its login's place and
 * its control plane together: `lookup` finds the login's configuration.
 */
export function bindingOf(
  config: ProviderConfig,
  lookup?: (name: string) => ProviderConfig | undefined,
): SessionBinding | null {
  switch (config.type) {
    case 'oidc':
      return { issuer: config.issuer, token_endpoint: null, client_id: config.client_id };
    case 'oauth2':
    case 'client_credentials':
    case 'password':
      return {
        issuer: config.issuer ?? null,
        token_endpoint: config.token_endpoint ?? null,
        client_id: config.client_id,
      };
    case 'firebase':
      return {
        issuer: null,
        token_endpoint: null,
        client_id: null,
        api_key: config.api_key,
        emulator_host: config.emulator_host ?? null,
      };
    case 'exchange': {
      // The login's refresh token goes to the login's place, the subject token to the control
      // plane: a session is bound to both.
      const login = lookup?.(config.login);
      const base = login && login.type !== 'exchange' ? bindingOf(login) : null;
      // Without the login's configuration only the control plane is known: the login's fields
      // stay undefined, which bindingConflict does not compare (never a false "moved" error).
      if (!base) return { control_plane: config.control_plane } as SessionBinding;
      return { ...base, control_plane: config.control_plane };
    }
    case 'assume_user':
      // The stored admin key goes only where it was stored for: an endpoint setting moves it too.
      return {
        issuer: null,
        token_endpoint: config.assume_user_endpoint ?? null,
        client_id: null,
        control_plane: config.control_plane,
      };
    case 'static':
      return null;
  }
}

/**
 * Why a session may not be sent to the place the configuration names now, or `null` when it
 * may. A session stored before bindings were recorded has none and is accepted (it is stamped
 * with the current place on its next write).
 */
export function bindingConflict(
  session: Pick<Session, 'bound_to'>,
  current: SessionBinding | null,
): { was: string; now: string } | null {
  const stored = session.bound_to;
  if (!stored || !current) return null;
  // A field the current binding leaves undefined is unknown, not compared (an exchange's
  // login part when its configuration was not looked up).
  const known = FIELDS.filter((f) => f in current && current[f] !== undefined);
  const differing = known.filter((f) => (stored[f] ?? null) !== (current[f] ?? null));
  if (differing.length === 0) return null;
  return { was: describePlace(stored, differing), now: describePlace(current, differing) };
}

/**
 * @throws AuthenticationRequired (exit 2) naming both places and the login to run, when the
 *   session came from somewhere other than what the configuration names now.
 */
export function assertBound(
  session: Pick<Session, 'bound_to' | 'provider'>,
  current: SessionBinding | null,
  context: { profile: string; loginCommand: string; action: string },
): void {
  const conflict = bindingConflict(session, current);
  if (!conflict) return;
  throw new AuthenticationRequired(
    `profile ${context.profile} was logged in at ${conflict.was}; the configuration of provider ` +
      `${session.provider} now names ${conflict.now}. Nothing was sent (${context.action})`,
    { hint: `run \`${context.loginCommand}\` to log in there` },
  );
}

/** "issuer X", "token endpoint Y (client Z)": the place, with what differs made visible. */
export function describePlace(binding: SessionBinding, differing: readonly string[] = FIELDS): string {
  const extra: string[] = [];
  let where: string;
  // An exchange is bound to its login's place and its control plane: name the one that differs.
  if (binding.control_plane != null && (differing.includes('control_plane') || binding.issuer == null)) {
    where = `control plane ${binding.control_plane}`;
  } else if (binding.issuer != null) where = `issuer ${binding.issuer}`;
  else if (binding.token_endpoint != null) where = `token endpoint ${binding.token_endpoint}`;
  else if (binding.api_key !== undefined) {
    where = binding.emulator_host ? `the Auth emulator at ${binding.emulator_host}` : "Google's servers";
  } else where = 'an unknown place';
  if (differing.includes('token_endpoint') && binding.issuer != null && binding.token_endpoint != null) {
    extra.push(`token endpoint ${binding.token_endpoint}`);
  }
  if (differing.includes('token_endpoint') && binding.control_plane != null) {
    extra.push(`endpoint ${binding.token_endpoint ?? 'none'}`);
  }
  if (differing.includes('api_key')) extra.push(`API key ${binding.api_key ?? 'none'}`);
  if (differing.includes('client_id')) extra.push(`client ${binding.client_id ?? 'none'}`);
  return extra.length > 0 ? `${where} (${extra.join(', ')})` : where;
}
