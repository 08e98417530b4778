/**
 * The public face of provider description: oauth4webapi loads on the first call, not when
 * `keyfob` is imported.
 */
import type { KeyfobConfig } from '../config/schema.js';
import type { DescribeOptions, ProviderDescription } from './describe.js';

export type { DescribeOptions, ProviderDescription, ProviderFlow } from './describe.js';

/**
 * Every configured provider with its type, issuer, the flows it supports (from discovery where
 * there is an issuer) and whether a credential is stored for it. An unreachable issuer is
 * reported on its provider (`reachable: false`, `error`), never thrown.
 */
export async function describeProviders(
  config: KeyfobConfig,
  options: DescribeOptions,
): Promise<ProviderDescription[]> {
  const { describeProviders: describe } = await import('./describe.js');
  return describe(config, options);
}
