/**
 * Storing a new session of a profile, for `login`, `assume-user` and a saved service principal:
 * the profile's recorded store (else the default order), under the profile's lock, then the
 * state file; in memory only when the caller does not persist.
 */
import { envVar } from '../config/names.js';
import type { KeyfobConfig } from '../config/schema.js';
import { updateState } from '../config/state.js';
import type { Session } from '../session.js';
import { chooseStore } from '../stores/choose.js';
import { encryptedFileConfigured } from '../stores/encrypted-file.js';
import { forgetMovedAside } from '../stores/moved-aside.js';
import type { StoreKind } from '../stores/store.js';
import type { InstanceContext, ProfileBinding } from './context.js';

export interface PersistOptions {
  /** Keep it in the profile's store and the state file (the CLI does); else this instance's memory. */
  persist: boolean;
  /** Make the profile the active one (as `login` does). */
  makeActive: boolean;
  personPresent: boolean;
}

/** Where the session went, and lines to show the person. */
export interface Persisted {
  store: StoreKind;
  notices: string[];
}

/** Stores `session` as `profile`'s, bound to `providerName`. */
export async function persistSession(
  ctx: InstanceContext,
  cfg: KeyfobConfig,
  binding: ProfileBinding,
  profile: string,
  providerName: string,
  session: Session,
  options: PersistOptions,
): Promise<Persisted> {
  if (!options.persist) {
    await ctx.openStore('memory').write(profile, session);
    ctx.memoryBindings.set(profile, { provider: providerName, store: 'memory', tenant: session.tenant });
    return { store: 'memory', notices: [] };
  }
  const configured = ctx.configuredStore(cfg);
  const storageVariable = envVar(ctx.names, 'STORAGE');
  const fixed = ctx.fixedStore;
  // The app's choice (createKeyfob({ store })) is final: no probe, no record consulted.
  const choice = fixed
    ? { kind: fixed.kind, reason: fixed.reason, fallbackNotice: null, detail: undefined }
    : await chooseStore({
        names: ctx.names,
        home: ctx.home,
        explicit: configured.explicit ? configured.kind : null,
        explicitSource: ctx.env[storageVariable]
          ? storageVariable
          : `token_storage in ${cfg.file ?? 'the configuration'}`,
        recorded: binding.store,
        encryptedConfigured: encryptedFileConfigured({
          names: ctx.names,
          identityFile: ctx.identityFile(),
          env: ctx.env,
        }),
        passphrasePromptAvailable: options.personPresent && ctx.canPromptPassphrase,
      });
  const notices = choice.fallbackNotice ? [choice.fallbackNotice] : [];
  if (choice.detail) ctx.log.debug('keychain did not answer', { reason: choice.detail });
  const store = ctx.openStore(choice.kind);
  await ctx.withProfileLock(profile, (lock) => store.write(profile, session, { signal: lock.signal }));
  // A session moved aside earlier is no longer news once the profile has a new one.
  await forgetMovedAside(ctx.home, profile).catch(() => undefined);
  if (choice.kind === 'memory') {
    // A memory store keeps the session for this instance's life; the binding says where it is.
    ctx.memoryBindings.set(profile, { provider: providerName, store: 'memory', tenant: session.tenant });
    notices.push(
      `the session is kept in memory only (${fixed ? 'the store chosen by the app' : 'token_storage memory'}): it ends with this process`,
    );
  } else {
    await updateState(
      ctx.home,
      (s) => {
        const at = ctx.now().toISOString();
        const previous = s.profiles[profile];
        s.profiles[profile] = {
          provider: providerName,
          store: choice.kind,
          store_reason: choice.reason,
          // The session's own: a profile logged in again elsewhere keeps no stale tenant.
          tenant: session.tenant,
          created_at: previous?.created_at ?? at,
          updated_at: at,
        };
        if (options.makeActive) s.active_profile = profile;
      },
      { cliName: ctx.cliName },
    );
  }
  return { store: choice.kind, notices };
}
