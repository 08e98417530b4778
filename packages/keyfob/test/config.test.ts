// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests are about literal ${VAR} text in configs
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatKeyPath, interpolate } from '../src/config/interpolate.js';
import { configFromObject, loadConfig, MAX_CONFIG_BYTES } from '../src/config/load.js';
import { appNames, envVar, readEnvVar } from '../src/config/names.js';
import { resolveConfigPath, resolveHome } from '../src/config/paths.js';
import type { KeyfobConfig } from '../src/config/schema.js';
import { parseConfig } from '../src/config/yaml.js';
import { InsecureUrl, InvalidConfig, InvalidInput } from '../src/errors.js';

/** The example of DESIGN.md, verbatim. */
const DESIGN_EXAMPLE = `default_provider: corporate
token_storage: keychain        # keychain | encrypted-file | file | memory
providers:
  corporate:
    type: oidc
    issuer: https://sso.example.com/realms/main
    client_id: my-cli
    scopes: [openid, profile, email, offline_access]
    api_base: https://api.example.com
  robots:
    type: client_credentials
    issuer: https://sso.example.com/realms/main
    client_id: ci-runner
    client_secret: \${ROBOT_SECRET}     # a reference; literal secrets are refused
profiles:
  ci:
    provider: robots
`;

const SECRET = 'hunter2-very-secret-value';
const ENV = { ROBOT_SECRET: SECRET };

let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'keyfob-config-test-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes `content` to a fresh config file, runs `fn`, then checks the file was not touched. */
async function withFile<T>(content: string | Buffer, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = join(root, `case-${++counter}`);
  await mkdir(dir);
  const file = join(dir, 'config.yaml');
  await writeFile(file, content);
  const bytesBefore = await readFile(file);
  const statBefore = await stat(file);
  const result = await fn(file);
  const statAfter = await stat(file);
  assert.ok((await readFile(file)).equals(bytesBefore), 'the config file must not change');
  assert.equal(statAfter.mtimeMs, statBefore.mtimeMs, 'the config file must not be rewritten');
  assert.equal(statAfter.mode, statBefore.mode);
  return result;
}

function load(file: string, env: Record<string, string> = ENV): Promise<KeyfobConfig> {
  return loadConfig({ path: file, explicit: true, env });
}

interface Expected {
  /** The key path the first line must name right after the file. */
  key?: string;
  /** Each must appear in the message. */
  includes?: (string | RegExp)[];
  /** None may appear in the message (secrets). */
  excludes?: string[];
}

/** Loads `content` from a file and checks the InvalidConfig error and that the file is unchanged. */
async function expectInvalid(
  content: string | Buffer,
  expected: Expected,
  env: Record<string, string> = ENV,
): Promise<InvalidConfig> {
  return withFile(content, async (file) => {
    const error = await load(file, env).then(
      () => assert.fail('expected InvalidConfig'),
      (e: unknown) => e,
    );
    checkError(error, file, expected);
    return error as InvalidConfig;
  });
}

function checkError(error: unknown, file: string, expected: Expected): asserts error is InvalidConfig {
  assert.ok(error instanceof InvalidConfig, `expected InvalidConfig, got ${String(error)}`);
  assert.equal(error.code, 'INVALID_CONFIG');
  assert.equal(error.exitCode, 1);
  assert.equal(error.file, file);
  const firstLine = error.message.split('\n')[0] ?? '';
  assert.ok(firstLine.startsWith(`${file}: `), `first line names the file: ${firstLine}`);
  if (expected.key !== undefined) {
    assert.equal(error.key, expected.key);
    assert.ok(firstLine.startsWith(`${file}: ${expected.key}: `), `first line names the key: ${firstLine}`);
  }
  for (const part of expected.includes ?? []) {
    if (typeof part === 'string') assert.ok(error.message.includes(part), `"${part}" in: ${error.message}`);
    else assert.match(error.message, part);
  }
  for (const part of expected.excludes ?? []) {
    assert.ok(!error.message.includes(part), `"${part}" must not be in: ${error.message}`);
    assert.ok(!String(error.stack).includes(part), `"${part}" must not be in the stack`);
  }
}

function provider(yaml: string): string {
  return `providers:\n  p:\n${yaml
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')}\n`;
}

describe('loading the DESIGN.md example', () => {
  test('loads with ROBOT_SECRET set', async () => {
    await withFile(DESIGN_EXAMPLE, async (file) => {
      const config = await load(file);
      assert.equal(config.file, file);
      assert.equal(config.default_provider, 'corporate');
      assert.equal(config.token_storage, 'keychain');
      assert.deepEqual(Object.keys(config.providers), ['corporate', 'robots']);

      const corporate = config.providers.corporate;
      assert.ok(corporate?.type === 'oidc');
      assert.equal(corporate.name, 'corporate');
      assert.equal(corporate.issuer, 'https://sso.example.com/realms/main');
      assert.equal(corporate.client_id, 'my-cli');
      assert.deepEqual(corporate.scopes, ['email', 'offline_access', 'openid', 'profile']);
      assert.equal(corporate.api_base, 'https://api.example.com');
      assert.equal(corporate.resource, undefined, 'resource is never inferred from api_base');
      assert.deepEqual(corporate.allowed_origins, ['https://api.example.com']);
      assert.deepEqual({ ...corporate.authorization_params }, {});
      assert.equal('client_secret' in corporate, false);

      const robots = config.providers.robots;
      assert.ok(robots?.type === 'client_credentials');
      assert.equal(robots.client_id, 'ci-runner');
      assert.equal(robots.client_secret, SECRET);
      assert.equal(robots.token_endpoint_auth_method, 'client_secret_basic');
      assert.deepEqual(robots.scopes, []);
      assert.deepEqual(robots.allowed_origins, []);

      assert.deepEqual({ ...config.profiles }, { ci: { provider: 'robots', tenant: null, client_id: null } });
    });
  });

  test('without ROBOT_SECRET the other providers still load; robots records the missing variable', () => {
    const config = parseConfig(DESIGN_EXAMPLE, { file: '/cfg/config.yaml', env: {} });
    assert.equal(config.providers.corporate?.type, 'oidc');
    const robots = config.providers.robots;
    assert.ok(robots?.type === 'client_credentials');
    assert.equal(robots.client_secret, undefined);
    assert.deepEqual(robots.unresolved_secrets, { client_secret: 'ROBOT_SECRET' });
  });

  test('an unset variable outside a secret key still fails the config, naming it and the key', async () => {
    await expectInvalid(
      DESIGN_EXAMPLE.replace('issuer: https://sso.example.com/realms/main', 'issuer: ${SSO_ISSUER}'),
      { key: 'providers.corporate.issuer', includes: ['SSO_ISSUER', 'not set'] },
      { ROBOT_SECRET: 'x' },
    );
  });

  test('an oidc provider without scopes gets the default ones', () => {
    const config = parseConfig(provider('type: oidc\nissuer: https://sso.example.com\nclient_id: c'), {
      file: '/cfg/config.yaml',
      env: {},
    });
    assert.deepEqual(config.providers.p?.scopes, ['email', 'offline_access', 'openid', 'profile']);
  });
});

