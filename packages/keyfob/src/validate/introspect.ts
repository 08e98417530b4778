/**
 * An opaque token (not a JWS) carries nothing to verify locally: only its issuer can say
 * whether it is valid, through token introspection (RFC 7662), which needs a client's
 * credentials. Done with oauth4webapi; keyfob only reads the verdict.
 */
import * as oauth from 'oauth4webapi';
import type { IssuerMetadata } from '../discovery/metadata.js';
import { endpointUrl } from '../discovery/metadata.js';
import { boundedFetch } from '../http/guard.js';
import { toKeyfobError } from '../providers/oauth-client.js';
import { type CheckStep, failed, passed, shown, undecided, when } from './report.js';

/** The client that asks the issuer about the token. */
export interface IntrospectionClient {
  clientId: string;
  /** A confidential client's secret; absent or `null` for a public client. */
  clientSecret?: string | null;
  /** Overrides the discovery document's `introspection_endpoint`. */
  endpoint?: string;
}

export interface IntrospectionOutcome {
  steps: CheckStep[];
  /** The introspection response, as the report's claims. */
  claims: Record<string, unknown> | null;
}

/** Steps `introspection`, `issuer_audience` and `time` for an opaque token. */
export async function introspectToken(
  token: string,
  metadata: IssuerMetadata,
  client: IntrospectionClient | undefined,
  context: { fetch: typeof globalThis.fetch; audience: readonly string[] | null; now: Date },
): Promise<IntrospectionOutcome> {
  if (!client) {
    return {
      steps: [
        undecided(
          'introspection',
          "an opaque token can only be checked by its issuer's introspection endpoint, which needs a client's credentials: check it against a configured provider",
        ),
      ],
      claims: null,
    };
  }
  const endpoint = endpointUrl(
    client.endpoint ?? metadata.document.introspection_endpoint,
    'introspection_endpoint',
  );
  if (!endpoint.ok) {
    const why = endpoint.why.includes('has no')
      ? 'the issuer offers no introspection endpoint, so an opaque token cannot be checked'
      : endpoint.why;
    return { steps: [undecided('introspection', why)], claims: null };
  }
  const as: oauth.AuthorizationServer = { ...metadata.document, introspection_endpoint: endpoint.url.href };
  const auth = client.clientSecret ? oauth.ClientSecretBasic(client.clientSecret) : oauth.None();
  let result: oauth.IntrospectionResponse;
  try {
    const response = await oauth.introspectionRequest(as, { client_id: client.clientId }, auth, token, {
      signal: AbortSignal.timeout(10_000),
      [oauth.customFetch]: boundedFetch(context.fetch),
      ...(endpoint.url.protocol === 'http:' ? { [oauth.allowInsecureRequests]: true } : {}),
    });
    result = await oauth.processIntrospectionResponse(as, { client_id: client.clientId }, response);
  } catch (error) {
    const mapped = toKeyfobError(error, { action: 'introspecting the token' });
    return { steps: [undecided('introspection', mapped.message)], claims: null };
  }
  const claims: Record<string, unknown> = { ...result };
  if (!result.active) {
    return {
      steps: [
        failed(
          'introspection',
          'the issuer says the token is not active (expired, revoked, or not one of its tokens)',
        ),
      ],
      claims,
    };
  }
  const who = [
    typeof result.client_id === 'string' ? `client ${shown(result.client_id)}` : null,
    typeof result.scope === 'string' ? `scope ${shown(result.scope)}` : null,
  ].filter(Boolean);
  return {
    steps: [
      passed('introspection', `active at the issuer${who.length ? ` (${who.join(', ')})` : ''}`),
      identityStep(result, metadata.issuer, context.audience),
      passed(
        'time',
        typeof result.exp === 'number'
          ? `the issuer judged it current; expires ${when(result.exp, context.now)}`
          : 'the issuer judged it current; it names no expiry',
      ),
    ],
    claims,
  };
}

function identityStep(
  result: oauth.IntrospectionResponse,
  issuer: string,
  audience: readonly string[] | null,
): CheckStep {
  if (result.iss !== undefined && result.iss !== issuer) {
    return failed('issuer_audience', `iss is "${shown(result.iss)}", expected exactly "${shown(issuer)}"`);
  }
  const issText = result.iss === undefined ? 'issued by the issuer that answered' : `iss is ${shown(issuer)}`;
  if (!audience) return passed('issuer_audience', `${issText}; aud not checked (no audience given)`);
  const aud = typeof result.aud === 'string' ? [result.aud] : Array.isArray(result.aud) ? result.aud : null;
  const expected =
    audience.length === 1 ? shown(audience[0]) : `one of ${audience.map((a) => shown(a)).join(', ')}`;
  if (!aud)
    return failed('issuer_audience', `the introspection response names no audience; expected ${expected}`);
  if (!aud.some((a) => audience.includes(a))) {
    return failed('issuer_audience', `aud is ${shown(result.aud)}, which does not contain ${expected}`);
  }
  return passed('issuer_audience', `${issText}; aud contains ${expected}`);
}
