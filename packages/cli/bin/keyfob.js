#!/usr/bin/env node
// The published entry: a bundled ESM build (see scripts/build.mjs) so that a cached
// `keyfob token` loads one small file and nothing of the OAuth client or the server.
import '../dist/main.js';
