/**
 * The `Bearer` (or `DPoP`) challenge of a response's `WWW-Authenticate` header (RFC 6750 §3),
 * parsed by openid-client. It parses challenges only of requests it sends itself with
 * `Authorization`; a token placed in a cookie or another header (a provider's `credential`)
 * gets the same challenge from the server, and the same `insufficient_scope` and `scope` must
 * reach the caller's error. DESIGN.md: hand-written OAuth parsing is a defect, so the response
 * already received is handed to openid-client's protected-resource call through a fetch that
 * only returns it: nothing is sent.
 */
import * as client from 'openid-client';

const PARSE_ONLY = new URL('http://127.0.0.1/');

/**
 * The parameters of the first `Bearer` or `DPoP` challenge of `response`, or undefined when it
 * has none. Values are bounded to 1 KiB each; unknown parameters are kept. The response's body
 * is not read.
 */
export async function bearerChallengeOf(response: Response): Promise<Record<string, string> | undefined> {
  if (!response.headers.has('www-authenticate')) return undefined;
  const config = new client.Configuration({ issuer: 'urn:keyfob:challenge' }, 'keyfob');
  config[client.customFetch] = async () => response;
  client.allowInsecureRequests(config);
  let challenges: client.WWWAuthenticateChallenge[] = [];
  try {
    await client.fetchProtectedResource(config, 'parse-only', PARSE_ONLY, 'GET');
  } catch (error) {
    if (!(error instanceof client.WWWAuthenticateChallengeError)) return undefined;
    challenges = error.cause;
  }
  const challenge = challenges.find((c) => c.scheme === 'bearer' || c.scheme === 'dpop');
  if (!challenge) return undefined;
  return Object.fromEntries(
    Object.entries(challenge.parameters).map(([name, value]) => [name, String(value).slice(0, 1024)]),
  );
}
