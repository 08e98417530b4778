/**
 * The interaction policy: oidc-provider's standard login and consent prompts, plus one step
 * that keeps `offline_access` without `prompt=consent`.
 *
 * Why: OpenID Connect Core §11 lets a provider drop `offline_access` unless the request says
 * `prompt=consent`, and oidc-provider does so at the authorization endpoint before any hook
 * runs, so `issueRefreshToken` alone never sees the scope. keyfob (like `gh`, the Azure CLI
 * and Okta/Auth0 clients) asks for `offline_access` without forcing a consent screen; the dev
 * server honours the scope as those providers do. Native clients see the consent page on every
 * login anyway, so nothing is granted silently.
 */
import type { interactionPolicy as InteractionPolicyApi, Policy, ProviderContext } from 'oidc-provider';

type PolicyApi = typeof InteractionPolicyApi;

const OFFLINE_ACCESS = 'offline_access';

/** The scope string the client sent, before oidc-provider filtered it. */
function requestedScope(ctx: ProviderContext): string | undefined {
  const raw = ctx.method === 'POST' ? ctx.oidc.body?.scope : ctx.query.scope;
  return typeof raw === 'string' ? raw : undefined;
}

/**
 * Puts `offline_access` back into the request when the client asked for it and may refresh.
 * Always answers "no need to prompt": it only edits the parameters.
 */
function restoreOfflineAccess(ctx: ProviderContext): false {
  const { oidc } = ctx;
  // Resumed requests carry the parameters saved with the interaction, already restored.
  if (oidc.route !== 'authorization' || !oidc.params || !oidc.client?.grantTypeAllowed('refresh_token')) {
    return false;
  }
  const asked = requestedScope(ctx)?.split(' ').includes(OFFLINE_ACCESS);
  const current = typeof oidc.params.scope === 'string' ? oidc.params.scope.split(' ') : [];
  if (asked && !current.includes(OFFLINE_ACCESS)) {
    oidc.params.scope = [...current, OFFLINE_ACCESS].join(' ');
  }
  return false;
}

/**
 * The policy dev-idp configures: the restore step first, then oidc-provider's defaults.
 * `policyApi` is oidc-provider's `interactionPolicy` export (loaded lazily by the caller).
 */
export function interactionPolicyWithOfflineAccess(policyApi: PolicyApi): Policy {
  const policy = policyApi.base();
  const { Prompt, Check } = policyApi;
  policy.add(
    new Prompt(
      { name: 'dev_idp_offline_access', requestable: false },
      new Check(
        'offline_access_requested',
        'restores offline_access dropped without prompt=consent',
        restoreOfflineAccess,
      ),
    ),
    0,
  );
  return policy;
}
