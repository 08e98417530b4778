#!/usr/bin/env node
'use strict';
// `keyfob token` runs from a CommonJS bundle: scripts call it before every API request, and
// Node starts a CommonJS file faster than an ES module graph. Every other command loads the
// ES module build, which imports each command and heavy dependency only when needed.
if (process.argv[2] === 'token') require('../dist/token.cjs');
else import('../dist/main.js');
