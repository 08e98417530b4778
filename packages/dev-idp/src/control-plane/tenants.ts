/**
 * The seeded tenants of the control plane and who belongs to which.
 *
 * Membership is by email for people (so a Firebase user and a dev-idp user with the same email
 * are the same member) and by client id for machines. The `default` marker exists on one
 * membership only, so that keyfob's "the tenant marked default" rule is exercised.
 */

/** A tenant as the control plane describes it (the shape keyfob's sessions store). */
export interface Tenant {
  readonly tenant_id: string;
  readonly tenant_name: string;
  readonly region: string;
  readonly server_url: string;
}

/** A tenant as `GET /v1/tenants` lists it for one caller. */
export interface ListedTenant extends Tenant {
  readonly default?: true;
}

/** Who is asking: a person (by email) or a machine (by client id). */
export interface Subject {
  /** `sub` of the tokens minted for it: the user's sub, a Firebase uid, or a client id. */
  readonly sub: string;
  /** Lower-case email of a person; null for a machine. */
  readonly email: string | null;
}

/** The seeded tenants without their regional URLs. */
export const SEEDED_TENANTS: ReadonlyArray<Omit<Tenant, 'server_url'>> = Object.freeze([
  Object.freeze({ tenant_id: 'acme-eu', tenant_name: 'Acme Europe', region: 'eu-west-1' }),
  Object.freeze({ tenant_id: 'acme-us', tenant_name: 'Acme US', region: 'us-east-1' }),
]);

/** The regions of the seeded tenants, each served on its own listener. */
export const SEEDED_REGIONS: ReadonlyArray<string> = Object.freeze([
  ...new Set(SEEDED_TENANTS.map((tenant) => tenant.region)),
]);

interface Membership {
  readonly tenant_id: string;
  /** A person's email, or `client:<client id>` for a machine. */
  readonly member: string;
  readonly default?: true;
  /** May ask for `tenant:admin` in this tenant. */
  readonly admin?: true;
}

/** The machine client that is a member of both tenants (its subject is its client id). */
export const MACHINE_MEMBER_CLIENT_ID = 'keyfob-machine';

const MEMBERSHIPS: ReadonlyArray<Membership> = Object.freeze([
  { tenant_id: 'acme-eu', member: 'alice@example.com', admin: true },
  { tenant_id: 'acme-us', member: 'alice@example.com', admin: true },
  { tenant_id: 'acme-eu', member: 'bob@example.com' },
  { tenant_id: 'acme-eu', member: `client:${MACHINE_MEMBER_CLIENT_ID}` },
  { tenant_id: 'acme-us', member: `client:${MACHINE_MEMBER_CLIENT_ID}`, default: true },
]);

/** One line per membership, for `--help` and the README. */
export function membershipLines(): string[] {
  return MEMBERSHIPS.map((m) => {
    const who = m.member.startsWith('client:') ? `${m.member.slice(7)} (machine)` : m.member;
    const marks = [m.default ? 'default' : '', m.admin ? 'may ask for tenant:admin' : ''].filter(Boolean);
    return `${who} in ${m.tenant_id}${marks.length ? ` (${marks.join(', ')})` : ''}`;
  });
}

/** The `server_url` of a region whose listener has `origin`: a path prefix on purpose. */
export function regionServerUrl(origin: string, region: string): string {
  return `${origin}/${region}`;
}

/** The seeded tenants with the server URL of each region. */
export function seededTenants(regionUrls: Readonly<Record<string, string>>): ReadonlyArray<Tenant> {
  return SEEDED_TENANTS.map((tenant) => ({ ...tenant, server_url: regionUrls[tenant.region] ?? '' }));
}

function memberKey(subject: Subject): string {
  return subject.email === null ? `client:${subject.sub}` : subject.email.toLowerCase();
}

function membershipOf(subject: Subject, tenantId: string): Membership | undefined {
  const key = memberKey(subject);
  return MEMBERSHIPS.find((m) => m.member === key && m.tenant_id === tenantId);
}

/** The tenants `subject` belongs to, in seeded order. */
export function tenantsOf(subject: Subject, tenants: ReadonlyArray<Tenant>): ListedTenant[] {
  return tenants.flatMap((tenant) => {
    const membership = membershipOf(subject, tenant.tenant_id);
    if (!membership) return [];
    return [membership.default ? { ...tenant, default: true as const } : tenant];
  });
}

/** True when `subject` belongs to `tenantId`. */
export function isMember(subject: Subject, tenantId: string): boolean {
  return membershipOf(subject, tenantId) !== undefined;
}

/** True when `subject` may hold `tenant:admin` in `tenantId`. */
export function mayAdminister(subject: Subject, tenantId: string): boolean {
  return membershipOf(subject, tenantId)?.admin === true;
}
