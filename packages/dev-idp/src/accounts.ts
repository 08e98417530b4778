/**
 * The seeded end-users and how the provider finds them.
 *
 * Passwords are documented dev values, not secrets: they are printed in `--help` and the README
 * so that a person can log in by hand.
 */
import { timingSafeEqual } from 'node:crypto';
import type { DevIdpUser } from './contract.js';

/** The two seeded users; their `sub` values are stable across restarts. */
export const USERS: ReadonlyArray<DevIdpUser> = Object.freeze([
  Object.freeze({
    email: 'alice@example.com',
    password: 'alice-password-1',
    sub: 'user-alice',
    name: 'Alice Example',
  }),
  Object.freeze({
    email: 'bob@example.com',
    password: 'bob-password-2',
    sub: 'user-bob',
    name: 'Bob Example',
  }),
]);

/** The account object oidc-provider's `findAccount` must return. */
export interface ProviderAccount {
  accountId: string;
  claims(): Promise<Record<string, unknown>>;
}

/** Finds a seeded user by subject. */
export function userBySub(sub: string): DevIdpUser | undefined {
  return USERS.find((user) => user.sub === sub);
}

/**
 * Checks an email and password; returns the user or undefined.
 *
 * Email matching ignores case and surrounding spaces as a login form would; the password
 * comparison is constant-time even though the values are public, so the page behaves like a
 * real one.
 */
export function checkPassword(email: string, password: string): DevIdpUser | undefined {
  const wanted = email.trim().toLowerCase();
  const user = USERS.find((candidate) => candidate.email === wanted);
  if (!user) return undefined;
  const given = Buffer.from(password, 'utf8');
  const expected = Buffer.from(user.password, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  return user;
}

/**
 * oidc-provider's `findAccount`: claims for the standard `profile` and `email` scopes; the
 * provider filters them by what the grant allows.
 */
export async function findAccount(_ctx: unknown, sub: string): Promise<ProviderAccount | undefined> {
  const user = userBySub(sub);
  if (!user) return undefined;
  return {
    accountId: user.sub,
    async claims() {
      return { sub: user.sub, name: user.name, email: user.email, email_verified: true };
    },
  };
}
