/**
 * The root program (name, description, version, error handling) and how it runs, shared by
 * main.ts (every command) and audit-main.ts (the audit commands alone).
 */
import { Command, CommanderError } from 'commander';
import { reportError } from './output.js';

export function rootProgram(registers: ReadonlyArray<(program: Command) => void>): Command {
  const program = new Command();
  program
    .name('capctl')
    .description(
      'Linux capabilities and FreeBSD priv(9) in one policy engine: libcap-exact capability text, live ' +
        'process and file inspection, strace replay through a per-thread Linux capability model, ' +
        'jail-aware priv_check, and YAML profiles. Run `capctl COMMAND --help` for examples.',
    )
    .version('0.1.0')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  for (const register of registers) register(program);
  return program;
}

let stdoutGuarded = false;

export async function runProgram(program: Command, argv: string[]): Promise<void> {
  // A reader that closes the pipe early (`capctl ps | head`) ends output quietly, as the C
  // tools do, instead of an unhandled EPIPE stack trace. Once per process: tests call main()
  // many times in one process.
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      reportError(err);
    });
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (usage errors) or the help text.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    reportError(err);
  }
}
