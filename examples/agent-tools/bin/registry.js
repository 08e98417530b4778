#!/usr/bin/env node
// The registry command: `registry auth signin|status|logout|…` (keyfob's commands, mounted),
// `registry agent PLAN.json` (the scripted agent loop of src/agent.js) and `registry tools`.
// src/auth.js is imported inside the try: createKeyfob() throws at once on a bad environment
// (no HOME), and that must be a one-line error, not a stack trace.
const USAGE = `Usage: registry COMMAND
  auth signin --email E [--password-stdin] [--scopes S]   sign in (the password asked, or on stdin)
  auth status | auth logout | auth help                   the session kept in ~/.registry
  tools                       the tools an agent may call, as JSON (no credential, no URL)
  agent PLAN.json             run a scripted agent: each step's tool call and the result it sees`;

let kf;
try {
  const [command, ...args] = process.argv.slice(2);
  if (command === 'auth') {
    const { authCommands, keyfob } = await import('../src/auth.js');
    kf = keyfob();
    process.exitCode = await authCommands(kf).run(args);
  } else if ((command === 'agent' && args.length === 1) || (command === 'tools' && args.length === 0)) {
    const { runAgent } = await import('../src/agent.js');
    process.exitCode = await runAgent(command, args[0]);
  } else {
    console.error(USAGE);
    process.exitCode = command === undefined || command === 'help' || command === '--help' ? 0 : 2;
  }
} catch (error) {
  console.error(`registry: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = typeof error?.exitCode === 'number' ? error.exitCode : 1;
} finally {
  await kf?.close();
}
