// The npm registry reachable here lacks some platform builds of @biomejs/biome (android-arm64,
// darwin, win32, musl). `npm install` then leaves them out of package-lock.json, and `npm ci`
// refuses a lock that misses optional dependencies. This adds each missing one with its os/cpu
// (read from its name), so npm ci skips it on other platforms instead of failing.
// Run after `npm install` changes the lock: node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const entry of Object.values(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    const match = /^@biomejs\/cli-(android|darwin|linux|win32)-(arm64|x64)(-musl)?$/.exec(name);
    if (packages[key] || !match) continue;
    packages[key] = {
      version,
      cpu: [match[2]],
      dev: entry.dev ?? false,
      ...(match[3] ? { libc: ['musl'] } : {}),
      license: entry.license,
      optional: true,
      os: [match[1]],
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entr${added === 1 ? 'y' : 'ies'}`);
