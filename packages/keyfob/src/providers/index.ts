/**
 * From a provider's validated configuration to the provider itself. Loaded lazily by the
 * instance: importing it pulls in openid-client.
 */

import type { AppNames } from '../config/names.js';
import {
  type ClientCredentialsProviderConfig,
  DEFAULT_OIDC_SCOPES,
  type ExchangeProviderConfig,
  type OAuth2ProviderConfig,
  type OidcProviderConfig,
  type PasswordProviderConfig,
  type ProviderConfig,
} from '../config/schema.js';
import type { ControlPlane } from '../control-plane/control-plane.js';
import { controlPlaneFromConfig } from '../control-plane/from-config.js';
import { ProviderNotFound } from '../errors.js';
import { type CommandNames, type CommandOf, commandOf } from '../instance/command-names.js';
import { assumeUserProviderFromConfig } from './assume-user.js';
import type { ClientAuthentication } from './client-auth.js';
import { createClientCredentialsProvider } from './client-credentials.js';
import { createExchangeProvider } from './exchange.js';
import { createFirebaseProvider } from './firebase.js';
import type { ServerSource } from './oauth-client.js';
import { createOidcProvider } from './oidc.js';
import { createPasswordProvider } from './password.js';
import type { CredentialProvider, LoginFlow, ProviderRuntime } from './provider.js';
import { withServicePrincipalSessions } from './service-principal.js';

export interface ProviderFactoryContext {
  runtime: ProviderRuntime;
  env: Readonly<Record<string, string | undefined>>;
  names: AppNames;
  /** How people run the auth commands, for messages. */
  cliName: string;
  /** The vendor's names of keyfob's commands (`createKeyfob({ commandNames })`), for messages. */
  commandNames?: CommandNames;
  /** Another provider's configuration by name (an exchange's login). */
  lookup?: (name: string) => ProviderConfig | undefined;
  /** An integrator's control plane, used instead of the wire protocol's default. */
  controlPlane?: ControlPlane;
}

/**
 * Creates the provider a configuration describes.
 * @throws ProviderNotFound for a type this version cannot log in with yet.
 */
export function createProvider(config: ProviderConfig, context: ProviderFactoryContext): CredentialProvider {
  return withServicePrincipalSessions(
    createTypedProvider(config, context),
    config,
    context.runtime,
    commandOf(context.cliName, context.commandNames),
  );
}

function createTypedProvider(config: ProviderConfig, context: ProviderFactoryContext): CredentialProvider {
  const allowedOrigins = config.allowed_origins;
  const resource = config.resource ?? null;
  switch (config.type) {
    case 'oidc':
    case 'oauth2': {
      // oidc discovers its endpoints; oauth2 names them, and its flows follow from which it names.
      const server: ServerSource =
        config.type === 'oidc'
          ? {
              kind: 'discovery',
              issuer: config.issuer,
              ...optional('device_authorization_endpoint', config.device_authorization_endpoint),
            }
          : {
              kind: 'manual',
              issuer: config.issuer ?? null,
              token_endpoint: config.token_endpoint,
              ...optional('authorization_endpoint', config.authorization_endpoint),
              ...optional('device_authorization_endpoint', config.device_authorization_endpoint),
              ...optional('revocation_endpoint', config.revocation_endpoint),
              ...optional('userinfo_endpoint', config.userinfo_endpoint),
            };
      const flows: LoginFlow[] =
        config.flows ??
        (config.type === 'oidc'
          ? ['browser', 'device']
          : [
              config.authorization_endpoint ? ('browser' as const) : null,
              config.device_authorization_endpoint ? ('device' as const) : null,
            ].filter((f): f is 'browser' | 'device' => f !== null));
      return createOidcProvider(
        {
          name: config.name,
          type: config.type,
          server,
          clientId: config.client_id,
          clientAuth: clientAuthentication(config, commandOf(context.cliName, context.commandNames)),
          scopes: config.scopes,
          resource,
          allowedOrigins,
          authorizationParams: config.authorization_params,
          flows,
          appName: context.names.app,
          redirectPort: config.redirect_port ?? null,
          browserHandoff: config.browser_handoff ?? 'file',
        },
        context.runtime,
      );
    }
    case 'client_credentials': {
      // Both given: the token endpoint as written, and the issuer as the server's identifier (the
      // audience of a private_key_jwt assertion) without discovery.
      const server: ServerSource = config.token_endpoint
        ? { kind: 'manual', issuer: config.issuer ?? null, token_endpoint: config.token_endpoint }
        : { kind: 'discovery', issuer: config.issuer as string };
      const auth = clientAuthentication(config, commandOf(context.cliName, context.commandNames));
      return createClientCredentialsProvider(
        {
          name: config.name,
          server,
          clientId: config.client_id,
          clientSecret: config.client_secret ?? null,
          method:
            auth.method === 'private_key_jwt'
              ? auth
              : (auth.method as 'client_secret_basic' | 'client_secret_post'),
          scopes: config.scopes,
          resource,
          allowedOrigins,
          missingSecretHint: missingSecretHint(
            config.name,
            config.unresolved_secrets?.client_secret,
            commandOf(context.cliName, context.commandNames),
          ),
        },
        context.runtime,
      );
    }
    case 'password':
      return createPasswordProvider(
        {
          name: config.name,
          server: config.token_endpoint
            ? { kind: 'manual', issuer: config.issuer ?? null, token_endpoint: config.token_endpoint }
            : { kind: 'discovery', issuer: config.issuer as string },
          clientId: config.client_id,
          clientAuth: clientAuthentication(config, commandOf(context.cliName, context.commandNames)),
          // With an issuer the login is an OpenID one: the same default scopes as `oidc`.
          scopes: config.scopes.length > 0 || !config.issuer ? config.scopes : DEFAULT_OIDC_SCOPES,
          resource,
          allowedOrigins,
          cliName: context.cliName,
          ...(context.commandNames ? { commandNames: context.commandNames } : {}),
        },
        context.runtime,
      );
    case 'assume_user':
      return assumeUserProviderFromConfig(config, context.runtime, context, context.controlPlane);
    case 'firebase':
      return createFirebaseProvider(
        {
          name: config.name,
          apiKey: config.api_key,
          emulatorHost: config.emulator_host ?? null,
          resource,
          allowedOrigins,
          cliName: context.cliName,
          ...(context.commandNames ? { commandNames: context.commandNames } : {}),
        },
        context.runtime,
      );
    case 'exchange':
      return createExchange(config, context);
    default:
      throw new ProviderNotFound(
        `provider ${config.name} has type ${config.type}, which this version cannot log in with yet`,
        {
          hint: 'use an oidc, oauth2, client_credentials, password, firebase or exchange provider',
        },
      );
  }
}

