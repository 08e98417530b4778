/**
 * Firebase Auth emulator ID tokens as subject tokens. The emulator signs nothing (alg `none`),
 * so a token's claims prove nothing by themselves: each one is confirmed by the emulator's
 * `accounts:lookup`, and only for a `demo-*` project (which never talks to Google), on an
 * emulator on a loopback address.
 */
import type { Subject } from './tenants.js';

/** What `startDevIdp` takes to accept Firebase emulator tokens. */
export interface FirebaseSettings {
  readonly projectId: string;
  /** `host:port` of the Auth emulator, on a loopback address. */
  readonly emulatorHost: string;
}

/** The Firebase issuer prefix; a token with it is a Firebase token. */
export const FIREBASE_ISSUER_PREFIX = 'https://securetoken.google.com/';
const LOOKUP_LIMIT_BYTES = 64 * 1024;
const LOOKUP_TIMEOUT_MS = 5000;
const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\]):(\d{1,5})$/;

/**
 * Checks the settings; returns an error message naming what is wrong, or undefined when they
 * are usable.
 */
export function firebaseSettingsProblem(settings: FirebaseSettings): string | undefined {
  if (!/^demo-[a-z0-9-]{1,50}$/.test(settings.projectId)) {
    return `firebase.projectId must be a demo project (demo-…, lower-case letters, digits, dashes), got ${JSON.stringify(settings.projectId.slice(0, 60))}`;
  }
  const match = LOOPBACK_HOST.exec(settings.emulatorHost);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    return `firebase.emulatorHost must be host:port on a loopback address (e.g. 127.0.0.1:9099), got ${JSON.stringify(settings.emulatorHost.slice(0, 60))}`;
  }
  return undefined;
}

/** The unverified claims of a JWT, or undefined when it is not one. */
export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The person a Firebase emulator ID token names, confirmed by the emulator; a short reason
 * (for `error_description`) when it is refused.
 */
export async function firebaseSubject(
  settings: FirebaseSettings | null,
  token: string,
  claims: Record<string, unknown>,
): Promise<{ subject: Subject } | { reason: string }> {
  if (!settings) {
    return { reason: 'Firebase tokens are not accepted: dev-idp was started without --firebase-project' };
  }
  const { projectId } = settings;
  if (claims.iss !== `${FIREBASE_ISSUER_PREFIX}${projectId}` || claims.aud !== projectId) {
    return { reason: `the Firebase token is not for project ${projectId}` };
  }
  const now = Math.floor(Date.now() / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) return { reason: 'the Firebase token expired' };
  const user = await lookup(settings, token);
  if ('reason' in user) return user;
  return { subject: { sub: user.localId, email: user.email } };
}

async function lookup(
  settings: FirebaseSettings,
  token: string,
): Promise<{ localId: string; email: string } | { reason: string }> {
  let status: number;
  let text: string;
  try {
    const response = await fetch(
      `http://${settings.emulatorHost}/identitytoolkit.googleapis.com/v1/accounts:lookup?key=dev-idp`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ idToken: token }),
        redirect: 'manual',
        signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS),
      },
    );
    status = response.status;
    text = await boundedText(response);
  } catch {
    return { reason: `the Firebase Auth emulator at ${settings.emulatorHost} did not answer` };
  }
  let body: { users?: Array<{ localId?: unknown; email?: unknown; disabled?: unknown }> };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { reason: 'the Firebase Auth emulator answered something that is not JSON' };
  }
  const user = status === 200 && Array.isArray(body.users) ? body.users[0] : undefined;
  if (!user || typeof user.localId !== 'string') {
    return { reason: 'the Firebase Auth emulator does not know this token or its user' };
  }
  if (user.disabled === true) return { reason: 'the Firebase user is disabled' };
  // Members are found by email: a user without one belongs to no tenant and is refused here.
  if (typeof user.email !== 'string' || !user.email) return { reason: 'the Firebase user has no email' };
  return { localId: user.localId, email: user.email.toLowerCase() };
}

async function boundedText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > LOOKUP_LIMIT_BYTES) {
      await reader.cancel();
      throw new Error('lookup answer too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
