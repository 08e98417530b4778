/**
 * The token fast path's question to the keyfob agent (`keyfob token` in its small CommonJS
 * bundle): for the default app, whatever the store, without loading the rest of keyfob. It
 * asks only when the full path would (no credential in the environment, a config the cache
 * vouches for, `agent` not `off`), and answers `null` for anything else: the full path then
 * asks again or works alone, and says why under `KEYFOB_DEBUG`.
 */

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { cachedSummaryFromText, cacheFile, fingerprint } from '../config/cache.js';
import { type AppNames, readEnvVar } from '../config/names.js';
import { resolveConfigPath, resolveHome } from '../config/paths.js';
import { readFileNoFollowSync } from '../fs/sync.js';
import type { TokenResult } from '../instance/types.js';
import { callAgent } from './client.js';
import { agentFingerprint } from './fingerprint.js';
import type { AgentSpec } from './socket.js';
import { agentLocation } from './socket.js';

export interface FastAgentRequest {
  names: AppNames;
  env: Readonly<Record<string, string | undefined>>;
  homedir: string;
  profile?: string;
  minTtl: number;
}

const OUTSIDE_CREDENTIALS = ['TOKEN', 'TOKEN_FILE', 'CLIENT_ID', 'CLIENT_SECRET'] as const;

/** The agent's token for a plain `token` call, or `null`. Never throws. */
export async function tokenFromAgentFast(request: FastAgentRequest): Promise<TokenResult | null> {
  const { names, env } = request;
  if (OUTSIDE_CREDENTIALS.some((suffix) => readEnvVar(env, names, suffix) !== undefined)) return null;
  try {
    const home = resolveHome({ names, env, homedir: request.homedir });
    const configPath = resolveConfigPath({ names, env, home }).path;
    if (agentMode(home, configPath, env) === 'off') return null;
    const spec: AgentSpec = {
      app: names.app,
      envPrefix: names.envPrefix,
      envRenames: { ...names.envRenames },
      cliName: names.app,
      commandNames: {},
      home,
      configPath,
    };
    const fingerprint = agentFingerprint(spec, names, env);
    const location = agentLocation(spec, env);
    if (fingerprint === null || location === null) return null;
    const profile = request.profile ?? readEnvVar(env, names, 'PROFILE');
    const tenant = readEnvVar(env, names, 'TENANT');
    const result = await callAgent(
      location,
      {
        op: 'token',
        fingerprint,
        minTtl: request.minTtl,
        ...(profile ? { profile } : {}),
        ...(tenant !== undefined ? { tenant } : {}),
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

/** `agent:` of the cached config summary (`manual` when absent or not vouched for). */
function agentMode(
  home: string,
  configPath: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  try {
    const text = readFileNoFollowSync(cacheFile(join(home, 'cache')));
    if (text === null) return 'manual';
    return cachedSummaryFromText(text, fingerprint(configPath, statSync(configPath)), env)?.agent ?? 'manual';
  } catch {
    return 'manual';
  }
}
