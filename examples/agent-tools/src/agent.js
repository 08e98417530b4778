// A tiny agent loop without a model: a scripted plan of tool calls, each run through keyfob's
// executor (in-process tools) or through its credential proxy (a tool run as a subprocess).
// Everything the agent would see goes to stdout as JSON lines: the tool list, then each call and
// its result. The agent never holds a credential: not in its plan, its results or its log.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AuthenticationRequired } from '@keyfob/core';
import { createToolExecutor } from '@keyfob/core/tools';
import { keyfob, SIGNIN } from './auth.js';
import { tools } from './tools.js';

const SUBPROCESS_TOOL = fileURLToPath(new URL('./subprocess-tool.js', import.meta.url));

/** What the agent sees: one JSON line. */
const show = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

/**
 * `registry tools` prints the tool list; `registry agent PLAN.json` runs the plan: a JSON array of
 * `{ "tool": ID, "params": {…} }` (the executor) and `{ "subprocess": [ARGS…], "scope"?: S }`
 * (src/subprocess-tool.js behind `kf.proxy()`). Returns the exit code: 0 once the plan ran,
 * whatever the results said (the agent reads them).
 */
export async function runAgent(command, planFile) {
  const kf = keyfob();
  try {
    // REGISTRY_DEBUG=1: one line per call (tool, action, status, error) in the agent's log.
    const log =
      process.env.REGISTRY_DEBUG === '1' ? (line) => process.stderr.write(`${line.trimEnd()}\n`) : undefined;
    const executor = createToolExecutor({ keyfob: kf, tools, ...(log ? { log } : {}) });
    show({ tools: executor.list() });
    if (command === 'tools') return 0;
    const plan = JSON.parse(await readFile(planFile, 'utf8'));
    if (!Array.isArray(plan)) throw new Error(`${planFile}: a plan is a JSON array of steps`);
    for (const [step, call] of plan.entries()) {
      const result = Array.isArray(call.subprocess)
        ? await throughProxy(kf, call.subprocess, call.scope)
        : await executor.execute(call.tool, call.params ?? {});
      show({ step, call, result });
    }
    return 0;
  } finally {
    await kf.close();
  }
}

/**
 * Runs src/subprocess-tool.js with `args` behind a credential proxy of its own: the tool's
 * environment is PATH and the proxy's URL and key, nothing else of this process's. Returns a
 * result of the executor's shape, its data what the tool printed.
 */
async function throughProxy(kf, args, scope) {
  const metadata = { tool: 'subprocess' };
  let proxy;
  try {
    proxy = await kf.proxy(scope ? { scope } : {});
  } catch (error) {
    if (!(error instanceof AuthenticationRequired)) throw error;
    return {
      success: false,
      status: null,
      data: null,
      error: error.message,
      metadata: { ...metadata, auth_required: true, command: SIGNIN },
    };
  }
  try {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      REGISTRY_PROXY_URL: proxy.url,
      REGISTRY_PROXY_KEY: proxy.key,
    };
    const child = spawn(process.execPath, [SUBPROCESS_TOOL, ...args.map(String)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    const data = code === 0 ? JSON.parse(stdout) : null;
    // A 401 from the proxy: the session is gone or refused; the agent shows the command.
    const signin = data?.status === 401 ? { auth_required: true, command: SIGNIN } : {};
    return {
      success: code === 0 && data.status < 400,
      status: data?.status ?? null,
      data,
      error: code === 0 ? null : stderr.trim(),
      metadata: { ...metadata, ...signin },
    };
  } finally {
    await proxy.close();
  }
}
