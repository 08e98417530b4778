/**
 * token_endpoint_auth_method and private_key do what they say: the built `keyfob` command logs
 * machines in at dev-idp with client_secret_basic, client_secret_post (a client that refuses a
 * Basic header) and private_key_jwt (a file or a `${VAR}`, PEM or JWK); a mismatched method or
 * a wrong secret gets the provider's refusal in words; combinations that cannot work are refused
 * by config validation.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, type TestHome } from './support/cli.js';

let idp: DevIdp;

before(async () => {
  idp = await startDevIdp();
});

after(async () => {
  await idp?.close();
});

/** A home with one more provider `m` (these YAML lines under it) and profile `p` using it. */
function homeWith(lines: string[], env: Record<string, string> = {}): TestHome {
  const home = makeHome(
    idp,
    ['  m:', ...lines.map((l) => `    ${l}`), 'profiles:', '  p:', '    provider: m'].join('\n'),
  );
  Object.assign(home.env, env);
  return home;
}

async function token(home: TestHome) {
  const result = await runCli(['token', '--profile', 'p'], { env: home.env });
  return { ...result, first: result.stderr.split('\n')[0] ?? '' };
}

/** The API accepts the token: it really is one dev-idp issued. */
async function apiAccepts(accessToken: string): Promise<boolean> {
  const response = await fetch(`${idp.api}/hello`, { headers: { authorization: `Bearer ${accessToken}` } });
  return response.status === 200;
}

function pemOf(jwk: Readonly<Record<string, string>>): string {
  return createPrivateKey({ key: { ...jwk }, format: 'jwk' })
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();
}