describe('YAML errors', () => {
  test('bad YAML names the file, line and column', async () => {
    await expectInvalid('providers:\n  corporate: type: oidc\n', {
      includes: [/: line 2, column \d+: Nested mappings are not allowed/],
    });
  });

  test('an unterminated quote', async () => {
    await expectInvalid("default_provider: 'corp\n", { includes: [/line \d+, column \d+/] });
  });

  test('duplicate keys are refused, naming the key path and the line', async () => {
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nissuer: https://b.example.com\nclient_id: c'),
      {
        key: 'providers.p.issuer',
        includes: ['duplicate key', 'line 5, column 5'],
      },
    );
    await expectInvalid('profiles: {}\nprofiles: {}\n', { key: 'profiles', includes: ['duplicate key'] });
  });

  test('a second document is refused', async () => {
    await expectInvalid('profiles: {}\n---\nprofiles: {}\n', {
      includes: ['line 2, column 1', 'second YAML document'],
    });
  });

  test('custom and unknown tags are refused', async () => {
    await expectInvalid('default_provider: !!js/function "x"\n', { includes: ['line 1', 'Unresolved tag'] });
    await expectInvalid('default_provider: !env HOME\n', { includes: ['Unresolved tag: !env'] });
  });

  test('merge keys are not special', async () => {
    await expectInvalid('base: &b {type: oidc}\nproviders:\n  p:\n    <<: *b\n', {
      key: 'base',
      includes: ['unknown setting'],
    });
    await expectInvalid(provider('<<: {type: oidc}'), { key: 'providers.p.type', includes: ['required'] });
  });

  test('a billion-laughs alias bomb is refused fast', async () => {
    let bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i < 10; i++) {
      const previous = String.fromCharCode(96 + i);
      const current = String.fromCharCode(97 + i);
      bomb += `${current}: &${current} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
    }
    const started = performance.now();
    await expectInvalid(bomb, { includes: ['too many aliases'] });
    assert.ok(performance.now() - started < 1000, 'refused in well under a second');
  });

  test('deep nesting is refused fast, before the parser can overflow the stack', async () => {
    for (const content of [
      `a: ${'['.repeat(200_000)}`,
      `${'- '.repeat(200_000)}x\n`,
      Array.from({ length: 100 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n'),
    ]) {
      const started = performance.now();
      await expectInvalid(content, { includes: ['nested deeper than'] });
      assert.ok(performance.now() - started < 1000);
    }
  });

  test('a mapping with tens of thousands of keys is refused fast', async () => {
    const content = Array.from({ length: 60_000 }, (_, i) => `k${i}: v`).join('\n');
    const started = performance.now();
    await expectInvalid(content, { includes: ['more than 10000 values'] });
    assert.ok(performance.now() - started < 2000);
  });

  test('a 2 MB file is refused without being parsed', async () => {
    const content = `# ${'x'.repeat(2 * 1024 * 1024)}\n`;
    assert.ok(content.length > MAX_CONFIG_BYTES);
    await expectInvalid(content, { includes: ['larger than', '1 MiB'] });
  });

  test('text that is not UTF-8 is refused', async () => {
    await expectInvalid(Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]), { includes: ['not valid UTF-8'] });
  });
});

describe('the top level', () => {
  test('a list is refused', async () => {
    await expectInvalid('- providers\n- profiles\n', {
      includes: ['top level must be a mapping', 'not a list'],
    });
  });

  test('a scalar is refused', async () => {
    await expectInvalid('just some text\n', { includes: ['top level must be a mapping', 'not a string'] });
  });

  test('an empty file, or only comments, is an empty configuration', async () => {
    for (const content of ['', '# nothing here\n', '---\n', '~\n']) {
      await withFile(content, async (file) => {
        const config = await load(file);
        assert.equal(config.file, file);
        assert.equal(config.default_provider, null);
        assert.equal(config.token_storage, null);
        assert.deepEqual(Object.keys(config.providers), []);
        assert.deepEqual(Object.keys(config.profiles), []);
      });
    }
  });

  test('an unknown top-level key is named, with the closest known key', async () => {
    await expectInvalid('tokens_storage: file\n', {
      key: 'tokens_storage',
      includes: [
        'unknown setting',
        'did you mean token_storage?',
        'default_provider, token_storage, providers, profiles',
      ],
    });
  });

  test('default_provider must name a configured provider', async () => {
    await expectInvalid(DESIGN_EXAMPLE.replace('default_provider: corporate', 'default_provider: corprate'), {
      key: 'default_provider',
      includes: ['"corprate"', 'not configured', 'did you mean corporate?', 'corporate, robots'],
    });
    await expectInvalid('default_provider: x\n', {
      key: 'default_provider',
      includes: ['no providers are configured'],
    });
  });

  test('token_storage must be a store kind', async () => {
    await expectInvalid('token_storage: keychian\n', {
      key: 'token_storage',
      includes: ['keychain, encrypted-file, file, memory', 'did you mean keychain?'],
    });
  });

  test('providers and profiles must be mappings; empty ones are fine', async () => {
    await expectInvalid('providers: [a, b]\n', {
      key: 'providers',
      includes: ['must be a mapping, not a list'],
    });
    await withFile('providers:\nprofiles:\n', async (file) => {
      const config = await load(file);
      assert.deepEqual(Object.keys(config.providers), []);
    });
  });
});

