/**
 * Reading and editing what the file store keeps, for tests that need to look inside a session
 * (its refresh token, its expiry) or make it expire.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from './cli.js';

export function sessionFile(home: string): string {
  const dir = join(home, 'sessions');
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  assert.ok(file, `a session file in ${dir}`);
  return join(dir, file);
}

export interface StoredSession {
  refresh_token: string;
  id_token: string;
  bound_to: Record<string, unknown>;
  access_tokens: Record<string, { token: string; expires_at: string; obtained_at: string }>;
}

/** The file store keeps `{ schema_version, profile, session }`. */
export function readSession(home: string): StoredSession {
  return (JSON.parse(readFileSync(sessionFile(home), 'utf8')) as { session: StoredSession }).session;
}

export function writeSession(home: string, session: StoredSession): void {
  const file = sessionFile(home);
  const whole = JSON.parse(readFileSync(file, 'utf8')) as { session: StoredSession };
  writeFileSync(file, JSON.stringify({ ...whole, session }));
}

/** What keyfob keeps for a home: sessions and the state file (not its config cache). */
export function stored(home: string): Record<string, string> {
  return Object.fromEntries(Object.entries(filesUnder(home)).filter(([path]) => !path.includes('/cache/')));
}
