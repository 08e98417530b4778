// Runs every *.test.ts under packages/ and test/ with Node's test runner (through tsx). Node 20
// does not expand globs for --test, and a run that finds no file would exit 0 having tested
// nothing: list the files here and refuse an empty list.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFirebase } from './firebase-emulator.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

// The files that take a minute or more (measured on a full run), started first: with three
// files at a time, a long one started near the end leaves the other lanes idle while it finishes.
const LONG_FILES = [
  'test/control-plane.test.ts',
  'test/lifecycle.test.ts',
  'test/agent-lifecycle.test.ts',
  'test/agent-hostile.test.ts',
  'test/admin-hostile.test.ts',
  'test/check.test.ts',
  'test/cli.test.ts',
  'test/browser-handoff.test.ts',
  'test/assume-user.test.ts',
  'packages/keyfob/test/keychain-store.test.ts',
  'test/examples/agent-tools.test.ts',
  'test/examples/tenant-sdk.test.ts',
  'test/examples/oidc-session.test.ts',
  'test/login.test.ts',
  'test/packaging.test.ts',
  'test/fleet.test.ts',
  'test/agent-stores.test.ts',
];
function longFirst(file) {
  const at = LONG_FILES.indexOf(file);
  return at === -1 ? LONG_FILES.length : at;
}

const filter = process.argv.slice(2);
const files = [...find(join(root, 'packages')), ...find(join(root, 'test'))]
  .map((f) => relative(root, f))
  .filter((f) => filter.length === 0 || filter.some((part) => f.includes(part)))
  .sort((a, b) => longFirst(a) - longFirst(b) || a.localeCompare(b));
const stale = filter.length === 0 ? LONG_FILES.filter((f) => !files.includes(f)) : [];
if (stale.length > 0) {
  console.error(`run-tests: LONG_FILES names files that do not exist: ${stale.join(', ')}`);
  process.exit(1);
}
if (files.length === 0) {
  console.error('run-tests: no test files found; refusing to report success');
  process.exit(1);
}
// The Firebase Auth emulator is test-only and ~300 MB: installed once into a cache folder outside
// the repository (a fresh machine's first `npm test` pays a few minutes), never a dependency.
if (files.some((f) => f.includes('firebase'))) {
  try {
    ensureFirebase();
  } catch (error) {
    console.error(`run-tests: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
// `--conditions=@keyfob/source`: `@keyfob/core`, `@keyfob/cli` and `@keyfob/dev-idp` resolve to
// their TypeScript sources (see their package.json `exports`), the same modules the tests import
// by relative path, so one process never holds two copies of an error class. Processes the tests
// start with plain Node (the built `keyfob` bin) take the dist, as an installed package would.
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--conditions=@keyfob/source',
    '--test',
    // Three files at once: most tests wait on processes, browsers and token expiries; on two
    // cores three keep the CPU busy (~85%) where two left it idle a third of the time.
    '--test-concurrency=3',
    '--test-timeout=300000',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NO_COLOR: '1' } },
);
process.exit(result.status ?? 1);
