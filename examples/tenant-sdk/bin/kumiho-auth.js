#!/usr/bin/env node
// The kumiho-auth command: keyfob's auth commands under Kumiho's name, on the SDK's own keyfob
// instance (src/auth.js), so the command and the SDK read and write the same files.
// src/auth.js is imported inside the try: createKeyfob() throws at once on a bad environment
// (no HOME), and that must be a one-line error, not a stack trace.
let kf;
try {
  const { authCommands, keyfob } = await import('../src/auth.js');
  kf = keyfob();
  process.exitCode = await authCommands(kf).run(process.argv.slice(2));
} catch (error) {
  console.error(`kumiho-auth: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = typeof error?.exitCode === 'number' ? error.exitCode : 1;
} finally {
  await kf?.close();
}
