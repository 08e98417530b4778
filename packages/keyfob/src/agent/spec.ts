/**
 * Which instances may ask the keyfob agent, and the {@link AgentSpec} they ask it with. An
 * instance whose answers an agent could not reproduce works alone: configuration or a store
 * given in code, a vendor's credentials file, its own control plane, transport or clock, and
 * explicit credentials (level 1 of the chain: they never go to an agent).
 */

import type { AppNames } from '../config/names.js';
import { resolveConfigPath } from '../config/paths.js';
import type { KeyfobOptions } from '../instance/options.js';
import type { AgentSpec } from './socket.js';

/** The spec of the agent `options` may ask, or `null` when it works alone. */
export function agentSpecFor(
  options: KeyfobOptions,
  at: {
    names: AppNames;
    home: string;
    env: Readonly<Record<string, string | undefined>>;
    cliName: string;
    commandNames: Readonly<Record<string, string>>;
  },
): AgentSpec | null {
  if (
    options.config !== undefined ||
    options.store !== undefined ||
    options.credentialsFile !== undefined ||
    options.controlPlane !== undefined ||
    options.fetch !== undefined ||
    options.now !== undefined ||
    options.token !== undefined ||
    options.clientId !== undefined ||
    options.clientSecret !== undefined
  ) {
    return null;
  }
  let configPath: string;
  try {
    configPath = resolveConfigPath({
      names: at.names,
      env: at.env,
      home: at.home,
      flag: options.configPath,
    }).path;
  } catch {
    return null;
  }
  return {
    app: at.names.app,
    envPrefix: at.names.envPrefix,
    envRenames: { ...at.names.envRenames },
    cliName: at.cliName,
    commandNames: { ...at.commandNames },
    home: at.home,
    configPath,
  };
}
