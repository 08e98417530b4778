/**
 * The public face of validation. jose and oauth4webapi load on the first check, not when
 * `keyfob` is imported: a cached `keyfob token` must never pay for them.
 */
import type { CheckOptions } from './options.js';
import type { CheckReport } from './report.js';

export type { IntrospectionClient } from './introspect.js';
export type { CheckOptions } from './options.js';
export type { ProviderCheckOptions } from './provider-options.js';
export { checkOptionsForProvider } from './provider-options.js';
export type { CheckReport, CheckStep, CheckStepName, CheckStepStatus } from './report.js';
export { checkFailure } from './report.js';

/**
 * Validates a token in six reported steps: structure; algorithm (the issuer's key types ∩
 * `algorithms`; never `none` nor HMAC); key (the issuer's `jwks_uri` only, one refetch on an
 * unknown `kid`); signature; `iss` (exact) and `aud`; `exp`/`nbf`/`iat` with a bounded clock
 * tolerance. An opaque token is checked by introspection when `introspection` is given.
 *
 * Resolves with the report whatever the token; `checkFailure(report)` gives the error to throw.
 * Discovery documents and key sets are cached per process, per `fetch` and per issuer.
 *
 * @throws InvalidInput or InsecureUrl for unusable options, never for a bad token.
 */
export function checkToken(token: string, options: CheckOptions): Promise<CheckReport> {
  // Resolving a dynamic import costs more than a verification: do it once per process, and
  // call straight through once it is loaded.
  if (loaded) return loaded.checkToken(token, options);
  implementation ??= import('./check.js').then((module) => {
    loaded = module;
    return module;
  });
  return implementation.then((module) => module.checkToken(token, options));
}

let implementation: Promise<typeof import('./check.js')> | undefined;
let loaded: typeof import('./check.js') | undefined;
