/**
 * The token fast path's question to the keyfob agent (`keyfob token` in its small CommonJS
 * bundle): for the default app, whatever the store, without loading the rest of keyfob. It
 * asks only when the full path would (no credential in the environment, a config the cache
 * vouches for, `agent` not `off`), and answers `null` for anything else: the full path then
 * asks again or works alone, and says why under `KEYFOB_DEBUG`.
 */

import { cachedSummaryFromText, fingerprint } from '../config/cache.js';
import { type ConfigLook, type ConfigView, lookAtConfig } from '../config/look.js';
import { type AppNames, readEnvVar } from '../config/names.js';
import type { TokenResult } from '../instance/types.js';
import { callAgent } from './client.js';
import { agentFingerprint, hasOutsideCredentials } from './fingerprint.js';
import type { AgentSpec } from './socket.js';
import { agentLocation } from './socket.js';

export interface FastAgentRequest {
  names: AppNames;
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  profile?: string;
  minTtl: number;
  /**
   * The look at the config the caller already took with `lookAtConfig` (`null`: it could not
   * look, and this answers `null` too); absent: one is taken here.
   */
  look?: ConfigLook | null;
}

/** The agent's token for a plain `token` call, or `null`. Never throws. */
export async function tokenFromAgentFast(request: FastAgentRequest): Promise<TokenResult | null> {
  const { names, env } = request;
  if (hasOutsideCredentials(names, env)) return null;
  try {
    // One look at the config and its cache serves the mode and the fingerprint. Only where the
    // cache vouches for the config as this environment sees it: `agent: off` must hold.
    const view = request.look !== undefined ? request.look : lookAtConfig(names, env, request.homedir);
    if (!view) return null;
    const { home, configPath } = view;
    const spec: AgentSpec = {
      app: names.app,
      envPrefix: names.envPrefix,
      envRenames: { ...names.envRenames },
      cliName: names.app,
      commandNames: {},
      home,
      configPath,
    };
    const mode = agentMode(configPath, view, env);
    if (mode !== 'auto' && mode !== 'manual') return null;
    const location = agentLocation(spec, env);
    if (location === null) return null;
    const profile = request.profile ?? readEnvVar(env, names, 'PROFILE');
    const tenant = readEnvVar(env, names, 'TENANT');
    // The fingerprint (a SHA-256 in a cold process) is computed while the agent accepts the
    // connection and says hello, not before.
    const result = await callAgent(
      location,
      () => {
        const fingerprint = agentFingerprint(spec, names, env, view);
        if (fingerprint === null) return null;
        return {
          op: 'token',
          fingerprint,
          minTtl: request.minTtl,
          ...(profile ? { profile } : {}),
          ...(tenant !== undefined ? { tenant } : {}),
        };
      },
      { answerMs: 60_000 },
    );
    return result.status === 'answered' && result.answer.ok && 'token' in result.answer
      ? result.answer.token
      : null;
  } catch {
    return null;
  }
}

/**
 * `agent:` of the cached config summary: `manual` for a summary written before the agent existed
 * (or no config file), `unknown` when the cache does not vouch for the file and these variables.
 */
function agentMode(
  configPath: string,
  view: ConfigView,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (view.stats === null) return 'manual';
  const summary =
    view.cacheText === null
      ? undefined
      : cachedSummaryFromText(view.cacheText, fingerprint(configPath, view.stats), env);
  return summary ? (summary.agent ?? 'manual') : 'unknown';
}
