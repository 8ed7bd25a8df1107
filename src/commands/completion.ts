import { Argument, type Command } from 'commander';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script: commands, options, providers, event names.')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      `
Examples:
  $ source <(wearhook completion bash)                                 # in ~/.bashrc
  $ source <(wearhook completion zsh)                                  # in ~/.zshrc, after compinit
  $ wearhook completion fish > ~/.config/fish/completions/wearhook.fish`,
    )
    .action(async (shell: 'bash' | 'zsh' | 'fish', _opts: unknown, cmd: Command) => {
      const [{ completionSpecs }, { completionScript }] = await Promise.all([import('../completion/spec.js'), import('../completion/scripts.js')]);
      let root = cmd;
      while (root.parent) root = root.parent;
      process.stdout.write(completionScript(shell, completionSpecs(root)));
    });
}
