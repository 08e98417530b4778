/**
 * A library instance asking its keyfob agent (DESIGN.md, The keyfob agent): a token before it
 * reads a store, the encrypted-file store's identity before it runs scrypt. Whenever the agent
 * cannot answer (none runs, another version, another config or environment, an error), this
 * returns `null`, says why under `<PREFIX>_DEBUG`, and the caller works alone, as today.
 * With `agent: auto`, a process that finds none starts one for the next call.
 */
import { readEnvVar } from '../config/names.js';
import { StoreUnavailable } from '../errors.js';
import type { InstanceContext } from '../instance/context.js';
import { type MemoEntry, profileEntryFromResult } from '../instance/token-memo.js';
import type { GetTokenOptions } from '../instance/types.js';
import type { UnlockedIdentity } from '../stores/age/identity.js';
import { type AgentCallBounds, type AgentCallResult, callAgent, describeCall } from './client.js';
import { agentFingerprint, hasOutsideCredentials } from './fingerprint.js';
import type { AgentRequest } from './protocol.js';
import { agentLocation } from './socket.js';

/** A refresh in the agent may take a provider's round trips; past this the client goes alone. */
const TOKEN_ANSWER_MS = 60_000;

let startedOne = false;

/** The agent's token for this call as a memo entry, or `null` to work alone. */
export async function tokenFromAgent(
  ctx: InstanceContext,
  opts: GetTokenOptions,
  minTtl: number,
): Promise<MemoEntry | null> {
  const spec = ctx.agentSpec;
  if (!spec || opts.token !== undefined || opts.clientId !== undefined || opts.clientSecret !== undefined)
    return null;
  if (hasOutsideCredentials(ctx.names, ctx.env)) return null;
  // A session kept only in this instance's memory is not the agent's to know.
  if (ctx.memoryBindings.size > 0) return null;
  const cfg = await ctx.config();
  if (cfg.agent.mode === 'off') return null;
  const fingerprint = agentFingerprint(spec, ctx.names, ctx.env);
  if (fingerprint === null) return alone(ctx, 'the config is not validated in its cache yet');
  const profile = opts.profile ?? ctx.explicit.profile ?? readEnvVar(ctx.env, ctx.names, 'PROFILE');
  const tenant = opts.tenant ?? ctx.explicit.tenant ?? readEnvVar(ctx.env, ctx.names, 'TENANT');
  const request: AgentRequest = {
    op: 'token',
    fingerprint,
    minTtl,
    ...(profile !== undefined ? { profile } : {}),
    ...(tenant !== undefined ? { tenant } : {}),
    ...(opts.resource !== undefined ? { resource: opts.resource } : {}),
    ...(opts.scopes !== undefined
      ? {
          scopes:
            typeof opts.scopes === 'string' ? opts.scopes.split(/\s+/).filter(Boolean) : [...opts.scopes],
        }
      : {}),
    ...(opts.forceRefresh ? { forceRefresh: true } : {}),
  };
  const result = await ask(ctx, request, { answerMs: TOKEN_ANSWER_MS });
  if (result.status === 'answered' && result.answer.ok && 'token' in result.answer) {
    ctx.log.debug('agent answered', { profile: result.answer.token.profile });
    return profileEntryFromResult(result.answer.token, result.answer.token.obtained_at);
  }
  if (result.status === 'none' && cfg.agent.mode === 'auto' && !startedOne) {
    startedOne = true;
    const { spawnAgent } = await import('./start.js');
    const spawned = spawnAgent(spec, ctx.names, ctx.env);
    ctx.log.debug('agent: none runs; started one for the next call (agent: auto)', {
      reason: spawned.ok ? 'started' : spawned.reason,
    });
  }
  return alone(ctx, describeCall(result));
}

/** The agent's unlocked identity of `file`, or `null`. */
export async function identityFromAgent(
  ctx: InstanceContext,
  file: string,
): Promise<UnlockedIdentity | null> {
  if (!ctx.agentSpec || (await ctx.config()).agent.mode === 'off') return null;
  const result = await ask(ctx, { op: 'identity', file });
  return identityOf(ctx, result);
}

/** Hands `passphrase` to the agent, which unlocks `file` (scrypt runs there) for unlock_timeout. */
export async function unlockInAgent(
  ctx: InstanceContext,
  file: string,
  passphrase: string,
): Promise<UnlockedIdentity | null> {
  if (!ctx.agentSpec || (await ctx.config()).agent.mode === 'off') return null;
  // scrypt takes seconds on a slow machine; the hello already proved an agent of this version.
  const result = await ask(ctx, { op: 'unlock', file, passphrase }, { answerMs: 60_000 });
  if (
    result.status === 'answered' &&
    !result.answer.ok &&
    result.answer.code === 'STORE_UNAVAILABLE' &&
    result.answer.message
  ) {
    // The passphrase does not open the file: the agent ran the same check the store would.
    throw new StoreUnavailable(result.answer.message);
  }
  return identityOf(ctx, result);
}

async function ask(
  ctx: InstanceContext,
  request: AgentRequest,
  bounds?: AgentCallBounds,
): Promise<AgentCallResult> {
  const spec = ctx.agentSpec;
  const location = spec ? agentLocation(spec, ctx.env) : null;
  if (!location) return { status: 'failed', reason: 'no socket path short enough' };
  return callAgent(location, request, bounds);
}

function identityOf(ctx: InstanceContext, result: AgentCallResult): UnlockedIdentity | null {
  if (result.status === 'answered' && result.answer.ok && 'identity' in result.answer) {
    const { identities, recipient, source } = result.answer.identity;
    return { identities: [...identities], recipient, source };
  }
  alone(ctx, describeCall(result));
  return null;
}

/** What each instance already said about working alone: a command asks several times. */
const said = new WeakMap<InstanceContext, Set<string>>();

function alone(ctx: InstanceContext, why: string): null {
  const seen = said.get(ctx) ?? new Set<string>();
  said.set(ctx, seen);
  if (!seen.has(why)) ctx.log.debug(`agent: ${why}; working alone`);
  seen.add(why);
  return null;
}