describe('providers', () => {
  test('an unknown type is refused, listing the valid types', async () => {
    await expectInvalid(DESIGN_EXAMPLE.replace('type: oidc', 'type: oidcc'), {
      key: 'providers.corporate.type',
      includes: [
        'unknown provider type "oidcc"',
        'did you mean oidc?',
        'oidc, oauth2, client_credentials, password, firebase, exchange, assume_user, static',
      ],
    });
  });

  test('a missing type is refused', async () => {
    await expectInvalid(provider('issuer: https://sso.example.com'), {
      key: 'providers.p.type',
      includes: ['required'],
    });
  });

  test('a missing issuer is refused with the exact message', async () => {
    const error = await expectInvalid(
      DESIGN_EXAMPLE.replace(
        '    issuer: https://sso.example.com/realms/main\n    client_id: my-cli',
        '    client_id: my-cli',
      ),
      { key: 'providers.corporate.issuer' },
    );
    assert.equal(error.message, `${error.file}: providers.corporate.issuer: required for type oidc`);
  });

  test('required fields per type', async () => {
    const cases: [string, string][] = [
      ['type: oidc\nissuer: https://a.example.com', 'client_id'],
      ['type: oauth2\nclient_id: c\nauthorization_endpoint: https://a.example.com/auth', 'token_endpoint'],
      ['type: oauth2\nclient_id: c\ntoken_endpoint: https://a.example.com/token', 'authorization_endpoint'],
      ['type: client_credentials\nclient_id: c', 'issuer'],
      ['type: client_credentials\ntoken_endpoint: https://a.example.com/token', 'client_id'],
      ['type: password\nclient_id: c', 'issuer'],
      ['type: firebase\nproject_id: x', 'api_key'],
      ['type: exchange\ncontrol_plane: https://cp.example.com', 'login'],
      ['type: exchange\nlogin: q', 'control_plane'],
      ['type: assume_user\nadmin_api_key: ${ADMIN}', 'control_plane'],
    ];
    for (const [yaml, key] of cases) {
      await expectInvalid(
        provider(yaml),
        { key: `providers.p.${key}`, includes: ['required for type'] },
        { ADMIN: 'k' },
      );
    }
  });

  test('a password provider takes the client authentication keys, and refuses authorization_params', async () => {
    const config = parseConfig(
      provider(
        'type: password\ntoken_endpoint: https://a.example.com/token\nclient_id: c\nclient_secret: ${SECRET}\ntoken_endpoint_auth_method: client_secret_post',
      ),
      { file: '/cfg/config.yaml', env: { SECRET: 's' } },
    );
    const pw = config.providers.p;
    assert.ok(pw?.type === 'password');
    assert.equal(pw.token_endpoint_auth_method, 'client_secret_post');
    assert.equal(pw.client_secret, 's');
    await expectInvalid(
      provider(
        'type: password\nissuer: https://a.example.com\nclient_id: c\nauthorization_params: {prompt: login}',
      ),
      { key: 'providers.p.authorization_params', includes: ['no authorization request'] },
    );
  });

  test('each type loads with its fields', () => {
    const config = parseConfig(
      `providers:
  gh:
    type: oauth2
    client_id: Iv1.abc
    authorization_endpoint: https://github.com/login/oauth/authorize
    token_endpoint: https://github.com/login/oauth/access_token
    device_authorization_endpoint: https://github.com/login/device/code
    flows: device, browser
    scopes: "repo read:org"
    redirect_port: \${PORT}
    authorization_params: {prompt: select_account, max_age: 300, allow_signup: false}
  svc:
    type: client_credentials
    token_endpoint: https://sso.example.com/token
    client_id: svc
    private_key: keys/svc.pem
    private_key_alg: ES256
  pw:
    type: password
    issuer: http://127.0.0.1:9000
    client_id: c
  fb:
    type: firebase
    api_key: AIzaSyExample
    emulator_host: 127.0.0.1:9099
  tenant:
    type: exchange
    login: fb
    token_endpoint: https://cp.example.com/token
    control_plane: https://cp.example.com/cp/
    subject_token: id_token
    tenant: acme-eu
  admin:
    type: assume_user
    control_plane: http://[::1]:8081
    admin_api_key: \${ADMIN_KEY}
  ci:
    type: static
    token_file: ../token.txt
    allowed_origins: [https://api.example.com, "http://localhost:8080"]
`,
      { file: '/etc/acme/config.yaml', env: { PORT: '8765', ADMIN_KEY: 'adm' } },
    );
    const { gh, svc, pw, fb, tenant, admin, ci } = config.providers;
    assert.ok(gh?.type === 'oauth2');
    assert.deepEqual(gh.flows, ['device', 'browser']);
    assert.deepEqual(gh.scopes, ['read:org', 'repo']);
    assert.equal(gh.redirect_port, 8765);
    assert.deepEqual(
      { ...gh.authorization_params },
      { prompt: 'select_account', max_age: '300', allow_signup: 'false' },
    );
    assert.ok(svc?.type === 'client_credentials');
    assert.deepEqual(svc.private_key, { kind: 'file', path: '/etc/acme/keys/svc.pem' });
    assert.equal(svc.token_endpoint_auth_method, 'private_key_jwt');
    assert.equal(svc.private_key_alg, 'ES256');
    assert.ok(pw?.type === 'password');
    assert.equal(pw.issuer, 'http://127.0.0.1:9000');
    assert.ok(fb?.type === 'firebase');
    assert.equal(fb.emulator_host, '127.0.0.1:9099');
    assert.ok(tenant?.type === 'exchange');
    assert.equal(tenant.login, 'fb');
    assert.equal(tenant.control_plane, 'https://cp.example.com/cp/');
    assert.equal(tenant.token_endpoint, 'https://cp.example.com/token');
    assert.equal(tenant.subject_token, 'id_token');
    assert.equal(tenant.tenant, 'acme-eu');
    assert.ok(admin?.type === 'assume_user');
    assert.equal(admin.admin_api_key, 'adm');
    assert.ok(ci?.type === 'static');
    assert.equal(ci.token_file, '/etc/token.txt');
    assert.deepEqual(ci.allowed_origins, ['https://api.example.com', 'http://localhost:8080']);
  });

  test('names must match [A-Za-z0-9._-]{1,64}', async () => {
    await expectInvalid('providers:\n  "my idp":\n    type: static\n', {
      key: 'providers["my idp"]',
      includes: ['provider name must be'],
    });
    await expectInvalid(`providers:\n  ${'a'.repeat(65)}:\n    type: static\n`, {
      includes: ['provider name must be'],
    });
    await expectInvalid('profiles:\n  "a/b": {}\n', {
      key: 'profiles["a/b"]',
      includes: ['profile name must be'],
    });
  });

  test('an unknown provider setting is named, with the closest one', async () => {
    await expectInvalid(provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nclientid: d'), {
      key: 'providers.p.clientid',
      includes: ['unknown setting for type oidc', 'did you mean client_id?'],
    });
    // A setting of another type is unknown here too.
    await expectInvalid(provider('type: static\napi_key: x'), {
      key: 'providers.p.api_key',
      includes: ['unknown setting for type static'],
    });
  });

  test('a number where a string is needed names the key and the expected type', async () => {
    await expectInvalid(DESIGN_EXAMPLE.replace('client_id: my-cli', 'client_id: 12345'), {
      key: 'providers.corporate.client_id',
      includes: ['must be a string, not a number', 'quotes'],
    });
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nredirect_port: eighty'),
      {
        key: 'providers.p.redirect_port',
        includes: ['port number'],
      },
    );
    await expectInvalid(provider('type: oidc\nissuer: [https://a.example.com]\nclient_id: c'), {
      key: 'providers.p.issuer',
      includes: ['must be a string, not a list'],
    });
    await expectInvalid('profiles:\n  work:\n    tenant: 42\n', {
      key: 'profiles.work.tenant',
      includes: ['must be a string, not a number'],
    });
  });

  test('scopes accept a list or a comma/space string, and refuse other types', async () => {
    const config = parseConfig(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nscopes: "openid, email profile"'),
      {
        file: '/c.yaml',
        env: {},
      },
    );
    assert.deepEqual(config.providers.p?.scopes, ['email', 'openid', 'profile']);
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nscopes: [openid, 7]'),
      {
        key: 'providers.p.scopes[1]',
        includes: ['must be a string, not a number'],
      },
    );
    await expectInvalid(provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nscopes: {a: b}'), {
      key: 'providers.p.scopes',
      includes: ['must be a list of strings'],
    });
  });

  test('browser_handoff is file or url; authorization_params.resource must be an RFC 8707 resource', async () => {
    for (const value of ['file', 'url']) {
      await withFile(
        provider(`type: oidc\nissuer: https://a.example.com\nclient_id: c\nbrowser_handoff: ${value}`),
        async (file) => {
          const p = (await load(file)).providers.p;
          assert.ok(p?.type === 'oidc');
          assert.equal(p.browser_handoff, value);
        },
      );
    }
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nbrowser_handoff: link'),
      {
        key: 'providers.p.browser_handoff',
        includes: ['file', 'url'],
      },
    );
    await withFile(
      provider(
        'type: oidc\nissuer: https://a.example.com\nclient_id: c\nauthorization_params: {resource: "https://api.example.com"}',
      ),
      async (file) => {
        const p = (await load(file)).providers.p;
        assert.deepEqual({ ...p?.authorization_params }, { resource: 'https://api.example.com' });
      },
    );
    await expectInvalid(
      provider(
        'type: oidc\nissuer: https://a.example.com\nclient_id: c\nauthorization_params: {resource: "api#x"}',
      ),
      { key: 'providers.p.authorization_params.resource', includes: ['absolute URI'] },
    );
  });

  test('authorization_params is refused where no authorization request is made', async () => {
    await expectInvalid(
      provider(
        'type: client_credentials\nissuer: https://a.example.com\nclient_id: c\nclient_secret: ${S}\nauthorization_params: {audience: x}',
      ),
      {
        key: 'providers.p.authorization_params',
        includes: ['client_credentials', 'no authorization request'],
      },
    );
  });

  test('reserved authorization parameters cannot be overridden', async () => {
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nauthorization_params: {state: x}'),
      {
        key: 'providers.p.authorization_params.state',
        includes: ['set by keyfob'],
      },
    );
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: c\nauthorization_params: {scope: x}'),
      {
        key: 'providers.p.authorization_params.scope',
        includes: ['scopes'],
      },
    );
  });

  test('oauth2 flows need their endpoints', async () => {
    await expectInvalid(
      provider(
        'type: oauth2\nclient_id: c\nauthorization_endpoint: https://a.example.com/a\ntoken_endpoint: https://a.example.com/t\nflows: [device]',
      ),
      { key: 'providers.p.device_authorization_endpoint', includes: ['device flow'] },
    );
    await expectInvalid(
      provider('type: oauth2\nclient_id: c\ntoken_endpoint: https://a.example.com/t\nflows: [telepathy]'),
      { key: 'providers.p.flows[0]', includes: ['browser, device'] },
    );
  });

  test('client_credentials: a secret and a private key together are refused', async () => {
    await expectInvalid(
      provider(
        'type: client_credentials\nissuer: https://a.example.com\nclient_id: c\nclient_secret: ${S}\nprivate_key: /k.pem',
      ),
      { key: 'providers.p.private_key', includes: ['not both'] },
      { S: 'x' },
    );
    await expectInvalid(
      provider(
        'type: client_credentials\nissuer: https://a.example.com\nclient_id: c\ntoken_endpoint_auth_method: private_key_jwt',
      ),
      { key: 'providers.p.private_key', includes: ['private_key_jwt'] },
    );
  });

  test('an exchange names a configured login provider of a type that logs in', async () => {
    const exchange = (name: string, login: string) =>
      `  ${name}:\n    type: exchange\n    login: ${login}\n    control_plane: https://cp.example.com\n`;
    await expectInvalid(`providers:\n${exchange('x', 'nowhere')}`, {
      key: 'providers.x.login',
      includes: ['"nowhere"', 'not configured'],
    });
    await expectInvalid(`providers:\n${exchange('x', 'y')}${exchange('y', 'x')}`, {
      key: 'providers.x.login',
      includes: ['of type exchange', 'oidc, oauth2, password, firebase, client_credentials'],
    });
    await expectInvalid(`providers:\n${exchange('x', 's')}  s:\n    type: static\n    token_file: /t\n`, {
      key: 'providers.x.login',
      includes: ['of type static'],
    });
    await expectInvalid(
      `providers:\n${exchange('x', 'y')}  y:\n    type: oidc\n    issuer: https://a.example.com\n    client_id: c\n    subject_token: refresh_token\n`,
      { key: 'providers.y.subject_token' },
    );
    await expectInvalid(
      'providers:\n  x:\n    type: exchange\n    login: y\n    control_plane: https://cp.example.com\n    subject_token: refresh_token\n  y:\n    type: oidc\n    issuer: https://a.example.com\n    client_id: c\n',
      { key: 'providers.x.subject_token', includes: ['id_token', 'access_token'] },
    );
    await expectInvalid(
      'providers:\n  x:\n    type: exchange\n    login: y\n    control_plane: http://cp.example.com\n  y:\n    type: oidc\n    issuer: https://a.example.com\n    client_id: c\n',
      { key: 'providers.x.control_plane', includes: ['https'] },
    );
    await expectInvalid(
      'providers:\n  x:\n    type: exchange\n    login: y\n    control_plane: https://cp.example.com\n    tenants_endpoint: http://0.0.0.0:9/t\n  y:\n    type: oidc\n    issuer: https://a.example.com\n    client_id: c\n',
      { key: 'providers.x.tenants_endpoint', includes: ['https'] },
    );
  });

  test('profiles: provider must be configured, unknown keys refused, empty profile allowed', async () => {
    await expectInvalid('profiles:\n  ci:\n    provider: robots\n', {
      key: 'profiles.ci.provider',
      includes: ['"robots"'],
    });
    await expectInvalid('profiles:\n  ci:\n    providr: robots\n', {
      key: 'profiles.ci.providr',
      includes: ['did you mean provider?'],
    });
    await withFile('profiles:\n  ci:\n', async (file) => {
      const config = await load(file);
      assert.deepEqual(config.profiles.ci, { provider: null, tenant: null, client_id: null });
    });
  });
});