describe('each token endpoint auth method logs a machine in', () => {
  it('client_secret_post sends the secret in the body, where the post client wants it', async () => {
    const home = homeWith(
      [
        'type: client_credentials',
        `issuer: ${idp.issuer}`,
        `client_id: ${idp.clients.machinePost.client_id}`,
        'client_secret: ${POST_SECRET}',
        'token_endpoint_auth_method: client_secret_post',
        `api_base: ${idp.api}`,
        `resource: ${idp.api}`,
      ],
      { POST_SECRET: idp.clients.machinePost.client_secret },
    );
    const result = await token(home);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await apiAccepts(result.stdout.trim()));
  });

  it('client_secret_basic (the default) is refused by that client, in its words', async () => {
    const home = homeWith(
      [
        'type: client_credentials',
        `issuer: ${idp.issuer}`,
        `client_id: ${idp.clients.machinePost.client_id}`,
        'client_secret: ${POST_SECRET}',
      ],
      { POST_SECRET: idp.clients.machinePost.client_secret },
    );
    const result = await token(home);
    assert.equal(result.code, 1);
    assert.equal(
      result.first.split(';')[0],
      'keyfob: authenticating client keyfob-machine-post failed: the provider answered HTTP 401 invalid_client (this client must authenticate with client_secret_post (secret in the request body))',
    );
    assert.match(result.first, /token_endpoint_auth_method/);
    assert.ok(!result.stderr.includes(idp.clients.machinePost.client_secret));
  });

  it('private_key_jwt with a PEM key file', async () => {
    const home = homeWith([
      'type: client_credentials',
      `issuer: ${idp.issuer}`,
      `client_id: ${idp.clients.machineJwt.client_id}`,
      'private_key: machine-key.pem',
      `api_base: ${idp.api}`,
      `resource: ${idp.api}`,
    ]);
    const file = join(home.home, 'machine-key.pem');
    writeFileSync(file, pemOf(idp.clients.machineJwt.private_jwk), { mode: 0o600 });
    chmodSync(file, 0o600);
    const result = await token(home);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await apiAccepts(result.stdout.trim()));
  });

  it('private_key_jwt with a JWK from ${VAR}, method named', async () => {
    const home = homeWith(
      [
        'type: client_credentials',
        `issuer: ${idp.issuer}`,
        `client_id: ${idp.clients.machineJwt.client_id}`,
        'private_key: ${MACHINE_KEY}',
        'token_endpoint_auth_method: private_key_jwt',
        'private_key_alg: ES256',
      ],
      { MACHINE_KEY: JSON.stringify(idp.clients.machineJwt.private_jwk) },
    );
    const result = await token(home);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await apiAccepts(result.stdout.trim()));
  });

  it('a client registered for private_key_jwt refuses a secret: invalid_client in words', async () => {
    const home = homeWith(
      [
        'type: client_credentials',
        `issuer: ${idp.issuer}`,
        `client_id: ${idp.clients.machineJwt.client_id}`,
        'client_secret: ${SOME_SECRET}',
      ],
      { SOME_SECRET: 'not-how-this-client-authenticates' },
    );
    const result = await token(home);
    assert.equal(result.code, 1);
    assert.equal(
      result.first.split(';')[0],
      'keyfob: authenticating client keyfob-machine-jwt failed: the provider answered HTTP 401 invalid_client (client authentication failed)',
    );
    assert.ok(!result.stderr.includes('not-how-this-client-authenticates'));
  });

  it('a key the provider does not know: invalid_client, and the key is never printed', async () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    const home = homeWith(
      [
        'type: client_credentials',
        `issuer: ${idp.issuer}`,
        `client_id: ${idp.clients.machineJwt.client_id}`,
        'private_key: ${MACHINE_KEY}',
      ],
      { MACHINE_KEY: stranger.toString() },
    );
    const result = await token(home);
    assert.equal(result.code, 1);
    assert.match(
      result.first,
      /^keyfob: authenticating client keyfob-machine-jwt failed: the provider answered HTTP 401 invalid_client \(/,
    );
    assert.ok(!result.stderr.includes('PRIVATE KEY'));
  });

  it('a wrong secret says the provider refused the client', async () => {
    const home = makeHome(idp, 'profiles:\n  ci:\n    provider: robot\n');
    home.env.ROBOT_SECRET = 'wrong-secret-1234';
    const result = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(result.code, 1);
    const first = result.stderr.split('\n')[0] ?? '';
    assert.equal(
      first.split(';')[0],
      'keyfob: authenticating client keyfob-machine failed: the provider answered HTTP 401 invalid_client (client authentication failed)',
    );
    assert.match(first, /check client_id and the client secret/);
    assert.ok(!result.stderr.includes('wrong-secret-1234'));
  });
});

describe('person providers (oauth2, oidc) send what their settings say', () => {
  let recorder: Server;
  let base: string;
  const bodies: string[] = [];
  const authorizations: (string | undefined)[] = [];
  const paths: string[] = [];

  before(async () => {
    recorder = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        authorizations.push(req.headers.authorization);
        paths.push(req.url ?? '');
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"error":"invalid_client","error_description":"recorded"}');
      });
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => recorder.close(() => resolve()));
  });

  it('client_secret_post: the device request carries the secret in its body, not a Basic header', async () => {
    const home = homeWith(
      [
        'type: oauth2',
        `token_endpoint: ${base}/token`,
        `device_authorization_endpoint: ${base}/device`,
        'flows: [device]',
        'client_id: by-hand',
        'client_secret: ${HAND_SECRET}',
        'token_endpoint_auth_method: client_secret_post',
      ],
      { HAND_SECRET: 'hand-secret-77' },
    );
    const result = await runCli(['login', '--profile', 'p', '--device'], { env: home.env });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr.split('\n')[0]?.split(';')[0],
      'keyfob: starting the device login failed: the provider answered HTTP 400 invalid_client (recorded)',
    );
    const body = new URLSearchParams(bodies.at(-1));
    assert.equal(body.get('client_secret'), 'hand-secret-77');
    assert.equal(body.get('client_id'), 'by-hand');
    assert.equal(authorizations.at(-1), undefined);
    assert.ok(!result.stderr.includes('hand-secret-77'));
  });

  it('oidc: device_authorization_endpoint is used instead of the discovered one', async () => {
    const home = homeWith([
      'type: oidc',
      `issuer: ${idp.issuer}`,
      `client_id: ${idp.clients.cli.client_id}`,
      `device_authorization_endpoint: ${base}/device-override`,
    ]);
    const result = await runCli(['login', '--profile', 'p', '--device'], { env: home.env });
    assert.equal(result.code, 1);
    assert.equal(paths.at(-1), '/device-override');
    assert.equal(new URLSearchParams(bodies.at(-1)).get('client_id'), idp.clients.cli.client_id);
  });
});

