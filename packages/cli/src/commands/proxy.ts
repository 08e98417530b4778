/**
 * `keyfob proxy`: a local credential proxy for tools (DESIGN.md, Agent tools). Alone, it prints
 * its URL and key and runs until interrupted; with `-- TOOL ARGS` it runs the tool with
 * `KEYFOB_PROXY_URL` and `KEYFOB_PROXY_KEY` in its environment (never on a command line), none
 * of keyfob's credential variables, and stops when the tool exits, with the tool's exit code.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { InvalidInput, type Keyfob } from '@keyfob/core';
import { type AppIdentity, appEnvVar, type Command, jsonFlag, profileFlags } from '../command.js';
import type { Env } from '../io.js';
import { toJson } from '../io.js';
import { openKeyfob, optionalString } from './shared.js';

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const proxy: Command = {
  name: 'proxy',
  summary: 'run a local credential proxy for tools (127.0.0.1 only)',
  usage: '[--profile NAME] [--port N] [--scope SCOPE] [--json] [-- TOOL ARGS...]',
  description: [
    "Forwards requests that carry the proxy's key (Proxy-Authorization: Bearer KEY, or the app's X-<App>-Proxy-Key header, named when the proxy starts) under the profile's api_base (or its tenant's server_url), adding a fresh credential; never to the identity provider or the control plane. Set-Cookie is dropped and echoed credentials come back as [REDACTED].",
    'With -- TOOL, the tool runs with KEYFOB_PROXY_URL and KEYFOB_PROXY_KEY set and without the credential variables of keyfob (KEYFOB_TOKEN and the like); the proxy stops when it exits, and keyfob exits with its code. A tool running as the same user can still read what that user can: run untrusted tools as another user or in a container, with the proxy as their only way in.',
  ].join('\n\n'),
  examples: [
    { what: 'start a proxy and print its URL and key', run: 'keyfob proxy --profile ci' },
    {
      what: 'run a tool that may only read the registry',
      run: 'keyfob proxy --profile ci --scope registry:read -- ./tool.sh list',
    },
  ],
  maxPositionals: Number.POSITIVE_INFINITY,
  flags: {
    ...profileFlags,
    ...jsonFlag,
    port: {
      type: 'string',
      value: 'N',
      description: 'listen on this port of 127.0.0.1 (default: any free port)',
    },
    scope: {
      type: 'string',
      value: 'SCOPE',
      description: 'hold a token with only these scopes (commas or spaces)',
    },
  },
  async run({ io, app, values, positionals }) {
    const port = parsePort(optionalString(values.port));
    const kf = await openKeyfob(io, app, values);
    const scope = optionalString(values.scope);
    const running = await kf.proxy({
      ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(scope !== undefined ? { scope } : {}),
    });
    try {
      const [tool, ...args] = positionals;
      if (tool === undefined) {
        io.stdout.write(
          values.json
            ? toJson({
                url: running.url,
                key: running.key,
                pid: process.pid,
                upstream: running.upstream,
                key_header: keyHeader(app),
              })
            : `${appEnvVar(app, 'PROXY_URL')}=${running.url}\n${appEnvVar(app, 'PROXY_KEY')}=${running.key}\n`,
        );
        io.stderr.write(
          `${app.name}: proxy to ${running.upstream} on ${running.url}; send the key as Proxy-Authorization: Bearer KEY or ${keyHeader(app)}: KEY; Ctrl-C stops it\n`,
        );
        await untilSignal();
        return 0;
      }
      const env = await toolEnv(io.env, app, kf);
      env[appEnvVar(app, 'PROXY_URL')] = running.url;
      env[appEnvVar(app, 'PROXY_KEY')] = running.key;
      return await runTool(app.name, tool, args, env);
    } finally {
      await running.close();
    }
  },
};

/** `X-Keyfob-Proxy-Key`, `X-Acme-Proxy-Key`: the header that carries the key besides Proxy-Authorization. */
function keyHeader(app: AppIdentity): string {
  return `X-${app.name.charAt(0).toUpperCase()}${app.name.slice(1)}-Proxy-Key`;
}

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new InvalidInput('--port takes a port number from 0 to 65535');
  }
  return Number(value);
}

/**
 * The tool's environment: this one minus every credential keyfob reads (`<PREFIX>_TOKEN`,
 * `_TOKEN_FILE`, `_CLIENT_ID`/`_SECRET`, `_ADMIN_API_KEY`, `_PASSPHRASE`, `_IDENTITY_FILE`, the fleet's
 * `_FLEET_REDIS` and `_FLEET_KEY`, and
 * any other variable of the prefix that names a token, secret, key or password) and every
 * variable whose value is a secret of the configuration (`client_secret: ${ROBOT_SECRET}`).
 */
async function toolEnv(env: Env, app: AppIdentity, kf: Keyfob): Promise<Record<string, string>> {
  const named = new Set(
    [
      'TOKEN',
      'TOKEN_FILE',
      'CLIENT_ID',
      'CLIENT_SECRET',
      'ADMIN_API_KEY',
      'PASSPHRASE',
      'IDENTITY_FILE',
      'FLEET_REDIS',
      'FLEET_KEY',
    ].map((suffix) => appEnvVar(app, suffix)),
  );
  const secretValues = new Set<string>();
  try {
    for (const provider of Object.values((await kf.config()).providers)) {
      for (const key of ['client_secret', 'admin_api_key', 'token']) {
        const value = (provider as unknown as Record<string, unknown>)[key];
        if (typeof value === 'string' && value !== '') secretValues.add(value);
      }
    }
  } catch {
    // The proxy started, so the configuration was read; nothing more to drop if it cannot be now.
  }
  const prefix = `${app.envPrefix}_`;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || named.has(name) || secretValues.has(value)) continue;
    if (
      name.startsWith(prefix) &&
      /TOKEN|SECRET|KEY|PASSWORD|PASSPHRASE|CREDENTIAL/.test(name.slice(prefix.length))
    )
      continue;
    out[name] = value;
  }
  return out;
}

/** Runs the tool to its end, forwarding signals; its exit code, or 128 + its signal's number. */
function runTool(label: string, tool: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(tool, args, { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = (code: number) => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      resolve(code);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      process.stderr.write(
        `${label} proxy: could not run ${JSON.stringify(tool)}: ${error.code === 'ENOENT' ? 'not found' : (error.code ?? 'failed')}\n`,
      );
      done(127);
    });
    child.once('exit', (code, signal) => {
      done(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/** Resolves at the first SIGINT, SIGTERM or SIGHUP. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      for (const signal of FORWARDED_SIGNALS) process.off(signal, stop);
      resolve();
    };
    for (const signal of FORWARDED_SIGNALS) process.on(signal, stop);
  });
}
