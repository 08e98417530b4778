#!/usr/bin/env node
'use strict';
// `keyfob token` runs from small CommonJS bundles: scripts call it before every API request,
// and Node starts a CommonJS file faster than an ES module graph. A fresh token already on disk
// is printed by the fast path; otherwise the full command answers. Every other command loads
// the ES module build, which imports each command and heavy dependency only when needed.
if (process.argv[2] === 'token') {
  require('../dist/token-fast.cjs')
    .run()
    .then((answered) => {
      if (!answered) require('../dist/token.cjs');
    });
} else {
  import('../dist/main.js');
}