describe('combinations that cannot authenticate are refused by validation', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'none on a machine',
      [
        'type: client_credentials',
        `issuer: ${'http://127.0.0.1:1'}`,
        'client_id: x',
        'token_endpoint_auth_method: none',
      ],
      /providers\.m\.token_endpoint_auth_method: none cannot log a machine in/,
    ],
    [
      'none with a secret',
      [
        'type: oidc',
        'issuer: http://127.0.0.1:1',
        'client_id: x',
        'client_secret: ${S}',
        'token_endpoint_auth_method: none',
      ],
      /providers\.m\.token_endpoint_auth_method: none sends no client secret/,
    ],
    [
      'client_secret_post without a secret on a person client',
      [
        'type: oidc',
        'issuer: http://127.0.0.1:1',
        'client_id: x',
        'token_endpoint_auth_method: client_secret_post',
      ],
      /providers\.m\.client_secret: required with token_endpoint_auth_method: client_secret_post/,
    ],
    [
      'private_key_jwt without a key',
      [
        'type: oauth2',
        'token_endpoint: http://127.0.0.1:1/t',
        'authorization_endpoint: http://127.0.0.1:1/a',
        'client_id: x',
        'token_endpoint_auth_method: private_key_jwt',
      ],
      /providers\.m\.private_key: required with token_endpoint_auth_method: private_key_jwt/,
    ],
  ];
  for (const [name, lines, expected] of cases) {
    it(name, async () => {
      const home = homeWith(lines, { S: 'a-secret' });
      const result = await runCli(['status'], { env: home.env });
      assert.equal(result.code, 1);
      assert.match(result.stderr.split('\n')[0] ?? '', expected);
    });
  }

  it('a private_key whose ${VAR} is unset: exit 2 naming the variable, other providers unharmed', async () => {
    const home = homeWith([
      'type: client_credentials',
      `issuer: ${idp.issuer}`,
      `client_id: ${idp.clients.machineJwt.client_id}`,
      'private_key: ${UNSET_MACHINE_KEY}',
    ]);
    const result = await token(home);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.first, /no private key is set; set UNSET_MACHINE_KEY in the environment/);
    // status reads the same config: it says "not logged in" (exit 2), not a config error.
    const status = await runCli(['status'], { env: home.env });
    assert.equal(status.code, 2, status.stderr);
    assert.match(status.stderr, /not logged in/);
    assert.doesNotMatch(status.stderr, /private key|UNSET_MACHINE_KEY/);
  });

  it('a private_key file that holds no key: named, its content never printed', async () => {
    const home = homeWith([
      'type: client_credentials',
      `issuer: ${idp.issuer}`,
      `client_id: ${idp.clients.machineJwt.client_id}`,
      'private_key: not-a-key.pem',
    ]);
    writeFileSync(join(home.home, 'not-a-key.pem'), 'hello-not-a-key-content\n', { mode: 0o600 });
    const result = await token(home);
    assert.equal(result.code, 1);
    assert.match(result.first, /^keyfob: providers\.m\.private_key: is not a private key \(PEM or a JWK/);
    assert.ok(!result.stderr.includes('hello-not-a-key-content'));
  });
});