describe('URLs in the config', () => {
  test('plain http on a non-loopback issuer is refused', async () => {
    const error = await expectInvalid(
      DESIGN_EXAMPLE.replace('https://sso.example.com/realms/main', 'http://sso.example.com/realms/main'),
      {
        key: 'providers.corporate.issuer',
        includes: ['must use https', 'loopback', 'write https://sso.example.com/realms/main'],
      },
    );
    assert.ok(error.cause instanceof InsecureUrl);
  });

  test('plain http on 127.0.0.1, [::1] and localhost is allowed', async () => {
    for (const issuer of ['http://127.0.0.1:9000/oidc', 'http://[::1]:9000', 'http://localhost:9000']) {
      await withFile(
        provider(`type: oidc\nissuer: ${issuer}\nclient_id: c\napi_base: ${issuer}/api`),
        async (file) => {
          const config = await load(file);
          const p = config.providers.p;
          assert.ok(p?.type === 'oidc');
          assert.equal(p.issuer, issuer);
          assert.deepEqual(p.allowed_origins, [new URL(issuer).origin]);
        },
      );
    }
  });

  test('credentials in a URL are refused and not echoed', async () => {
    await expectInvalid(
      DESIGN_EXAMPLE.replace('https://api.example.com', 'https://user:pass@api.example.com'),
      {
        key: 'providers.corporate.api_base',
        includes: ['user name or password'],
        excludes: ['user:pass', 'pass@'],
      },
    );
  });

  test('fragments, other schemes and an issuer with a query are refused', async () => {
    await expectInvalid(provider('type: oidc\nissuer: https://a.example.com/#x\nclient_id: c'), {
      key: 'providers.p.issuer',
      includes: ['fragment'],
    });
    await expectInvalid(provider('type: oidc\nissuer: ftp://a.example.com\nclient_id: c'), {
      key: 'providers.p.issuer',
      includes: ['not ftp:'],
    });
    await expectInvalid(provider('type: oidc\nissuer: https://a.example.com/?tenant=1\nclient_id: c'), {
      key: 'providers.p.issuer',
      includes: ['query'],
    });
  });

  test('allowed_origins entries must be origins', async () => {
    await expectInvalid(provider('type: static\nallowed_origins: [https://api.example.com/v1]'), {
      key: 'providers.p.allowed_origins[0]',
      includes: ['origin', 'write https://api.example.com'],
    });
    await expectInvalid(provider('type: static\nallowed_origins: [http://api.example.com]'), {
      key: 'providers.p.allowed_origins[0]',
      includes: ['must use https'],
    });
  });

  test('the firebase emulator must be on loopback', async () => {
    await expectInvalid(provider('type: firebase\napi_key: k\nemulator_host: firebase:9099'), {
      key: 'providers.p.emulator_host',
      includes: ['loopback'],
    });
  });
});

