/**
 * The keyfob agent's settings in config.yaml: `agent` (auto | manual | off), and the durations
 * `agent_idle_timeout` and `unlock_timeout` (seconds, or a number with `s`, `m` or `h`).
 * Split from `validate.ts`, which holds the rest of the top level.
 */
import { AGENT_MODES, type AgentConfig, DEFAULT_AGENT_CONFIG } from './schema.js';
import { type Context, describe, fail, type Mapping, optionalEnum, own, quote } from './validate-fields.js';

/** The top-level keys this file validates. */
export const AGENT_KEYS = ['agent', 'agent_idle_timeout', 'unlock_timeout'] as const;

// A week: an agent is for a working session, not a service; past it, `agent start` again.
const MAX_SECONDS = 7 * 24 * 3600;

/** @throws InvalidConfig naming the key and what it accepts. */
export function validateAgent(ctx: Context, raw: Mapping): AgentConfig {
  return {
    mode: optionalEnum(ctx, raw, [], 'agent', AGENT_MODES) ?? DEFAULT_AGENT_CONFIG.mode,
    idle_timeout: duration(ctx, raw, 'agent_idle_timeout') ?? DEFAULT_AGENT_CONFIG.idle_timeout,
    unlock_timeout: duration(ctx, raw, 'unlock_timeout') ?? DEFAULT_AGENT_CONFIG.unlock_timeout,
  };
}

/** Seconds from `900`, `"900"`, `"90s"`, `"15m"` or `"1h"`. */
function duration(ctx: Context, raw: Mapping, key: string): number | undefined {
  const value = own(raw, key);
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'number' ? String(value) : value;
  const match = typeof text === 'string' ? /^(\d{1,9})(s|m|h)?$/.exec(text.trim()) : null;
  if (!match) {
    const shown = typeof value === 'string' ? quote(value) : describe(value);
    fail(ctx, [key], `must be a duration such as 900, 90s, 15m or 1h, not ${shown}`);
  }
  const seconds = Number(match[1]) * ({ s: 1, m: 60, h: 3600 }[match[2] ?? 's'] ?? 1);
  if (seconds < 1 || seconds > MAX_SECONDS) {
    fail(ctx, [key], `must be from 1 second to 7 days, not ${text}`);
  }
  return seconds;
}
