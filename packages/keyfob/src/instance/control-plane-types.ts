/** The public types of `kf.assumeUser` and `kf.servicePrincipals`. */
import type { CreatedServicePrincipal, ServicePrincipal } from '../control-plane/control-plane.js';
import type { StoreKind } from '../stores/store.js';

/** `kf.assumeUser()`: the tenant and user to act as, and where the session goes. */
export interface AssumeUserOptions {
  tenantId: string;
  userId: string;
  /**
   * The admin API key; else the provider's `admin_api_key`, else `<PREFIX>_ADMIN_API_KEY`, else
   * the key stored in the profile (sent only to the control plane it was stored for).
   */
  adminApiKey?: string;
  profile?: string;
  /** The assume_user provider; else the profile's, else the only one configured. */
  provider?: string;
  /** Keep the session in the profile's store and the state file (the CLI does); else in memory. */
  persist?: boolean;
  personPresent?: boolean;
  /** Asks the person for the key (hidden) when no source has it; used only when `personPresent`. */
  askAdminKey?: () => Promise<string>;
}

/** What `kf.assumeUser()` stored: the profile, the tenant and the assumed user. */
export interface AssumeUserResult {
  profile: string;
  provider: string;
  tenantId: string;
  userId: string;
  /** ISO 8601 UTC, or `null` when the token does not say. */
  expiresAt: string | null;
  store: StoreKind;
  notices: string[];
}

/** Which profile's control-plane token a service-principal call uses. */
export interface ServicePrincipalCallOptions {
  profile?: string;
  tenant?: string;
}

/** `kf.servicePrincipals.create()`: its name and, optionally, a profile to save it as. */
export interface CreateServicePrincipalOptions extends ServicePrincipalCallOptions {
  name: string;
  description?: string;
  /** Store the principal as this machine profile (not made active) instead of returning its secret. */
  saveProfile?: string;
  /** With `saveProfile`: false keeps the profile in this instance's memory only. Default true. */
  persist?: boolean;
  personPresent?: boolean;
}

/** The created service principal (its secret shown once) and the profile it was saved as. */
export interface CreateServicePrincipalResult {
  servicePrincipal: Omit<CreatedServicePrincipal, 'clientSecret'>;
  /** The secret, shown only here; `null` when it went into `savedProfile`'s store instead. */
  clientSecret: string | null;
  savedProfile: string | null;
  notices: string[];
}

/** `kf.servicePrincipals`: create, list and delete service principals at a profile's control plane. */
export interface ServicePrincipals {
  create(options: CreateServicePrincipalOptions): Promise<CreateServicePrincipalResult>;
  list(options?: ServicePrincipalCallOptions): Promise<ServicePrincipal[]>;
  /** @throws ControlPlaneError with status 404 for a principal the tenant does not have. */
  delete(clientId: string, options?: ServicePrincipalCallOptions): Promise<void>;
}
