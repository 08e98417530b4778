#!/usr/bin/env node
// Stands in for a browser in tests: keyfob runs `$BROWSER URL`; this hands the URL to the test
// process, which drives a real headless Chromium to it.
const url = process.argv.at(-1);
const bridge = process.env.KEYFOB_TEST_BROWSER_BRIDGE;
if (!bridge || !url) process.exit(2);
const response = await fetch(bridge, { method: 'POST', body: url });
process.exit(response.ok ? 0 : 1);
