/**
 * oidc-provider's storage adapter over the record store, and the refresh-token reuse grace
 * window.
 *
 * Why the grace window lives here: oidc-provider's refresh grant revokes the whole grant as soon
 * as it finds a refresh token marked `consumed`. Okta and Auth0 instead accept a rotated token
 * again for a few seconds (two processes refreshing at once is not theft). Handing the refresh
 * grant a record without the mark, only while the window is open, gives that behaviour without
 * touching the grant's code; every other reader (introspection, revocation) sees the truth.
 */
import type { RecordStore } from './store.js';

/** Extra seconds a record is kept after its expiry, so that the provider can still say
 * "expired" (a precise error) rather than "not found". */
const RETENTION_SLACK_SECONDS = 60;

/**
 * When the token was first spent, in milliseconds. oidc-provider's own `consumed` mark is in
 * whole seconds, too coarse for a window of a few seconds; oidc-provider ignores the extra field.
 */
const SPENT_AT_MS = 'devIdpSpentAtMs';

/** The adapter instance oidc-provider creates per model ("AccessToken", "Session", …). */
export interface ProviderAdapter {
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined>;
  findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** How the adapter decides on the reuse grace window. */
export interface GraceWindow {
  /** Seconds a spent refresh token stays acceptable; 0 turns the window off. */
  seconds: number;
  /** True while the current request is a refresh_token grant at the token endpoint. */
  isRefreshGrant(): boolean;
  /** Told each time a spent token is let through, for the log. */
  onGraceUse?(): void;
}

/** The adapter factory oidc-provider's `adapter` setting takes: one adapter per model name. */
export function createAdapterFactory(
  store: RecordStore,
  grace: GraceWindow,
): (model: string) => ProviderAdapter {
  return (model) => new StoreAdapter(model, store, grace);
}

class StoreAdapter implements ProviderAdapter {
  readonly #model: string;
  readonly #store: RecordStore;
  readonly #grace: GraceWindow;

  constructor(model: string, store: RecordStore, grace: GraceWindow) {
    this.#model = model;
    this.#store = store;
    this.#grace = grace;
  }

  async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void> {
    const ttl = typeof expiresIn === 'number' ? expiresIn + RETENTION_SLACK_SECONDS : undefined;
    this.#store.set(this.#model, id, payload, ttl);
  }

  async find(id: string): Promise<Record<string, unknown> | undefined> {
    const payload = this.#store.get(this.#model, id);
    if (payload && this.#model === 'RefreshToken' && this.#withinGrace(payload)) {
      delete payload.consumed;
      this.#grace.onGraceUse?.();
    }
    return payload;
  }

  async findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined> {
    return this.#store.find(this.#model, (payload) => payload.userCode === userCode)?.payload;
  }

  async findByUid(uid: string): Promise<Record<string, unknown> | undefined> {
    return this.#store.find(this.#model, (payload) => payload.uid === uid)?.payload;
  }

  async consume(id: string): Promise<void> {
    // The first spend starts the grace window; a reuse inside it must not move the start.
    this.#store.update(this.#model, id, (payload) => {
      if (typeof payload.consumed === 'number') return;
      const now = Date.now();
      payload.consumed = Math.floor(now / 1000);
      payload[SPENT_AT_MS] = now;
    });
  }

  async destroy(id: string): Promise<void> {
    this.#store.delete(this.#model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.#store.deleteWhere(this.#model, (payload) => payload.grantId === grantId);
  }

  #withinGrace(payload: Record<string, unknown>): boolean {
    const spentAt = payload[SPENT_AT_MS];
    if (typeof payload.consumed !== 'number' || typeof spentAt !== 'number' || this.#grace.seconds <= 0) {
      return false;
    }
    if (Date.now() - spentAt > this.#grace.seconds * 1000) return false;
    return this.#grace.isRefreshGrant();
  }
}

/** The models whose records hang off a grant (oidc-provider's `grantId`). */
const GRANT_BOUND_MODELS = ['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode'];

/**
 * Revokes every grant of one end-user and everything issued under them, as an admin action
 * at a real provider would. Returns how many grants went.
 */
export function revokeGrantsOfAccount(store: RecordStore, accountId: string): number {
  let revoked = 0;
  for (;;) {
    const grant = store.find('Grant', (payload) => payload.accountId === accountId);
    if (!grant) return revoked;
    for (const model of GRANT_BOUND_MODELS) {
      store.deleteWhere(model, (payload) => payload.grantId === grant.id);
    }
    store.delete('Grant', grant.id);
    revoked += 1;
  }
}
