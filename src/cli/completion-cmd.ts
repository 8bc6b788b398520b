/** capctl completion SHELL: print the bash, zsh or fish completion script. */
import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from './completion.js';

export function register(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (subcommands, options and their choices)')
    .addArgument(new Argument('<SHELL>', 'the shell').choices([...SHELLS]))
    .addHelpText(
      'after',
      `
Examples:
  capctl completion bash > capctl.bash          # then: source capctl.bash
  capctl completion zsh > _capctl               # a directory in $fpath
  capctl completion fish > capctl.fish          # ~/.config/fish/completions/`,
    )
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}
