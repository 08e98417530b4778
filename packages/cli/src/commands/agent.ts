/**
 * `keyfob agent start|stop|status`: the per-user daemon that keeps keychain reads and an
 * unlocked encrypted store in memory and is the one refresher for the user's processes
 * (DESIGN.md, The keyfob agent). One per home and config; see the README's "The keyfob agent".
 */
import { agentStatus, InsecurePermissions, InvalidInput, startAgent, stopAgent } from '@keyfob/core';
import { type Command, jsonFlag, profileFlags } from '../command.js';
import { keyValueTable, paint, sanitize, toJson } from '../io.js';
import { openKeyfob } from './shared.js';

const SUBCOMMANDS = ['start', 'stop', 'status'] as const;

export const agent: Command = {
  name: 'agent',
  summary: 'start, stop or show the agent (tokens from memory, one refresher)',
  usage: 'start | stop | status [--json]',
  examples: [
    { what: 'start the agent for this home and config', run: 'keyfob agent start' },
    { what: 'what it holds and until when (never a secret)', run: 'keyfob agent status' },
    { what: 'stop it (it forgets the unlocked passphrase)', run: 'keyfob agent stop' },
  ],
  description:
    'With an agent, `keyfob token` and every command get tokens from its memory: keychain reads are kept, and the\nencrypted store is unlocked once per unlock_timeout (15 min). With `agent: auto` in config.yaml the first command that\nneeds it starts it. It exits after agent_idle_timeout (1 h) without a request. Exit status of status: 0 when an agent\nanswers, 1 when none does.',
  completes: SUBCOMMANDS,
  maxPositionals: 1,
  flags: { config: profileFlags.config as (typeof profileFlags)[string], ...jsonFlag },
  async run({ io, app, values, positionals }) {
    const sub = positionals[0];
    if (!SUBCOMMANDS.includes(sub as (typeof SUBCOMMANDS)[number])) {
      throw new InvalidInput(`say what to do: \`${app.commandPrefix} agent start|stop|status\``);
    }
    const kf = await openKeyfob(io, app, values);
    const asJson = values.json === true;
    if (sub === 'start') {
      const started = await startAgent(kf);
      if (asJson) io.stdout.write(toJson(started));
      io.stderr.write(
        `${sanitize(started.started ? `Agent started (pid ${started.pid}) on ${started.socket}; its log: ${started.log}.` : `An agent already runs (pid ${started.pid}) on ${started.socket}.`)}\n`,
      );
      return 0;
    }
    if (sub === 'stop') {
      const pid = await stopAgent(kf);
      if (asJson) io.stdout.write(toJson({ stopped: pid !== null, pid }));
      io.stderr.write(pid === null ? 'No agent was running.\n' : `Agent stopped (pid ${pid}).\n`);
      return 0;
    }
    const report = await agentStatus(kf);
    if (asJson) {
      io.stdout.write(toJson(report));
    } else if (report.running) {
      const s = report.status;
      const unlocked = s.unlocked.map((u) => `${u.file} until ${u.until}`).join(', ') || 'nothing';
      io.stdout.write(
        keyValueTable(
          [
            ['agent', `pid ${s.pid}, protocol ${s.version}, since ${s.started_at}`],
            ['socket', s.socket],
            ['config', s.config],
            ['unlocked', unlocked],
            ['unlock_timeout', `${s.unlock_timeout} s`],
            ['idle exit', `${s.idle_exit_at} (agent_idle_timeout ${s.idle_timeout} s)`],
            ['requests', String(s.requests)],
          ].map(([k, v]) => [k as string, sanitize(v as string)] as const),
          paint(io.stdout, io.env),
        ),
      );
    }
    if (report.running) return 0;
    if (report.refused) {
      // Exit 1 naming the directory and the fix, as every refused path does.
      throw new InsecurePermissions(`the agent's directory is refused: ${report.refused.reason}`, {
        hint: `run \`${report.refused.fix}\``,
      });
    }
    if (!asJson)
      io.stderr.write(
        `${sanitize(`No agent answers (${report.reason}); socket ${report.socket ?? 'none'}.`)}\n`,
      );
    return 1;
  },
};
