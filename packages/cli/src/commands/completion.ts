/**
 * `keyfob completion bash|zsh|fish` prints a completion script; the script asks
 * `keyfob __complete WORDS…` for the candidates each time (as gh's cobra scripts do), so
 * commands, flags, profiles and providers are always the installed version's and the current
 * config's. `__complete` reads config.yaml and the state file only: no network, no keychain.
 */
import type { AppIdentity, Command, FlagValues } from '../command.js';
import type { CommandTable } from '../run.js';
import { openKeyfob } from './shared.js';

const SHELLS = ['bash', 'zsh', 'fish'] as const;
type Shell = (typeof SHELLS)[number];

/** `completion bash|zsh|fish`. */
export const completion: Command = {
  name: 'completion',
  summary: 'print a shell completion script (bash, zsh or fish)',
  usage: 'bash|zsh|fish',
  examples: [
    { what: 'complete in this bash session', run: 'source <(keyfob completion bash)' },
    { what: 'for every new bash', run: "echo 'source <(keyfob completion bash)' >> ~/.bashrc" },
    { what: 'zsh (after compinit)', run: 'source <(keyfob completion zsh)' },
    { what: 'fish', run: 'keyfob completion fish > ~/.config/fish/completions/keyfob.fish' },
  ],
  description:
    'The script completes commands, flags, profile names and provider names; it calls keyfob back for them, so it stays right when the config changes.',
  maxPositionals: 1,
  flags: {},
  async run({ io, app, positionals }) {
    const shell = positionals[0];
    if (!SHELLS.includes(shell as Shell)) {
      const { InvalidInput } = await import('@keyfob/core');
      throw new InvalidInput(`name the shell: \`${app.commandPrefix} completion bash|zsh|fish\``);
    }
    io.stdout.write(completionScript(shell as Shell, app));
    return 0;
  },
};

/** The hidden `__complete WORDS…` the scripts call: one candidate a line, for the last word. */
export function completeCommand(table: CommandTable): Command {
  return {
    name: '__complete',
    summary: 'candidates for shell completion',
    usage: 'WORDS...',
    maxPositionals: 1000,
    flags: {},
    async run({ io, app, positionals }) {
      const candidates = await complete(positionals, app, table, io);
      if (candidates.length) io.stdout.write(`${candidates.join('\n')}\n`);
      return 0;
    },
  };
}

/**
 * The candidates for the last of `words` (the words after the command prefix; the last one is
 * being typed, possibly empty). Never throws: a broken config completes nothing.
 */
export async function complete(
  words: readonly string[],
  app: AppIdentity,
  table: CommandTable,
  io: Parameters<typeof openKeyfob>[0],
): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const before = words.slice(0, -1);
  const matching = (list: readonly string[]) => list.filter((c) => c.startsWith(current));
  const commands = Object.keys(table).filter((name) => !name.startsWith('__'));
  const [name] = before;
  if (name === undefined) return matching(commands);
  if (name === 'help') return before.length === 1 ? matching([...commands, 'environment', 'exit-codes']) : [];
  if (name === 'completion') return before.length === 1 ? matching(SHELLS) : [];
  const entry = Object.hasOwn(table, name) && !name.startsWith('__') ? table[name] : undefined;
  if (!entry) return [];
  let command: Command;
  try {
    command = await entry.load();
  } catch {
    return [];
  }
  const previous = before.at(-1) ?? '';
  const previousFlag = previous.startsWith('--') ? command.flags[previous.slice(2)] : undefined;
  if (previousFlag?.type === 'string') {
    if (previous === '--profile') return matching(await known('profiles', before, app, io));
    if (previous === '--provider') return matching(await known('providers', before, app, io));
    return [];
  }
  if (current.startsWith('-')) return matching([...Object.keys(command.flags), 'help'].map((f) => `--${f}`));
  if (Array.isArray(command.completes))
    return positionalsIn(before, command) === 0 ? matching(command.completes) : [];
  if (typeof command.completes === 'string') return matching(await known(command.completes, before, app, io));
  return [];
}

