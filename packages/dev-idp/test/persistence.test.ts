import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startDevIdp } from '../src/index.js';
import { ALICE, browserLogin, getWithToken, refresh } from './helpers.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(tmpdir(), 'dev-idp-test-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('--data keeps keys, grants and refresh tokens across a restart', async (t) => {
  const dataFile = path.join(await tempDir(t), 'state', 'dev-idp.json');
  const first = await startDevIdp({ dataFile });
  let closed = false;
  t.after(async () => {
    if (!closed) await first.close();
  });
  const tokens = await browserLogin(t, first, { scope: 'openid profile email offline_access api:read' });
  const forApi = await refresh(first, String(tokens.refresh_token), { resource: first.api });
  assert.equal(forApi.status, 200);
  const port = Number(new URL(first.issuer).port);
  await first.close();
  closed = true;

  const stat = await fsp.stat(dataFile);
  assert.equal(stat.mode & 0o777, 0o600);
  const document = JSON.parse(await fsp.readFile(dataFile, 'utf8'));
  assert.equal(document.schema_version, 1);
  assert.equal(document.signing_keys.length, 1);
  assert.deepEqual(
    (await fsp.readdir(path.dirname(dataFile))).filter((name) => name.endsWith('.tmp')),
    [],
    'no temp files left',
  );

  const second = await startDevIdp({ dataFile, port });
  // Closed in the body, not in an after hook: hooks run in the order they were added, and the
  // temp directory's removal (added first) must not race the server's last write to it.
  let secondClosed = false;
  t.after(async () => {
    if (!secondClosed) await second.close();
  });
  assert.equal(second.issuer, first.issuer);
  assert.equal(
    (await getWithToken(`${second.api}/hello`, String(forApi.body.access_token))).status,
    200,
    'an API token from before the restart still verifies (same keys)',
  );
  const after = await refresh(second, String(forApi.body.refresh_token));
  assert.equal(after.status, 200, JSON.stringify(after.body));
  const me = await getWithToken(`${second.issuer}/me`, String(after.body.access_token));
  assert.equal(me.body.sub, ALICE.sub);
  assert.equal(
    (await refresh(second, String(tokens.refresh_token))).body.error,
    'invalid_grant',
    'spent stays spent',
  );
  await second.close();
  secondClosed = true;
});

test('a corrupt or newer data file is refused and left as it was', async (t) => {
  const dir = await tempDir(t);
  const corrupt = path.join(dir, 'corrupt.json');
  await fsp.writeFile(corrupt, '{"schema_version": 1, "signing_keys": [');
  await assert.rejects(startDevIdp({ dataFile: corrupt }), /corrupt\.json is not valid JSON/);
  assert.equal(await fsp.readFile(corrupt, 'utf8'), '{"schema_version": 1, "signing_keys": [');

  const newer = path.join(dir, 'newer.json');
  const text = JSON.stringify({ schema_version: 99, signing_keys: [], cookie_keys: [], records: {} });
  await fsp.writeFile(newer, text);
  await assert.rejects(startDevIdp({ dataFile: newer }), /schema_version 99, newer/);
  assert.equal(await fsp.readFile(newer, 'utf8'), text);

  const wrongShape = path.join(dir, 'shape.json');
  await fsp.writeFile(wrongShape, JSON.stringify({ schema_version: 1, signing_keys: [{ kty: 'oct' }] }));
  await assert.rejects(startDevIdp({ dataFile: wrongShape }), /malformed signing_keys/);
});
