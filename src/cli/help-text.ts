/**
 * The help of the commander definitions as data, for everything generated from them: the man
 * page, shell completion, and the test that runs every example. One walk, so a command added
 * to src/cli/commands.ts appears in all three without further edits.
 */
import type { Command, Option } from 'commander';

export interface CommandInfo {
  /** Words after `capctl` ([] for the program itself, ['jail', 'create'] for a subcommand). */
  path: string[];
  cmd: Command;
  /** Usage as commander prints it after the name, e.g. "[options] <NAME>". */
  usage: string;
  description: string;
  options: readonly Option[];
  /** Subcommand names. */
  subcommands: string[];
  /** Text added after the standard help (addHelpText 'after'), without surrounding blank lines. */
  after: string;
}

/** What `capctl PATH --help` prints, addHelpText sections included. */
export function helpText(cmd: Command): string {
  let buf = '';
  const write = (s: string) => {
    buf += s;
  };
  cmd.configureOutput({ writeOut: write, writeErr: write });
  cmd.outputHelp();
  return buf;
}

/** Every command, depth first in help order, starting with the program. */
export function commandTree(program: Command): CommandInfo[] {
  const out: CommandInfo[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const full = helpText(cmd);
    const standard = cmd.helpInformation();
    const after = full.startsWith(standard) ? full.slice(standard.length) : '';
    out.push({
      path,
      cmd,
      usage: cmd.usage(),
      description: cmd.description(),
      options: cmd.options,
      subcommands: cmd.commands.map((c) => c.name()),
      after: after.replace(/^\n+|\n+$/g, ''),
    });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return out;
}

export interface HelpExample {
  /** The command path, e.g. "capctl jail create". */
  command: string;
  line: string;
  /** The shell text without the trailing comment. */
  shell: string;
  /** The exit status the example documents: `exit N` in its comment, else 0. */
  exit: number;
}

/** The lines under "Examples:" in every command's help. */
export function helpExamples(program: Command): HelpExample[] {
  const out: HelpExample[] = [];
  for (const info of commandTree(program)) {
    const lines = info.after.split('\n');
    const start = lines.findIndex((l) => /^Examples?:\s*$/.test(l));
    if (start < 0) continue;
    for (const l of lines.slice(start + 1)) {
      if (l.trim() === '') continue;
      if (!/^\s/.test(l)) break;
      const line = l.trim();
      // A comment starts at "  # " (a '#' inside quotes or jq filters is not preceded by two spaces).
      const m = /^(.*?)\s{2,}#\s(.*)$/.exec(line);
      out.push({
        command: ['capctl', ...info.path].join(' '),
        line,
        shell: m ? m[1]! : line,
        exit: m ? Number(/\bexit (\d)\b/.exec(m[2]!)?.[1] ?? 0) : 0,
      });
    }
  }
  return out;
}
