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
      // The whole token is on fd 1 and nothing else is left: exiting now skips Node's orderly
      // close of the agent's connection and of its own handles, about 3 ms of a 100 ms call
      // (bench/cli-startup.ts). A token still being written as a stream ('printing') is not cut.
      else if (answered === 'printed') process.exit(0);
    });
} else {
  import('../dist/main.js');
}
