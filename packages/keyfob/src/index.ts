/**
 * keyfob: authentication for command-line tools, SDKs and agent tools.
 *
 * Public exports only. Modules that load heavy dependencies (openid-client, undici) are not
 * imported from here at module load: the instance loads them on first use.
 */

export type { AgentStarted, AgentStatusInfo, AgentStatusReport } from './agent/index.js';
export { agentStatus, startAgent, stopAgent } from './agent/index.js';
export type {
  AuthStore,
  AuthStoreMetadata,
  AuthStoreOptions,
  AuthStoreService,
  AuthStoreToken,
  ClearTokenResult,
} from './agent-store/index.js';
export { createAuthStore } from './agent-store/index.js';
export type { AppNames } from './config/names.js';
export { appNames, envVar } from './config/names.js';
export type {
  ClientCredentialsProviderConfig,
  KeyfobConfig,
  OAuth2ProviderConfig,
  OidcProviderConfig,
  ProfileConfig,
  ProviderConfig,
  ProviderType,
} from './config/schema.js';
export type {
  CallOptions,
  ControlPlane,
  ControlPlaneToken,
  CreatedServicePrincipal,
  ExchangeRequest,
  ListedTenant,
  ServicePrincipal,
} from './control-plane/control-plane.js';
export { AdminKeyRefused, SubjectTokenRefused, TOKEN_TYPE_URIS } from './control-plane/control-plane.js';
export type { DescribeOptions, ProviderDescription, ProviderFlow } from './discovery/index.js';
export { describeProviders } from './discovery/index.js';
export * from './errors.js';
export type { FleetEntryStatus, FleetStatusReport } from './fleet/status.js';
export { chooseLoginFlow, isRemoteSession, openInBrowser } from './flows/browser.js';
export type { KeyfobRequestInit } from './http/authenticated-fetch.js';
export type {
  KeyfobSession,
  SessionBody,
  SessionOptions,
  SessionRequestInit,
} from './instance/session-client.js';
export type {
  AssumeUserOptions,
  AssumeUserResult,
  CreateServicePrincipalOptions,
  CreateServicePrincipalResult,
  CredentialProxy,
  CredentialsFileField,
  CredentialsFileOptions,
  ExplainReport,
  FleetSummary,
  GetTokenOptions,
  ImportSessionOptions,
  ImportSessionResult,
  InteractiveOptions,
  Keyfob,
  KeyfobOptions,
  ListedTenantInfo,
  LoginOptions,
  LoginResult,
  LogoutResult,
  ProfileInfo,
  ProfileStatus,
  ProxyOptions,
  ServicePrincipalCallOptions,
  ServicePrincipals,
  StatusReport,
  TenantsResult,
  TokenResult,
} from './instance/types.js';
export { createKeyfob } from './keyfob.js';
export type { Logger, LoggerOptions } from './log.js';
export { createLogger, redactField, silentLogger } from './log.js';
export { networkFailure } from './network-failure.js';
export type {
  CredentialProvider,
  DeviceCodePrompt,
  LoginFlow,
  LoginInteraction,
  LoginRequest,
  ProviderRuntime,
  RevocationResult,
  TokenRequest,
} from './providers/provider.js';
export type { ChainStep, ExplicitCredentials } from './resolve/chain.js';
export type { AccessToken, ObtainedBy, ProofKey, Session, Tenant, TokenPlace } from './session.js';
export {
  accessTokenKey,
  DEFAULT_MIN_TTL_SECONDS,
  findAccessToken,
  isExpired,
  isFreshEnough,
  parseScopes,
  SESSION_SCHEMA_VERSION,
} from './session.js';
export { FileStore } from './stores/file.js';
export { MemoryStore } from './stores/memory.js';
export type { CredentialStore, StoreKind } from './stores/store.js';
export type {
  CheckOptions,
  CheckReport,
  CheckStep,
  CheckStepName,
  CheckStepStatus,
  IntrospectionClient,
  ProviderCheckOptions,
} from './validate/index.js';
export { checkFailure, checkOptionsForProvider, checkToken } from './validate/index.js';
