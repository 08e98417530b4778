/**
 * The keyfob agent itself: one per home and config, on a Unix socket (DESIGN.md, The keyfob
 * agent). It answers `token` from a long-lived instance whose keychain reads are kept by
 * generation and whose encrypted-file identity stays unlocked for `unlock_timeout`; every
 * request reads the state file and the profile's stored generation again, so a `logout`,
 * `switch` or refresh by a process without the agent is never hidden by its memory. Renewals
 * run through the same single-flight and profile locks as every other process.
 */
import { mkdir, stat, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { viewConfig } from '../config/look.js';
import { appNames, envVar } from '../config/names.js';
import { DEFAULT_AGENT_CONFIG } from '../config/schema.js';
import { InsecurePermissions, InvalidInput, isKeyfobError, KeyfobError } from '../errors.js';
import { createContext, type InstanceContext } from '../instance/context.js';
import { getToken, TokenMemo } from '../instance/token.js';
import { obtainedAtOf } from '../instance/token-memo.js';
import { withLock } from '../lifecycle/lock.js';
import { callAgent } from './client.js';
import { agentFingerprint } from './fingerprint.js';
import { HeldIdentities, wire } from './identities.js';
import {
  AGENT_PROTOCOL_VERSION,
  type AgentAnswer,
  type AgentRequest,
  type AgentStatusInfo,
  LineReader,
} from './protocol.js';
import { type AgentLocation, type AgentSpec, agentLocation, checkAgentDir } from './socket.js';

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  spec: AgentSpec;
  /** The agent's whole environment (already scrubbed by whoever started it). */
  env: Readonly<Record<string, string | undefined>>;
  /** One line per event, for the agent's log; never a secret. */
  log: (line: string) => void;
  /** Called once the agent has stopped (idle, `agent stop`, a signal). */
  onStop?: (why: string) => void;
}

/** A running agent. */
export interface RunningAgent {
  location: AgentLocation;
  stop(why: string): Promise<void>;
}

/** An agent already answers on the socket. */
export class AgentAlreadyRunning extends KeyfobError {
  constructor(
    readonly pid: number,
    readonly socket: string,
  ) {
    super('INVALID_INPUT', `an agent already runs (pid ${pid}) on ${socket}`);
  }
}

/**
 * Starts the agent: checks (and creates) its 0700 directory, replaces a stale socket of a
 * killed agent, refuses when one answers, and listens.
 * @throws InsecurePermissions when the directory is not the user's own private directory.
 * @throws AgentAlreadyRunning when an agent answers on the socket.
 */
