import type { CommandSpec, OptionSpec, Values } from './spec.js';

/** The completion scripts of `wearhook completion bash|zsh|fish`, generated from the command tree. */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Single-quoted for sh, bash, zsh and fish alike (the words wearhook completes hold no quote). */
const q = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const key = (spec: CommandSpec) => spec.path.join(' ');

function valueCases(specs: readonly CommandSpec[], root: CommandSpec): string[] {
  const lines: string[] = [];
  for (const spec of specs) {
    const own = new Set(spec.options.flatMap((o) => o.names));
    // Options of the program (--db, --json, ...) are accepted after any command too.
    const options: OptionSpec[] = [...spec.options, ...(spec === root ? [] : root.options.filter((o) => !o.names.some((n) => own.has(n))))];
    for (const option of options.filter((o) => o.takesValue && o.values.kind !== 'none')) {
      const pattern = option.names.map((name) => q(`${key(spec)}|${name}`)).join('|');
      const action = option.values.kind === 'file' ? 'file=1' : `words=${q((option.values as { words: string[] }).words.join(' '))}`;
      lines.push(`    ${pattern}) ${action} ;;`);
    }
  }
  return lines;
}

function argCases(specs: readonly CommandSpec[]): string[] {
  const lines: string[] = [];
  for (const spec of specs) {
    spec.args.forEach((arg, index) => {
      if (arg.kind === 'words') lines.push(`    ${q(`${key(spec)}|${index}`)}) words=${q(arg.words.join(' '))} ;;`);
      if (arg.kind === 'file') lines.push(`    ${q(`${key(spec)}|${index}`)}) file=1 ;;`);
      if (arg.kind === 'byFirst') {
        const inner = Object.entries(arg.words).map(([first, list]) => `${q(first)}) words=${q(list.join(' '))} ;;`);
        lines.push(`    ${q(`${key(spec)}|${index}`)}) case "$3" in ${inner.join(' ')} esac ;;`);
      }
    });
  }
  return lines;
}

function bashFunctions(specs: readonly CommandSpec[]): string {
  const root = specs[0]!;
  const rootOptions = root.options.flatMap((o) => o.names);
  const specCases = specs.map((spec) => {
    const options = [...new Set([...spec.options.flatMap((o) => o.names), ...rootOptions])].filter((n) => n.startsWith('--'));
    const valued = [...new Set([...spec.options, ...root.options].filter((o) => o.takesValue).flatMap((o) => o.names))];
    return `    ${q(key(spec))}) subs=${q(spec.subcommands.join(' '))}; opts=${q(options.join(' '))}; valued=${q(` ${valued.join(' ')} `)} ;;`;
  });
  return `_wearhook_spec() {
  subs=; opts=; valued=
  case "$1" in
${specCases.join('\n')}
  esac
}

_wearhook_values() {
  words=; file=
  case "$1|$2" in
${valueCases(specs, root).join('\n')}
  esac
}

_wearhook_args() {
  words=; file=
  case "$1|$2" in
${argCases(specs).join('\n')}
  esac
}

_wearhook() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path= word= i skip= count=0 first= subs= opts= valued= words= file= option=
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n "$skip" ]]; then skip=; continue; fi
    _wearhook_spec "$path"
    case "$word" in
      --*=*) continue ;;
      -*) [[ "$valued" == *" $word "* ]] && { skip=1; option="$word"; }; continue ;;
    esac
    if [[ " $subs " == *" $word "* ]]; then
      path="\${path:+$path }$word"
    else
      [[ $count -eq 0 ]] && first="$word"
      count=$((count + 1))
    fi
  done
  _wearhook_spec "$path"
  if [[ -n "$skip" ]]; then
    _wearhook_values "$path" "$option"
  elif [[ "$cur" == -* ]]; then
    words="$opts"
  elif [[ -n "$subs" ]]; then
    words="$subs"
  else
    _wearhook_args "$path" "$count" "$first"
  fi
  if [[ -n "$file" ]]; then
    type compopt >/dev/null 2>&1 && compopt -o filenames
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
`;
}

function bash(specs: readonly CommandSpec[]): string {
  return `# wearhook completion for bash. Load it in ~/.bashrc:
#   source <(wearhook completion bash)
# or save it once: wearhook completion bash > ~/.local/share/bash-completion/completions/wearhook
${bashFunctions(specs)}
complete -F _wearhook wearhook
`;
}

function zsh(specs: readonly CommandSpec[]): string {
  return `# wearhook completion for zsh (through zsh's bash completion support). Load it in ~/.zshrc:
#   autoload -Uz compinit && compinit
#   source <(wearhook completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashFunctions(specs)}
complete -F _wearhook wearhook
`;
}

/** fish: one `complete` line per subcommand, option and value, each with the condition that it applies. */
function fish(specs: readonly CommandSpec[]): string {
  const lines = ['# wearhook completion for fish. Load it once:', '#   wearhook completion fish > ~/.config/fish/completions/wearhook.fish', 'complete -c wearhook -f'];
  const groups = new Set(specs.filter((s) => s.subcommands.length > 0).map(key));
  const condition = (spec: CommandSpec) => {
    if (spec.path.length === 0) return '__fish_use_subcommand';
    const seen = spec.path.map((word) => `__fish_seen_subcommand_from ${word}`);
    // In a group (`events`), only until one of its subcommands is given.
    if (spec.subcommands.length > 0) seen.push(`not __fish_seen_subcommand_from ${spec.subcommands.join(' ')}`);
    return seen.join('; and ');
  };
  const fishValues = (values: Values) => (values.kind === 'file' ? '-r -F' : values.kind === 'words' ? `-x -a ${q(values.words.join(' '))}` : '-x');
  for (const spec of specs) {
    const when = q(condition(spec));
    if (spec.subcommands.length > 0) lines.push(`complete -c wearhook -n ${when} -a ${q(spec.subcommands.join(' '))}`);
    for (const option of spec.options) {
      const names = option.names.map((n) => (n.startsWith('--') ? `-l ${n.slice(2)}` : `-s ${n.slice(1)}`)).join(' ');
      const scope = spec.path.length === 0 ? '' : `-n ${when} `;
      lines.push(`complete -c wearhook ${scope}${names}${option.takesValue ? ` ${fishValues(option.values)}` : ''}`);
    }
    if (groups.has(key(spec))) continue;
    spec.args.forEach((arg, index) => {
      if (arg.kind === 'words') {
        const prior = index === 0 ? `; and not __fish_seen_subcommand_from ${arg.words.join(' ')}` : '';
        lines.push(`complete -c wearhook -n ${q(condition(spec) + prior)} -a ${q(arg.words.join(' '))}`);
      }
      if (arg.kind === 'byFirst') {
        for (const [first, list] of Object.entries(arg.words)) {
          lines.push(`complete -c wearhook -n ${q(`${condition(spec)}; and __fish_seen_subcommand_from ${first}`)} -a ${q(list.join(' '))}`);
        }
      }
    });
  }
  return `${lines.join('\n')}\n`;
}

export function completionScript(shell: Shell, specs: readonly CommandSpec[]): string {
  return { bash, zsh, fish }[shell](specs);
}
