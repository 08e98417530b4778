// Builds every package's dist, the files `npm pack` ships (see each package.json `files`):
// - packages/keyfob (`@keyfob/core`) and packages/dev-idp: each source file transpiled on its own
//   (no bundle), so the library's dynamic `import()`s stay lazy: what the sources load on first
//   use (undici, a store, a login flow, the token check) is still loaded on first use.
//   Types: `.d.ts` from tsc (tsconfig.build.json).
// - packages/cli: one small entry plus a chunk per lazily loaded command, with `@keyfob/core`
//   and `@keyfob/dev-idp` EXTERNAL: an integrator's SDK and the mounted commands share one copy
//   of the library (its error classes pass `instanceof`), and dev-idp is loaded only by
//   `keyfob dev-idp`. `keyfob token` on a cached token runs a small CommonJS bundle of its own.
// Inside this repository tests and scripts run the sources through tsx with
// `--conditions=@keyfob/source` (see the `exports` of each package.json); plain Node (the
// built CLI, an installed package) takes `default`, the dist.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const analyze = process.argv.includes('--analyze');

/** Every file under `dir` whose name ends with `suffix` (`.ts`: the sources, not `.d.ts`). */
function sources(dir, suffix = '.ts') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path, suffix);
    const wanted = entry.name.endsWith(suffix) && (suffix !== '.ts' || !entry.name.endsWith('.d.ts'));
    return wanted ? [relative(root, path)] : [];
  });
}

/**
 * `.d.ts` files from tsc, one program for the three packages (tsconfig.build.json): the types
 * are checked by `tsc -p .` (npm test), so this pass only emits (`noCheck`). Each package's
 * files then move into its dist: the library's and dev-idp's next to their `.js`, the CLI's
 * under dist/types (its JavaScript is bundled).
 */
function declarations() {
  const out = join(root, '.tmp/types');
  rmSync(out, { recursive: true, force: true });
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) throw new Error('build: tsc could not emit the .d.ts files');
  for (const [pkg, to] of [
    ['keyfob', 'dist'],
    ['dev-idp', 'dist'],
    ['cli', 'dist/types'],
  ]) {
    cpSync(join(out, pkg, 'src'), join(root, 'packages', pkg, to), { recursive: true });
  }
  rmSync(out, { recursive: true, force: true });
  // A declaration that reached into another package's sources would not resolve once installed.
  for (const file of sources(join(root, 'packages/cli/dist/types'), '.d.ts')) {
    if (/keyfob\/src|dev-idp\/src/.test(readFileSync(join(root, file), 'utf8'))) {
      throw new Error(`build: ${file} refers to another package's sources; import it by package name`);
    }
  }
}

/** A library-style package: each file transpiled to ESM, imports left as written. */
async function transpile(pkg) {
  const dir = join(root, 'packages', pkg);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: sources(join(dir, 'src')),
    outdir: join(dir, 'dist'),
    outbase: join(dir, 'src'),
    bundle: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
}

await transpile('keyfob');
await transpile('dev-idp');

const cliDist = join(root, 'packages/cli/dist');
rmSync(cliDist, { recursive: true, force: true });

const external = [
  '@keyfob/core',
  '@keyfob/core/*',
  '@keyfob/dev-idp',
  '@napi-rs/keyring',
  'age-encryption',
  'jose',
  'oauth4webapi',
  'oidc-provider',
  'openid-client',
  'proper-lockfile',
  'undici',
  'yaml',
];

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'packages/cli/src/main.ts', mount: 'packages/cli/src/mount.ts' },
  outdir: cliDist,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'chunks/[name]-[hash]',
  external,
  metafile: true,
  logLevel: 'warning',
});

// `keyfob token` as CommonJS (see bin/keyfob.cjs): the fast path alone bundles the few small
// library files it reads (a cached token, the app's names), so it starts like `node -e 0`.
// When it cannot answer, the bin loads the ES module build above.
await build({
  absWorkingDir: root,
  entryPoints: ['packages/cli/src/token-fast.ts'],
  outfile: join(cliDist, 'token-fast.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // The sources, not the dist: this bundle must not depend on the build order.
  conditions: ['@keyfob/source'],
  external: external.filter((name) => !name.startsWith('@keyfob/core')),
  logLevel: 'warning',
});

declarations();

if (analyze) {
  const { analyzeMetafile } = await import('esbuild');
  console.log(await analyzeMetafile(result.metafile));
}
