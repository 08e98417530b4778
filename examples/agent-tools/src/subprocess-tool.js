#!/usr/bin/env node
// A tool run as its own process (any language would do): it reaches the registry only through
// the credential proxy its runtime started, and knows only REGISTRY_PROXY_URL and
// REGISTRY_PROXY_KEY. The key opens that proxy and nothing else; it dies with the proxy.
//   node src/subprocess-tool.js [--dump-env FILE] list|diagnose
// prints `{ status, body }` as JSON. --dump-env writes this process's environment and argv to
// FILE (what the canary test checks: no credential among them).
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const dump = args.indexOf('--dump-env');
if (dump >= 0) {
  const [, file] = args.splice(dump, 2);
  writeFileSync(file, JSON.stringify({ env: process.env, argv: process.argv }));
}
const PATHS = { list: '/registry/packages', diagnose: '/registry/echo?chunk=5' };
const path = PATHS[args[0]];
const { REGISTRY_PROXY_URL: url, REGISTRY_PROXY_KEY: key } = process.env;
if (!path || args.length !== 1 || !url || !key) {
  console.error(
    'usage: REGISTRY_PROXY_URL=… REGISTRY_PROXY_KEY=… subprocess-tool.js [--dump-env FILE] list|diagnose',
  );
  process.exit(2);
}
const response = await fetch(`${url}${path}`, { headers: { 'proxy-authorization': `Bearer ${key}` } });
const text = await response.text();
let body;
try {
  body = JSON.parse(text);
} catch {
  body = text;
}
console.log(JSON.stringify({ status: response.status, headers: Object.fromEntries(response.headers), body }));
