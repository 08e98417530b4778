/**
 * The words of a failed check, through the real openid-client functions against a real
 * dev-idp configuration: a forged or missing `state`, a callback whose `iss` names another
 * issuer, a discovery document that names another issuer. No error is built by hand.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import * as client from 'openid-client';
import { LoginFailed, OAuthError } from '../src/errors.js';
import { toKeyfobError } from '../src/providers/oauth-client.js';

let idp: DevIdp;
let config: client.Configuration;
let mixup: Server;
let mixupIssuer: string;

before(async () => {
  idp = await startDevIdp();
  config = await client.discovery(
    new URL(idp.issuer),
    idp.clients.cli.client_id,
    { token_endpoint_auth_method: 'none' },
    client.None(),
    { execute: [client.allowInsecureRequests] },
  );
  // A discovery document that names another issuer than the one it is served for.
  mixup = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ issuer: 'http://127.0.0.1:9/elsewhere', token_endpoint: 'http://127.0.0.1:9/token' }),
    );
  });
  await new Promise<void>((resolve) => mixup.listen(0, '127.0.0.1', resolve));
  mixupIssuer = `http://127.0.0.1:${(mixup.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise<void>((resolve) => mixup?.close(() => resolve()));
  await idp?.close();
});

/** What the browser login would say about this callback URL. */
async function callbackFailure(query: string, expectedState = 'state-this-login-sent'): Promise<Error> {
  const url = new URL(`http://127.0.0.1:1/callback?${query}`);
  const error = await client
    .authorizationCodeGrant(config, url, { pkceCodeVerifier: 'v'.repeat(43), expectedState })
    .then(
      () => assert.fail('the callback was accepted'),
      (e: unknown) => e,
    );
  return toKeyfobError(error, { action: 'the browser login' });
}

describe('a callback that fails a check says which', () => {
  it('a state other than the one sent: possible forged callback', async () => {
    const mapped = await callbackFailure(`code=abc&state=forged&iss=${encodeURIComponent(idp.issuer)}`);
    assert.ok(mapped instanceof OAuthError);
    assert.equal(
      mapped.message,
      "the browser login failed: the callback's state does not match the one this login sent (possible forged callback)",
    );
  });

  it('no state at all', async () => {
    const mapped = await callbackFailure(`code=abc&iss=${encodeURIComponent(idp.issuer)}`);
    assert.equal(
      mapped.message,
      'the browser login failed: the callback has no state parameter (possible forged callback)',
    );
  });

  it('an iss naming another issuer: both named, control characters replaced', async () => {
    const forged = 'http://127.0.0.1:9/evil\u001b[2J';
    const mapped = await callbackFailure(
      `code=abc&state=state-this-login-sent&iss=${encodeURIComponent(forged)}`,
    );
    assert.equal(
      mapped.message,
      `the browser login failed: the callback's iss parameter names http://127.0.0.1:9/evil [2J, expected ${idp.issuer} (possible mix-up or forged callback)`,
    );
  });

  it('an error from the provider keeps its error_description', async () => {
    const mapped = await callbackFailure(
      `error=access_denied&error_description=${encodeURIComponent('the user said no')}&state=state-this-login-sent&iss=${encodeURIComponent(idp.issuer)}`,
    );
    assert.ok(mapped instanceof LoginFailed);
    assert.match(
      mapped.message,
      /^the login was denied at the provider \(access_denied \(the user said no\)\)/,
    );
  });
});

describe('discovery', () => {
  it('a document naming another issuer: issuer mismatch, both named', async () => {
    const error = await client
      .discovery(new URL(mixupIssuer), 'x', {}, client.None(), { execute: [client.allowInsecureRequests] })
      .then(
        () => assert.fail('discovery accepted a mismatched issuer'),
        (e: unknown) => e,
      );
    const mapped = toKeyfobError(error, { action: `discovering ${mixupIssuer}` });
    assert.equal(
      mapped.message,
      `discovering ${mixupIssuer} failed: issuer mismatch: the discovery document names issuer http://127.0.0.1:9/elsewhere, expected ${mixupIssuer}/`,
    );
  });
});
