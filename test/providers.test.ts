/**
 * `keyfob providers`: the configured providers with the flows their issuers offer and whether
 * a credential is stored; an unreachable issuer is reported on its line, never fatal.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DevIdp, startDevIdp } from '@keyfob/dev-idp';
import { makeHome, runCli, type TestHome } from './support/cli.js';
import { deadPort } from './support/issuer.js';
import { assertMatchesSchema } from './support/schemas.js';

let idp: DevIdp;
let home: TestHome;
let dead: number;

before(async () => {
  [idp, dead] = await Promise.all([startDevIdp(), deadPort()]);
  home = makeHome(
    idp,
    [
      '  gone:',
      '    type: oidc',
      `    issuer: http://127.0.0.1:${dead}`,
      '    client_id: nobody',
      '  manual:',
      '    type: oauth2',
      '    client_id: gh',
      '    authorization_endpoint: https://github.com/login/oauth/authorize',
      '    token_endpoint: https://github.com/login/oauth/access_token',
      'profiles:',
      '  ci:',
      '    provider: robot',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await idp?.close();
});

interface Described {
  name: string;
  type: string;
  issuer: string | null;
  default: boolean;
  flows: string[];
  reachable: boolean | null;
  error: string | null;
  credential_stored: boolean;
}

async function describeAll(): Promise<Record<string, Described>> {
  const result = await runCli(['providers', '--json'], { env: home.env });
  assert.equal(result.code, 0, result.stderr);
  const parsed = JSON.parse(result.stdout);
  assertMatchesSchema('providers', parsed);
  assert.equal(parsed.default_provider, 'dev');
  return Object.fromEntries(parsed.providers.map((p: Described) => [p.name, p]));
}

describe('keyfob providers', () => {
  it('flows come from discovery; an unreachable issuer is reported, not fatal', async () => {
    const all = await describeAll();
    assert.deepEqual(Object.keys(all), ['dev', 'gone', 'manual', 'robot']);
    assert.deepEqual(all.dev?.flows, ['browser', 'device']);
    assert.equal(all.dev?.reachable, true);
    assert.equal(all.dev?.default, true);
    assert.deepEqual(all.robot?.flows, ['client_credentials']);
    assert.equal(all.gone?.reachable, false);
    assert.match(all.gone?.error ?? '', /ECONNREFUSED/);
    assert.equal(all.manual?.reachable, null, 'nothing to discover for hand-given endpoints');
    assert.deepEqual(all.manual?.flows, ['browser']);
    assert.equal(all.manual?.issuer, null);
  });

  it('says which providers have a stored credential', async () => {
    assert.equal((await describeAll()).robot?.credential_stored, false);
    const token = await runCli(['token', '--profile', 'ci'], { env: home.env });
    assert.equal(token.code, 0, token.stderr);
    const all = await describeAll();
    assert.equal(all.robot?.credential_stored, true);
    assert.equal(all.dev?.credential_stored, false);
  });

  it('a table for people: default marked, the unreachable one explained below', async () => {
    const result = await runCli(['providers'], { env: home.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ {2}PROVIDER +TYPE +ISSUER +FLOWS +REACHABLE +STORED$/m);
    assert.match(result.stdout, /^\* dev +oidc +http:\/\/127\.0\.0\.1:\d+ +browser, device +yes +no$/m);
    assert.match(result.stdout, /^ {2}gone +oidc .* no +no$/m);
    assert.match(
      result.stdout,
      /^gone: discovering http:\/\/127\.0\.0\.1:\d+ failed: could not connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/m,
    );
    assert.ok(!result.stdout.includes('\u001b['), 'no colour when piped');
    assert.equal(result.stderr, '');
  });

  it('no providers: says where to add one', async () => {
    const empty = makeHome(idp);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${empty.home}/config.yaml`, 'providers: {}\n');
    const result = await runCli(['providers'], { env: empty.env });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /No providers configured/);
  });
});