describe('literal secrets', () => {
  test('a literal client_secret is refused, naming the key and the fix, never the value', async () => {
    await expectInvalid(DESIGN_EXAMPLE.replace('${ROBOT_SECRET}', SECRET), {
      key: 'providers.robots.client_secret',
      includes: [
        'a literal secret is not allowed here',
        'write ${ROBOTS_CLIENT_SECRET} and set it in the environment',
        '`keyfob login robots --with-secret`',
      ],
      excludes: [SECRET],
    });
  });

  test('every secret key is covered, wherever it appears', async () => {
    const cases: [string, string][] = [
      [
        provider(`type: assume_user\ncontrol_plane: https://cp.example.com\nadmin_api_key: ${SECRET}`),
        'providers.p.admin_api_key',
      ],
      [provider(`type: static\ntoken: ${SECRET}`), 'providers.p.token'],
      [
        provider(`type: password\nissuer: https://a.example.com\nclient_id: c\npassword: ${SECRET}`),
        'providers.p.password',
      ],
      [
        provider(`type: oidc\nissuer: https://a.example.com\nclient_id: c\nrefresh_token: ${SECRET}`),
        'providers.p.refresh_token',
      ],
      [
        provider(
          `type: client_credentials\nissuer: https://a.example.com\nclient_id: c\nprivate_key: "-----BEGIN PRIVATE KEY-----\\n${SECRET}"`,
        ),
        'providers.p.private_key',
      ],
      [
        provider(
          `type: oidc\nissuer: https://a.example.com\nclient_id: c\nauthorization_params: {client_secret: ${SECRET}}`,
        ),
        'providers.p.authorization_params.client_secret',
      ],
      [`profiles:\n  ci:\n    token: ${SECRET}\n`, 'profiles.ci.token'],
      [`token: ${SECRET}\n`, 'token'],
      [provider('type: static\ntoken: 123456'), 'providers.p.token'],
    ];
    for (const [content, key] of cases) {
      await expectInvalid(content, {
        key,
        includes: ['a literal secret is not allowed here'],
        excludes: [SECRET, '123456'],
      });
    }
  });

  test('a secret must be exactly one reference', async () => {
    await expectInvalid(
      provider('type: static\ntoken: Bearer ${TOKEN}'),
      {
        key: 'providers.p.token',
        includes: ['exactly one ${VAR}', 'keyfob login p --with-token'],
        excludes: [SECRET],
      },
      { TOKEN: SECRET },
    );
  });

  test('a referenced secret that is empty is refused, naming the variable', async () => {
    await expectInvalid(
      DESIGN_EXAMPLE,
      { key: 'providers.robots.client_secret', includes: ['${ROBOT_SECRET} is set but empty'] },
      {
        ROBOT_SECRET: '',
      },
    );
  });

  test('a private key path and a referenced PEM are accepted', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMC4CAQ\n-----END PRIVATE KEY-----\n';
    const config = parseConfig(
      `providers:
  a:
    type: client_credentials
    issuer: https://a.example.com
    client_id: c
    private_key: /etc/keys/a.pem
  b:
    type: client_credentials
    issuer: https://a.example.com
    client_id: c
    private_key: \${KEY_PEM}
`,
      { file: '/cfg/config.yaml', env: { KEY_PEM: pem } },
    );
    const { a, b } = config.providers;
    assert.ok(a?.type === 'client_credentials' && b?.type === 'client_credentials');
    assert.deepEqual(a.private_key, { kind: 'file', path: '/etc/keys/a.pem' });
    assert.deepEqual(b.private_key, { kind: 'pem', pem });
  });

  test('the integrator command appears in the hint', () => {
    assert.throws(
      () =>
        parseConfig(
          provider('type: client_credentials\nissuer: https://a.example.com\nclient_id: c\nclient_secret: x'),
          {
            file: '/c.yaml',
            env: {},
            command: 'acme auth',
          },
        ),
      (error: unknown) =>
        error instanceof InvalidConfig && error.message.includes('`acme auth login p --with-secret`'),
    );
  });
});

