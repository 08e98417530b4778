#!/usr/bin/env node
'use strict';
// `keyfob token` first tries a small CommonJS bundle: scripts call it before every API request,
// and Node starts a CommonJS file faster than an ES module graph. A fresh token already on disk
// is printed by that fast path; otherwise, and for every other command, the ES module build
// answers, which loads each command and heavy dependency (and @keyfob/core's) only when needed.
if (process.argv[2] === 'token') {
  require('../dist/token-fast.cjs')
    .run()
    .then((answered) => {
      if (!answered) import('../dist/main.js');
    });
} else {
  import('../dist/main.js');
}
