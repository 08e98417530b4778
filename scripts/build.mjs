// Bundles the CLI into packages/cli/dist: one small entry plus a chunk per lazily loaded part,
// so `keyfob token` on a cached token reads a few files and never loads openid-client, undici
// or the identity server. Third-party packages stay external (installed by npm as usual).
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}packages/cli/dist`;
rmSync(outdir, { recursive: true, force: true });

const external = [
  '@napi-rs/keyring',
  'age-encryption',
  'jose',
  'oauth4webapi',
  'oidc-provider',
  'openid-client',
  'proper-lockfile',
  'undici',
];

const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'packages/cli/src/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  external,
  // yaml is CommonJS: give bundled CJS a real `require` for Node's built-in modules.
  banner: {
    js: "import { createRequire as __keyfobRequire } from 'node:module'; const require = __keyfobRequire(import.meta.url);",
  },
  metafile: true,
  logLevel: 'warning',
});

// `keyfob token` as CommonJS (see bin/keyfob.cjs): the fast path alone, small, and the full
// command. yaml stays external: it is required only when the parsed-config cache misses.
for (const [entry, out] of [
  ['token-fast.ts', 'token-fast.cjs'],
  ['token-main.ts', 'token.cjs'],
]) {
  await build({
    absWorkingDir: root,
    entryPoints: [`packages/cli/src/${entry}`],
    outfile: `${outdir}/${out}`,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: [...external, 'yaml'],
    logLevel: 'warning',
  });
}

if (process.argv.includes('--analyze')) {
  const { analyzeMetafile } = await import('esbuild');
  console.log(await analyzeMetafile(result.metafile));
}