describe('interpolation', () => {
  test('${VAR} anywhere in a string, $${ for a literal ${, other $ kept', () => {
    const config = parseConfig(
      provider(
        'type: oidc\nissuer: https://${HOST}/realms/${REALM}\nclient_id: "$${not-a-ref} costs $5"\napi_base: https://${HOST}',
      ),
      { file: '/c.yaml', env: { HOST: 'sso.example.com', REALM: 'main' } },
    );
    const p = config.providers.p;
    assert.ok(p?.type === 'oidc');
    assert.equal(p.issuer, 'https://sso.example.com/realms/main');
    assert.equal(p.client_id, '${not-a-ref} costs $5');
  });

  test('an empty variable counts as set', () => {
    const { value } = interpolate({ a: 'x${EMPTY}y' }, { file: 'f', env: { EMPTY: '' } });
    assert.deepEqual({ ...(value as object) }, { a: 'xy' });
  });

  test('references are tracked by key path, whole or not', () => {
    const { refs } = interpolate(
      { providers: { robots: { client_secret: '${S}', issuer: 'https://${H}/x', scopes: ['a', '${SC}'] } } },
      { file: 'f', env: { S: 's', H: 'h', SC: 'sc' } },
    );
    assert.deepEqual(refs.get('providers.robots.client_secret'), { variables: ['S'], whole: true });
    assert.deepEqual(refs.get('providers.robots.issuer'), { variables: ['H'], whole: false });
    assert.deepEqual(refs.get('providers.robots.scopes[1]'), { variables: ['SC'], whole: true });
    assert.equal(refs.has('providers.robots.scopes[0]'), false);
  });

  test('a missing variable names the file, the key path and the variable', async () => {
    await expectInvalid(
      provider('type: oidc\nissuer: https://${SSO_HOST}\nclient_id: c'),
      {
        key: 'providers.p.issuer',
        includes: ['SSO_HOST', 'not set'],
      },
      {},
    );
  });

  test('a malformed reference is refused without echoing its content', async () => {
    await expectInvalid(
      provider('type: oidc\nissuer: https://a.example.com\nclient_id: "${hunter2 secret"'),
      { key: 'providers.p.client_id', includes: ['malformed'], excludes: ['hunter2'] },
      {},
    );
  });

  test('key paths are unambiguous', () => {
    assert.equal(formatKeyPath(['providers', 'robots', 'client_secret']), 'providers.robots.client_secret');
    assert.equal(formatKeyPath(['providers', 'my.idp', 'scopes', 2]), 'providers["my.idp"].scopes[2]');
  });
});