/** How many positional arguments `before` holds after the command name (flags and their values skipped). */
function positionalsIn(before: readonly string[], command: Command): number {
  let count = 0;
  for (let i = 1; i < before.length; i++) {
    const word = before[i] ?? '';
    if (!word.startsWith('-')) count++;
    else if (!word.includes('=') && command.flags[word.replace(/^--?/, '')]?.type === 'string') i++;
  }
  return count;
}

/** Profile or provider names from the config and state files (the `--config` typed counts). */
async function known(
  what: 'profiles' | 'providers',
  before: readonly string[],
  app: AppIdentity,
  io: Parameters<typeof openKeyfob>[0],
): Promise<string[]> {
  const at = before.indexOf('--config');
  const values: FlagValues = { 'no-input': true, ...(at >= 0 ? { config: before[at + 1] } : {}) };
  try {
    const kf = await openKeyfob(io, app, values);
    if (what === 'providers') return Object.keys((await kf.config()).providers).sort();
    return await kf.profiles();
  } catch {
    return [];
  }
}

/** The script for `shell`, for the program and words the app's commands are typed with. */
export function completionScript(shell: Shell, app: AppIdentity): string {
  const [program = app.name, ...sub] = app.commandPrefix.split(/\s+/);
  const fn = `__${app.name.replaceAll(/[^A-Za-z0-9_]/g, '_')}${sub.map((w) => `_${w.replaceAll(/[^A-Za-z0-9_]/g, '_')}`).join('')}_complete`;
  const n = sub.length + 1;
  if (shell === 'bash') {
    const check = sub.map((w, i) => ` && [[ "\${COMP_WORDS[${i + 1}]}" == ${quote(w)} ]]`).join('');
    return `# bash completion for ${app.commandPrefix}; load with: source <(${app.commandPrefix} completion bash)
${fn}() {
  COMPREPLY=()
  (( COMP_CWORD >= ${n} ))${check} || return 0
  local line
  while IFS= read -r line; do
    [[ -n "$line" ]] && COMPREPLY+=("$line")
  done < <("\${COMP_WORDS[0]}"${sub.map((w) => ` ${quote(w)}`).join('')} __complete "\${COMP_WORDS[@]:${n}:COMP_CWORD-${n - 1}}" 2>/dev/null)
}
complete -o default -F ${fn} ${program}
`;
  }
  if (shell === 'zsh') {
    const check = sub.map((w, i) => ` && [[ "\${words[${i + 2}]}" == ${quote(w)} ]]`).join('');
    return `#compdef ${program}
# zsh completion for ${app.commandPrefix}; load with: source <(${app.commandPrefix} completion zsh)
${fn}() {
  (( CURRENT > ${n} ))${check} || return 1
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}"${sub.map((w) => ` ${quote(w)}`).join('')} __complete "\${(@)words[${n + 1},CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  if (( \${#candidates} )); then
    compadd -a candidates
  else
    _files
  fi
}
compdef ${fn} ${program}
`;
  }
  const check = sub.map((w, i) => `    test "$words[${i + 2}]" = ${quote(w)}; or return 1\n`).join('');
  return `# fish completion for ${app.commandPrefix}; load with: ${app.commandPrefix} completion fish | source
function ${fn}_prefix
    set -l words (commandline -opc)
    test (count $words) -ge ${n}; or return 1
${check}end
function ${fn}
    set -l words (commandline -opc) (commandline -ct)
    set -l found ($words[1]${sub.map((w) => ` ${quote(w)}`).join('')} __complete $words[${n + 1}..-1] 2>/dev/null)
    if test (count $found) -gt 0
        printf '%s\\n' $found
    else
        __fish_complete_path (commandline -ct)
    end
end
complete -c ${program} -f -n ${fn}_prefix -a '(${fn})'
`;
}

/** A word quoted for every one of the three shells (app names are plain words anyway). */
function quote(word: string): string {
  return `'${word.replaceAll("'", '')}'`;
}