/** An exchange: its login provider (created the same way) and its control plane. */
function createExchange(config: ExchangeProviderConfig, context: ProviderFactoryContext): CredentialProvider {
  const loginConfig = context.lookup?.(config.login);
  if (!loginConfig) {
    throw new ProviderNotFound(
      `provider ${config.name} logs in with provider ${config.login}, which is not configured`,
    );
  }
  const controlPlane = context.controlPlane ?? controlPlaneFromConfig(config, context.runtime);
  return createExchangeProvider(
    {
      name: config.name,
      login: createProvider(loginConfig, context),
      controlPlane,
      controlPlaneUrl: config.control_plane,
      ...(config.subject_token ? { subjectToken: config.subject_token } : {}),
      ...(config.tenant ? { tenant: config.tenant } : {}),
      allowedOrigins: config.allowed_origins,
      resource: config.resource ?? null,
      cliName: context.cliName,
      ...(context.commandNames ? { commandNames: context.commandNames } : {}),
    },
    context.runtime,
  );
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/**
 * How a provider's client authenticates, from its config: the configured
 * `token_endpoint_auth_method`, else `private_key_jwt` with a private key,
 * `client_secret_basic` with a secret (or for a machine), `none` otherwise.
 */
function clientAuthentication(
  config:
    | OidcProviderConfig
    | OAuth2ProviderConfig
    | ClientCredentialsProviderConfig
    | PasswordProviderConfig,
  command: CommandOf,
): ClientAuthentication {
  const method =
    config.token_endpoint_auth_method ??
    (config.private_key
      ? 'private_key_jwt'
      : config.client_secret || config.unresolved_secrets?.client_secret
        ? 'client_secret_basic'
        : 'none');
  switch (method) {
    case 'none':
      return { method };
    case 'private_key_jwt':
      return {
        method,
        key: config.private_key ?? null,
        hint: missingKeyHint(config.name, config.unresolved_secrets?.private_key),
        ...(config.private_key_alg ? { alg: config.private_key_alg } : {}),
        setting: `providers.${config.name}.private_key`,
      };
    default:
      return {
        method,
        secret: config.client_secret ?? null,
        hint: missingSecretHint(config.name, config.unresolved_secrets?.client_secret, command),
      };
  }
}

function missingKeyHint(provider: string, variable: string | undefined): string {
  return variable
    ? `set ${variable} in the environment (config.yaml: providers.${provider}.private_key refers to it)`
    : `give providers.${provider}.private_key in config.yaml`;
}

function missingSecretHint(provider: string, variable: string | undefined, command: CommandOf): string {
  if (variable)
    return `set ${variable} in the environment (config.yaml: providers.${provider}.client_secret refers to it)`;
  return `write client_secret: \${VAR} for provider ${provider} in config.yaml and set VAR, or run \`${command('login')} ${provider} --with-secret\``;
}