describe('configFromObject', () => {
  test('applies the same validation and calls the source <options>', () => {
    assert.throws(
      () => configFromObject({ providers: { p: { type: 'oidc', client_id: 'c' } } }, {}),
      (error: unknown) =>
        error instanceof InvalidConfig &&
        error.message === '<options>: providers.p.issuer: required for type oidc',
    );
    assert.throws(
      () => configFromObject({ providers: { p: { type: 'static', token: SECRET } } }, {}),
      (error: unknown) =>
        error instanceof InvalidConfig &&
        error.message.startsWith('<options>: providers.p.token: a literal secret') &&
        !error.message.includes(SECRET),
    );
  });

  test('interpolates, drops undefined, does not modify the input, and returns file: null', () => {
    const input = {
      default_provider: 'p',
      providers: {
        p: { type: 'static', token: '${TOKEN}', api_base: 'https://api.example.com', resource: undefined },
      },
    };
    const snapshot = structuredClone(input);
    const config = configFromObject(input, { TOKEN: 'tok' });
    assert.deepEqual(input, snapshot);
    assert.equal(config.file, null);
    const p = config.providers.p;
    assert.ok(p?.type === 'static');
    assert.equal(p.token, 'tok');
    assert.equal(p.resource, undefined);
  });

  test('lookups by hostile names never reach Object.prototype', () => {
    const config = configFromObject({ providers: { p: { type: 'static' } } }, {});
    assert.equal(config.providers.constructor, undefined);
    assert.equal(Reflect.get(config.providers, '__proto__'), undefined);
    assert.equal(config.profiles.toString, undefined);
  });

  test('refuses cycles, class instances and functions', () => {
    const cyclic: Record<string, unknown> = { providers: {} };
    (cyclic.providers as Record<string, unknown>).self = cyclic;
    assert.throws(() => configFromObject(cyclic, {}), /cycle/);
    assert.throws(() => configFromObject({ providers: new Map() }, {}), /plain data/);
    assert.throws(
      () => configFromObject({ default_provider: () => 'p' }, {}),
      /function is not a configuration value/,
    );
  });

  test('null and undefined are an empty configuration', () => {
    assert.equal(Object.keys(configFromObject(undefined, {}).providers).length, 0);
    assert.equal(configFromObject(null, {}).default_provider, null);
  });
});

describe('loading from disk', () => {
  test('a missing default file is an empty configuration', async () => {
    const config = await loadConfig({ path: join(root, 'nowhere', 'config.yaml'), explicit: false, env: {} });
    assert.equal(config.file, null);
    assert.deepEqual(Object.keys(config.providers), []);
  });

  test('a missing explicit file is an error naming it and where it came from', async () => {
    const file = join(root, 'nowhere', 'config.yaml');
    const error = await loadConfig({
      path: file,
      explicit: true,
      env: {},
      source: 'env',
      names: appNames('acme'),
    }).then(
      () => assert.fail('expected InvalidConfig'),
      (e: unknown) => e,
    );
    checkError(error, file, { includes: ['not found', 'check ACME_CONFIG'] });
    const flagError = await loadConfig({ path: file, explicit: true, env: {}, source: 'flag' }).catch(
      (e: unknown) => e,
    );
    checkError(flagError, file, { includes: ['--config'] });
  });

  test('a directory is refused', async () => {
    const dir = join(root, 'a-directory');
    await mkdir(dir);
    const error = await loadConfig({ path: dir, explicit: true, env: {} }).catch((e: unknown) => e);
    checkError(error, dir, { includes: ['is a directory'] });
  });
});

describe('names', () => {
  test('keyfob by default, integrator names otherwise', () => {
    assert.deepEqual(
      { ...appNames() },
      {
        app: 'keyfob',
        envPrefix: 'KEYFOB',
        homeDirName: 'keyfob',
        keychainService: 'keyfob',
        envRenames: {},
      },
    );
    assert.deepEqual(
      { ...appNames('my-cli') },
      {
        app: 'my-cli',
        envPrefix: 'MY_CLI',
        homeDirName: 'my-cli',
        keychainService: 'my-cli',
        envRenames: {},
      },
    );
    assert.equal(appNames('acme', { keychainService: 'com.acme.cli' }).keychainService, 'com.acme.cli');
    assert.equal(envVar(appNames(), 'TOKEN'), 'KEYFOB_TOKEN');
    assert.equal(envVar(appNames('acme'), 'CLIENT_SECRET'), 'ACME_CLIENT_SECRET');
    // A renamed variable is the only name read (createKeyfob({ env })).
    const renamed = appNames('acme', { envRenames: { VERIFY_TLS: 'KSCLI_VERIFY_SSL' } });
    assert.equal(envVar(renamed, 'VERIFY_TLS'), 'KSCLI_VERIFY_SSL');
    assert.equal(envVar(renamed, 'TOKEN'), 'ACME_TOKEN');
  });

  test('invalid app names are refused', () => {
    for (const name of ['', 'Acme', '1acme', 'acme_cli', 'a'.repeat(41), '../x', 'acme cli']) {
      assert.throws(() => appNames(name), InvalidInput, name);
    }
    assert.throws(() => appNames('acme', { homeDirName: '..' }), InvalidInput);
    assert.throws(() => envVar(appNames(), 'token'), InvalidInput);
  });

  test('an empty variable counts as unset for the app settings', () => {
    const names = appNames('acme');
    assert.equal(readEnvVar({ ACME_PROFILE: '' }, names, 'PROFILE'), undefined);
    assert.equal(readEnvVar({ ACME_PROFILE: 'work' }, names, 'PROFILE'), 'work');
  });
});

