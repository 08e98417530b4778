/**
 * The keyfob `config.yaml` that points at a running dev-idp, for the demo, the tests and the
 * benchmarks (and anyone trying keyfob against it by hand).
 */
import type { DevIdp } from './contract.js';

/** Options of {@link keyfobConfig}. */
export interface KeyfobConfigOptions {
  /** Provider `dev`: the public CLI client (browser and device login). Default true. */
  person?: boolean;
  /**
   * Provider `robot`: the confidential machine client (client credentials). Its secret is read
   * from `${ROBOT_SECRET}`, never written into the file. Default false.
   */
  machine?: boolean;
  /** `default_provider`; default `dev` when it is configured, else none. */
  defaultProvider?: string | null;
  /** YAML appended as it is (more providers, `profiles:`, …). */
  extra?: string;
}

/**
 * The text of a `config.yaml` for `idp`. Both providers send their tokens only to dev-idp's API
 * (`api_base`), and ask for tokens with the API as their resource (RFC 8707).
 */
export function keyfobConfig(
  idp: Pick<DevIdp, 'issuer' | 'api' | 'clients'>,
  options: KeyfobConfigOptions = {},
): string {
  const person = options.person ?? true;
  const defaultProvider =
    options.defaultProvider === undefined ? (person ? 'dev' : null) : options.defaultProvider;
  const lines = defaultProvider ? [`default_provider: ${defaultProvider}`] : [];
  lines.push('providers:');
  if (person) {
    lines.push(
      '  dev:',
      '    type: oidc',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.cli.client_id}`,
      '    scopes: [openid, profile, email, offline_access]',
      `    api_base: ${idp.api}`,
      `    resource: ${idp.api}`,
    );
  }
  if (options.machine) {
    lines.push(
      '  robot:',
      '    type: client_credentials',
      `    issuer: ${idp.issuer}`,
      `    client_id: ${idp.clients.machine.client_id}`,
      '    client_secret: ${ROBOT_SECRET}',
      `    api_base: ${idp.api}`,
      `    resource: ${idp.api}`,
    );
  }
  if (options.extra) lines.push(options.extra.trimEnd());
  return `${lines.join('\n')}\n`;
}
