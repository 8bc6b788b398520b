#!/usr/bin/env node
/**
 * capctl entry point: builds the commander program from the registry and runs it. Errors from
 * commands arrive here as values (CapctlError) and leave as one line plus an exit code.
 */
import { Command, CommanderError } from 'commander';
import { COMMANDS, modulesFor } from './commands.js';
import { reportError } from './output.js';

/**
 * The commander program with the commands `argv` needs (process.argv form: node, script,
 * args...), or all of them when `argv` is not given (help text, man page, completion).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
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
  const modules = argv === undefined ? COMMANDS : modulesFor(argv.slice(2));
  // Imported together, registered in the list's order (the order `--help` shows).
  for (const mod of await Promise.all(modules.map((m) => m.load()))) mod.register(program);
  return program;
}

let stdoutGuarded = false;

export async function main(argv: string[]): Promise<void> {
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
    // audit query/summary of a large file: the segment workers start before this thread loads
    // the audit modules, so their start-ups overlap on the other core (audit/segment-pool.ts).
    if (argv[2] === 'audit' && (argv[3] === 'query' || argv[3] === 'summary')) {
      const paths = argv.slice(4).filter((a) => !a.startsWith('-'));
      (await import('../audit/segment-pool.js')).startSegmentWorkersFor(paths, argv[3] === 'query' ? 1 : 2);
    }
    const program = await buildProgram(argv);
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