describe('paths', () => {
  const keyfob = appNames();
  const acme = appNames('acme');
  const homedir = '/home/u';

  test('home: <PREFIX>_HOME, else $XDG_CONFIG_HOME/<app>, else ~/.config/<app>', () => {
    assert.equal(resolveHome({ names: keyfob, env: { KEYFOB_HOME: '/srv/kf' }, homedir }), '/srv/kf');
    assert.equal(
      resolveHome({ names: acme, env: { ACME_HOME: '/srv/acme', KEYFOB_HOME: '/srv/kf' }, homedir }),
      '/srv/acme',
    );
    assert.equal(
      resolveHome({ names: acme, env: { KEYFOB_HOME: '/srv/kf' }, homedir }),
      '/home/u/.config/acme',
    );
    assert.equal(resolveHome({ names: acme, env: { XDG_CONFIG_HOME: '/x/cfg' }, homedir }), '/x/cfg/acme');
    assert.equal(resolveHome({ names: keyfob, env: {}, homedir }), '/home/u/.config/keyfob');
  });

  test('home: relative or empty XDG_CONFIG_HOME is ignored; empty <PREFIX>_HOME is unset', () => {
    assert.equal(
      resolveHome({ names: acme, env: { XDG_CONFIG_HOME: 'rel/cfg' }, homedir }),
      '/home/u/.config/acme',
    );
    assert.equal(resolveHome({ names: acme, env: { XDG_CONFIG_HOME: '' }, homedir }), '/home/u/.config/acme');
    assert.equal(resolveHome({ names: acme, env: { ACME_HOME: '' }, homedir }), '/home/u/.config/acme');
  });

  test('home: relative <PREFIX>_HOME is taken from the working directory; ~/ is expanded', () => {
    assert.equal(
      resolveHome({ names: acme, env: { ACME_HOME: 'state' }, homedir, cwd: '/work' }),
      '/work/state',
    );
    assert.equal(
      resolveHome({ names: acme, env: { ACME_HOME: '~/acme-home' }, homedir }),
      '/home/u/acme-home',
    );
  });

  test('home: without a usable home directory, says which variable to set', () => {
    assert.throws(() => resolveHome({ names: acme, env: {}, homedir: '' }), /set ACME_HOME/);
  });

  test('config: --config, else <PREFIX>_CONFIG, else <home>/config.yaml', () => {
    const home = '/home/u/.config/acme';
    assert.deepEqual(
      resolveConfigPath({ names: acme, env: { ACME_CONFIG: '/e.yaml' }, home, flag: '/f.yaml' }),
      {
        path: '/f.yaml',
        explicit: true,
        source: 'flag',
      },
    );
    assert.deepEqual(resolveConfigPath({ names: acme, env: { ACME_CONFIG: '/e.yaml' }, home }), {
      path: '/e.yaml',
      explicit: true,
      source: 'env',
    });
    assert.deepEqual(
      resolveConfigPath({ names: acme, env: { KEYFOB_CONFIG: '/k.yaml', ACME_CONFIG: '' }, home }),
      {
        path: '/home/u/.config/acme/config.yaml',
        explicit: false,
        source: 'default',
      },
    );
    assert.equal(
      resolveConfigPath({ names: acme, env: {}, home, flag: 'c.yaml', cwd: '/repo' }).path,
      '/repo/c.yaml',
    );
    assert.throws(() => resolveConfigPath({ names: acme, env: {}, home, flag: '' }), InvalidInput);
  });

  test('the resolved default path loads as empty when the file is missing', async () => {
    const home = resolveHome({ names: acme, env: { ACME_HOME: join(root, 'acme-home') }, homedir });
    const where = resolveConfigPath({ names: acme, env: {}, home });
    const config = await loadConfig({ ...where, env: {}, names: acme });
    assert.equal(config.file, null);
  });
});

describe('the parsed-config cache', () => {
  test('serves an unchanged file, notices any change, and never holds a secret', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keyfob-cache-'));
    try {
      const file = join(dir, 'config.yaml');
      const cacheDir = join(dir, 'cache');
      const yaml =
        'providers:\n  r:\n    type: client_credentials\n    issuer: https://a.example\n    client_id: one\n    client_secret: ${R_SECRET}\n';
      await writeFile(file, yaml);
      const env = { R_SECRET: 'top-secret-value' };
      const first = await loadConfig({ path: file, explicit: true, env, cacheDir });
      const cached = await readFile(join(cacheDir, 'config.json'), 'utf8');
      assert.doesNotMatch(cached, /top-secret-value/);
      assert.equal(((await stat(join(cacheDir, 'config.json'))).mode & 0o777).toString(8), '600');
      const second = await loadConfig({ path: file, explicit: true, env, cacheDir });
      assert.deepEqual({ ...second.providers }, { ...first.providers });
      assert.equal(
        second.providers.r?.type === 'client_credentials' && second.providers.r.client_secret,
        'top-secret-value',
      );

      await writeFile(file, yaml.replace('client_id: one', 'client_id: two'));
      const changed = await loadConfig({ path: file, explicit: true, env, cacheDir });
      assert.equal(
        changed.providers.r?.type === 'client_credentials' && changed.providers.r.client_id,
        'two',
      );

      await writeFile(file, 'providers: [\n');
      await assert.rejects(loadConfig({ path: file, explicit: true, env, cacheDir }), InvalidConfig);
      await writeFile(join(cacheDir, 'config.json'), '{garbage');
      await writeFile(file, yaml);
      const recovered = await loadConfig({ path: file, explicit: true, env, cacheDir });
      assert.equal(recovered.providers.r?.type, 'client_credentials');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
