/**
 * A tenant as a control plane's answer describes it (`/v1/tenants` entries, the exchange's
 * `tenant`), checked field by field before anything is stored: an id, printable words, and a
 * `server_url` that keyfob may send a token to (https, or http on loopback only).
 */
import { ControlPlaneError } from '../errors.js';
import { isRecord } from '../shape.js';
import type { Tenant } from '../tenant.js';
import { safeText } from '../text.js';
import { checkSecureUrl } from '../url.js';

/** Longest tenant id, name or region keyfob accepts. */
const MAX_WORD = 200;

/**
 * The tenant `value` describes, or a `ControlPlaneError` naming the field (and the tenant, once
 * its id is known) that the protocol does not allow.
 *
 * @param where "the tenants answer of <url>" / "the exchange answer of <url>", for messages.
 */
export function tenantFromAnswer(value: unknown, where: string): Tenant {
  if (!isRecord(value)) throw new ControlPlaneError(`${where} holds a tenant that is not an object`);
  const id = value.tenant_id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_WORD || hasControl(id)) {
    throw new ControlPlaneError(`${where} holds a tenant without a valid tenant_id`);
  }
  const label = `tenant ${id}`;
  const name = optionalWord(value.tenant_name, 'tenant_name', label, where);
  const region = optionalWord(value.region, 'region', label, where);
  const serverUrl = value.server_url;
  if (typeof serverUrl !== 'string') {
    throw new ControlPlaneError(`${where}: ${label} has no server_url`);
  }
  const checked = checkSecureUrl(serverUrl);
  if (!checked.ok) {
    // The URL is not repeated: it may be hostile text; its problem is described instead.
    throw new ControlPlaneError(`${where}: ${label} has a server_url that ${checked.message}`);
  }
  if (checked.url.search !== '') {
    throw new ControlPlaneError(`${where}: ${label} has a server_url with a query`);
  }
  return { id, name, region, server_url: checked.url.href.replace(/\/+$/, '') };
}

function optionalWord(value: unknown, field: string, label: string, where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_WORD || hasControl(value)) {
    throw new ControlPlaneError(
      `${where}: ${label} has a ${field} that is not a short printable string${typeof value === 'string' ? ` (${safeText(value, 40)})` : ''}`,
    );
  }
  return value;
}

function hasControl(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(text);
}
