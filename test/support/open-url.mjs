#!/usr/bin/env node
// Stands in for a browser in tests: keyfob runs `$BROWSER URL`; this hands the URL to the test
// process, which drives a real headless Chromium to it. With KEYFOB_TEST_BROWSER_RECORD set, it
// first appends the arguments it was given (as one JSON line) to that file, so a test can see
// exactly what `$BROWSER` received (what every local user can read in /proc/*/cmdline).
import { appendFileSync } from 'node:fs';

const url = process.argv.at(-1);
const record = process.env.KEYFOB_TEST_BROWSER_RECORD;
if (record) appendFileSync(record, `${JSON.stringify(process.argv.slice(2))}\n`);
const bridge = process.env.KEYFOB_TEST_BROWSER_BRIDGE;
if (!bridge || !url) process.exit(2);
const response = await fetch(bridge, { method: 'POST', body: url });
process.exit(response.ok ? 0 : 1);
