/**
 * The keyfob agent's face for the CLI and integrators (`keyfob agent start|stop|status`): each
 * function works on an instance `createKeyfob` made, for its home and config. The rest of the
 * agent is used from inside the library (`ask.ts`) and by the agent's process (`daemon.ts`).
 */
import { InvalidInput } from '../errors.js';
import type { InstanceContext } from '../instance/context.js';
import { internalsOf } from '../instance/internals.js';
import type { Keyfob } from '../instance/types.js';
import type { AgentStatusInfo } from './protocol.js';
import { agentLocation, checkAgentDir } from './socket.js';
import type { AgentStarted } from './start.js';

export type { AgentStatusInfo } from './protocol.js';
export type { AgentStarted } from './start.js';

/** `agentStatus`: the agent that answers, or why none does. */
export type AgentStatusReport =
  | { running: true; status: AgentStatusInfo }
  | { running: false; socket: string | null; reason: string; refused?: { reason: string; fix: string } };

function contextOf(kf: Keyfob): InstanceContext {
  const ctx = internalsOf(kf)?.ctx;
  if (!ctx) throw new InvalidInput('expected an instance made by createKeyfob()');
  if (!ctx.agentSpec) {
    throw new InvalidInput(
      'this instance works without an agent: configuration, a store, a credentials file, a control plane, a fetch or a clock given in code, or explicit credentials',
    );
  }
  return ctx;
}

/**
 * Starts the agent of this instance's home and config (validated first), unless one answers.
 * @throws InvalidConfig when the config does not validate; InsecurePermissions when the
 *   agent's directory is refused; InvalidInput when it did not come up.
 */
export async function startAgent(kf: Keyfob): Promise<AgentStarted> {
  const ctx = contextOf(kf);
  // Validating writes the parsed-config cache that names the variables the agent gets.
  await ctx.config();
  const { startAgent: start } = await import('./start.js');
  return start(ctx.agentSpec as NonNullable<InstanceContext['agentSpec']>, ctx.names, ctx.env);
}

/** Stops the agent; @returns its pid, or `null` when none ran. */
export async function stopAgent(kf: Keyfob): Promise<number | null> {
  const ctx = contextOf(kf);
  const { stopAgent: stop } = await import('./start.js');
  return stop(ctx.agentSpec as NonNullable<InstanceContext['agentSpec']>, ctx.env);
}

/** What the agent holds (never a secret), or why none answers. */
export async function agentStatus(kf: Keyfob): Promise<AgentStatusReport> {
  const ctx = contextOf(kf);
  const spec = ctx.agentSpec as NonNullable<InstanceContext['agentSpec']>;
  const location = agentLocation(spec, ctx.env);
  if (!location)
    return { running: false, socket: null, reason: 'no directory gives a socket path short enough' };
  const dir = checkAgentDir(location.dir);
  if (dir.status === 'refused') {
    return {
      running: false,
      socket: location.socket,
      reason: dir.reason,
      refused: { reason: dir.reason, fix: dir.fix },
    };
  }
  const { statusOf, statusInfo } = await import('./start.js');
  const { describeCall } = await import('./client.js');
  const result = await statusOf(spec, ctx.env);
  const info = statusInfo(result);
  return info
    ? { running: true, status: info }
    : { running: false, socket: location.socket, reason: describeCall(result) };
}
