/**
 * The fast path of `keyfob token`, bundled alone as a small CommonJS file: a plain `token`
 * whose fresh token is already in the file store, or that the keyfob agent serves, is printed
 * without loading the rest of keyfob (see `lifecycle/cached-token.ts` and `agent/fast.ts` for
 * when they answer). `run` resolves `false` when the
 * full command must answer instead; `bin/keyfob.cjs` then loads it.
 */
import { writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { tokenFromAgentFast } from '@keyfob/core/agent-client';
import { cachedToken, lookAtConfig } from '@keyfob/core/cached-token';
import { appNames } from '@keyfob/core/config-names';
import { toJson } from './io.js';

/** `--profile NAME`, `--json` and `--min-ttl SECONDS` only; anything else is the full path's. */
function fastFlags(args: readonly string[]): { profile?: string; json: boolean; minTtl: number } | null {
  const flags: { profile?: string; json: boolean; minTtl: number } = { json: false, minTtl: 60 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--json') flags.json = true;
    else if (arg === '--profile' && args[i + 1] !== undefined) flags.profile = args[++i];
    else if (arg === '--min-ttl' && /^\d{1,9}$/.test(args[i + 1] ?? '')) flags.minTtl = Number(args[++i]);
    else return null;
  }
  return flags;
}

/**
 * Prints the token when the fast path can answer. Resolves `'printed'` when the whole token is
 * written to fd 1 (the process has nothing left to do), `'printing'` when a pipe that would
 * block took the rest as a stream, and `false` when the full command must answer instead.
 */
export async function run(
  argv: readonly string[] = process.argv.slice(3),
): Promise<'printed' | 'printing' | false> {
  const flags = fastFlags(argv);
  if (!flags) return false;
  const names = appNames('keyfob');
  const request = {
    names,
    env: process.env,
    homedir: homedir(),
    ...(flags.profile !== undefined ? { profile: flags.profile } : {}),
    minTtl: flags.minTtl,
  };
  // The file store on disk first (no socket at all), then the keyfob agent (any store); one
  // look at the config and its cache serves both.
  const look = lookAtConfig(names, request.env, request.homedir);
  const token =
    cachedToken({ ...request, look, now: new Date() }) ?? (await tokenFromAgentFast({ ...request, look }));
  if (!token) return false;
  const { access_token, token_type, expires_at, scopes, profile, tenant } = token;
  const text = flags.json
    ? toJson({ access_token, token_type, expires_at, scopes, profile, tenant: tenantJson(tenant) })
    : `${access_token}\n`;
  return write(text);
}

/**
 * Writes straight to fd 1: creating `process.stdout` loads the stream and net modules, which
 * would cost this path more than everything else it does. A pipe that would block falls back to
 * the stream.
 */
/** `{id, name, region, server_url}` or `null`, as `token --json` prints it. */
function tenantJson(
  tenant: { id: string; name: string | null; region: string | null; server_url: string | null } | null,
) {
  return tenant
    ? { id: tenant.id, name: tenant.name, region: tenant.region, server_url: tenant.server_url }
    : null;
}

function write(text: string): 'printed' | 'printing' {
  const bytes = Buffer.from(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(1, bytes, offset);
    return 'printed';
  } catch {
    process.stdout.write(bytes.subarray(offset));
    return 'printing';
  }
}