export async function runAgent(options: RunAgentOptions): Promise<RunningAgent> {
  const { spec, env, log } = options;
  const names = appNames(spec.app, { envPrefix: spec.envPrefix, envRenames: spec.envRenames });
  const location = agentLocation(spec, env);
  if (!location) throw new InvalidInput('no directory gives the agent a socket path short enough');
  await mkdir(location.dir, { mode: 0o700 }).catch(() => undefined);
  const dir = checkAgentDir(location.dir);
  if (dir.status !== 'ok') {
    throw new InsecurePermissions(
      dir.status === 'refused'
        ? `the agent's directory is refused: ${dir.reason}`
        : `cannot create ${location.dir}`,
      { hint: dir.status === 'refused' ? `run \`${dir.fix}\`` : 'check the directory' },
    );
  }

  const started = Date.now();
  let settings = { ...DEFAULT_AGENT_CONFIG };
  let current: { fingerprint: string; ctx: InstanceContext } | null = null;
  const identities = new HeldIdentities(log);
  let requests = 0;
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  let watch: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | null = null;
  let socketIno: number | null = null;

  const newContext = () =>
    createContext(
      {
        appName: spec.app,
        envPrefix: spec.envPrefix,
        env: spec.envRenames,
        cliName: spec.cliName,
        commandNames: spec.commandNames,
        home: spec.home,
        configPath: spec.configPath,
        environment: env,
      },
      {
        noAgent: true,
        cacheStoreReads: true,
        identityKeeper: {
          unlocked: (file) => identities.get(file),
          // The agent never asks for a passphrase: a client hands it over (`unlock`).
          unlock: async () => null,
        },
      },
    );

  /**
   * The agent's own fingerprint, kept while one look at the config file and its cache sees the
   * same (the file's size, times and inode, and the cache's text, which a home or cache folder
   * gone unsafe hides): its environment never changes, so only they can change it, and the JSON
   * parse and hash cost each request more than the look.
   */
  let kept: { seen: string; fingerprint: string } | null = null;
  function ownFingerprint(): string | null {
    const view = viewConfig(spec);
    if (view === null) return null;
    const { stats, cacheText } = view;
    const seen = JSON.stringify([stats && [stats.size, stats.mtimeMs, stats.ctimeMs, stats.ino], cacheText]);
    if (kept?.seen === seen) return kept.fingerprint;
    const fingerprint = agentFingerprint(spec, names, env, view);
    kept = fingerprint === null ? null : { seen, fingerprint };
    return fingerprint;
  }

  /** The instance for this config and environment, made again when the config changed. */
  async function contextFor(fingerprint: string | null): Promise<InstanceContext | null> {
    let own = ownFingerprint();
    if (own === null) {
      // The config changed and no one validated it since: validating writes the cache.
      await newContext()
        .config()
        .catch(() => undefined);
      own = ownFingerprint();
    }
    if (own === null || own !== fingerprint) return null;
    if (current?.fingerprint !== own) {
      // The previous instance's connections are idle from now on.
      void current?.ctx.close();
      const ctx = newContext();
      settings = (await ctx.config()).agent;
      current = { fingerprint: own, ctx };
      armIdle();
    }
    return current.ctx;
  }

  async function handle(request: AgentRequest): Promise<AgentAnswer> {
    switch (request.op) {
      case 'token': {
        const ctx = await contextFor(request.fingerprint);
        if (!ctx) return { ok: false, reason: 'fingerprint' };
        try {
          // A memo of its own per request: the store is read again each time (see the file comment).
          const result = await getToken(ctx, new TokenMemo(), {
            ...(request.profile !== undefined ? { profile: request.profile } : {}),
            ...(request.tenant !== undefined ? { tenant: request.tenant } : {}),
            ...(request.resource !== undefined ? { resource: request.resource } : {}),
            ...(request.scopes !== undefined ? { scopes: request.scopes } : {}),
            minTtl: request.minTtl,
            ...(request.forceRefresh ? { forceRefresh: true } : {}),
          });
          log(`token for profile ${result.profile}: served (expires ${result.expires_at ?? 'never'})`);
          return { ok: true, token: { ...result, obtained_at: obtainedAtOf(result) } };
        } catch (error) {
          const code = isKeyfobError(error) ? error.code : 'UNEXPECTED';
          if (code === 'STORE_UNAVAILABLE' && (await identities.locked(identityFile()))) {
            // Not a failure: the first client with the passphrase hands it over (`unlock`).
            log(
              `token for profile ${request.profile ?? '(selected)'}: waiting for a client to unlock the encrypted store`,
            );
            return { ok: false, reason: 'locked' };
          }
          log(`token for profile ${request.profile ?? '(selected)'}: ${code}`);
          return {
            ok: false,
            reason: 'error',
            code,
            ...(isKeyfobError(error) ? { message: error.message } : {}),
          };
        }
      }
      case 'identity': {
        if (request.file !== identityFile()) return { ok: false, reason: 'bad-request' };
        const identity = await identities.get(request.file);
        return identity ? { ok: true, identity: wire(identity) } : { ok: false, reason: 'locked' };
      }
      case 'unlock': {
        if (request.file !== identityFile() || typeof request.passphrase !== 'string')
          return { ok: false, reason: 'bad-request' };
        try {
          const identity = await identities.unlock(request.file, request.passphrase, {
            lockPath: join(spec.home, 'locks', '@identity.lock'),
            cliName: spec.cliName,
            passphraseVar: envVar(names, 'PASSPHRASE'),
            unlockTimeout: settings.unlock_timeout,
          });
          if (!identity) return { ok: false, reason: 'locked' };
          return { ok: true, identity: wire(identity) };
        } catch (error) {
          log(`unlock of ${request.file} refused: ${isKeyfobError(error) ? error.code : 'error'}`);
          // The client shows this one as it is (a wrong passphrase) instead of running scrypt again.
          return {
            ok: false,
            reason: 'error',
            ...(isKeyfobError(error) ? { code: error.code, message: error.message } : {}),
          };
        }
      }
      case 'status':
        return { ok: true, status: statusInfo() };
      case 'stop':
        setImmediate(() => void stop('agent stop'));
        return { ok: true, stopping: true };
      default:
        return { ok: false, reason: 'bad-request' };
    }
  }

  const identityFile = () => join(spec.home, 'identity.age');

  function statusInfo(): AgentStatusInfo {
    return {
      pid: process.pid,
      version: AGENT_PROTOCOL_VERSION,
      socket: location?.socket ?? '',
      home: spec.home,
      config: spec.configPath,
      started_at: new Date(started).toISOString(),
      idle_exit_at: new Date(idleDeadline).toISOString(),
      idle_timeout: settings.idle_timeout,
      unlock_timeout: settings.unlock_timeout,
      unlocked: identities.list(),
      requests,
    };
  }

  let idleDeadline = Date.now();
  function armIdle() {
    clearTimeout(idleTimer);
    idleDeadline = Date.now() + settings.idle_timeout * 1000;
    idleTimer = setTimeout(() => {
      if (inFlight > 0) return armIdle();
      void stop(`idle for ${settings.idle_timeout} s`);
    }, settings.idle_timeout * 1000);
  }

  function serve(socket: Socket) {
    const lines = new LineReader();
    let answered = false;
    socket.setEncoding('utf8');
    socket.on('error', () => undefined);
    socket.setTimeout(30_000, () => socket.destroy());
    socket.write(`${JSON.stringify({ agent: 'keyfob', v: AGENT_PROTOCOL_VERSION, pid: process.pid })}\n`);
    socket.on('data', (chunk: string) => {
      let received: string[];
      try {
        received = lines.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      const line = received[0];
      if (line === undefined || answered) return;
      answered = true;
      let request: AgentRequest;
      try {
        request = JSON.parse(line) as AgentRequest;
      } catch {
        socket.end(`${JSON.stringify({ ok: false, reason: 'bad-request' })}\n`);
        return;
      }
      requests++;
      inFlight++;
      armIdle();
      socket.setTimeout(0);
      handle(request)
        .catch((): AgentAnswer => ({ ok: false, reason: 'error' }))
        .then((answer) => socket.end(`${JSON.stringify(answer)}\n`))
        .finally(() => {
          inFlight--;
          if (stopping === null) armIdle();
        });
    });
  }

  const server: Server = createServer(serve);
  await withLock(`${location.socket}.lock`, async () => {
    const existing = await callAgent(location, { op: 'status' });
    if (existing.status === 'answered' && existing.answer.ok && 'status' in existing.answer) {
      throw new AgentAlreadyRunning(existing.answer.status.pid, location.socket);
    }
    // Anything else at that path is a stale socket (a killed agent) or junk: replaced.
    await unlink(location.socket).catch(() => undefined);
    const previous = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(location.socket, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(previous);
    }
    socketIno = (await stat(location.socket)).ino;
  });
  // The first config read: its timeouts, and the cache the fingerprints need.
  const first = newContext();
  settings = await first
    .config()
    .then((cfg) => cfg.agent)
    .catch(() => ({ ...DEFAULT_AGENT_CONFIG }));
  armIdle();
  // A home or socket removed under the agent (`rm -rf` of a test's or project's home, another
  // agent in its place) leaves it nothing to serve: it goes instead of idling for an hour.
  watch = setInterval(() => {
    void Promise.all([stat(location.socket).catch(() => null), stat(spec.home).catch(() => null)]).then(
      ([socketNow, homeNow]) => {
        if (!homeNow || !socketNow || socketNow.ino !== socketIno)
          void stop('its home or socket was removed');
      },
    );
  }, WATCH_MS);
  watch.unref();
  log(`started (pid ${process.pid}, protocol ${AGENT_PROTOCOL_VERSION}) on ${location.socket}`);

  async function stop(why: string): Promise<void> {
    stopping ??= (async () => {
      clearTimeout(idleTimer);
      clearInterval(watch);
      identities.forgetAll(why);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      // Only our own socket: a newer agent may already listen at the same path.
      const now = await stat(location!.socket).catch(() => null);
      if (now && now.ino === socketIno) await unlink(location!.socket).catch(() => undefined);
      log(`stopped: ${why}`);
      options.onStop?.(why);
    })();
    return stopping;
  }

  return { location, stop };
}

/** How often the agent checks that its home and socket are still there. */
const WATCH_MS = 5_000;
