/**
 * `capctl record`: run a command under strace and write a recording directory that
 * `capctl replay DIR` replays with no further flags. Thin: flags → src/live/record.ts → output.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { inputError } from '../caps/errors.js';
import { record } from '../live/record.js';
import { printJson } from './output.js';

interface RecordOpts {
  out?: string;
  straceArgs?: string;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('record')
    .description('run a command under strace and record every fact capctl replay needs')
    .argument('<CMD...>', 'the command and its arguments (after --)')
    .option('--out <DIR>', 'recording directory (default: ./capctl-recording-CMD-PID)')
    .option('--strace-args <ARGS>', 'extra strace options, space-separated (e.g. "-tt -T" or "-e verbose=none")')
    .option('--quiet', "discard the command's output")
    .option('--json', 'print the recording (recording.json) and its directory as JSON')
    .addHelpText(
      'after',
      `
The directory holds trace.txt (strace -f -y -s 256), status.txt (the starting credential) and
recording.json (securebits, kernel release, sysctls, id maps, working directory, and owner,
mode, file capabilities, #! interpreter and mount flags of every executed file).

Examples:
  capctl record --out rec-ping -- ping -c1 127.0.0.1
  capctl replay rec-ping --check
  capctl record --out rec-setpriv --strace-args "-tt -T" -- setpriv --reuid=65534 --clear-groups id
  capctl replay rec-setpriv --host freebsd --jail-param allow.raw_sockets=1`,
    )
    .action((cmd: string[], opts: RecordOpts) => {
      const out = resolve(opts.out ?? `capctl-recording-${(cmd[0] ?? 'cmd').replace(/[^\w.-]/g, '_')}-${process.pid}`);
      const extra = opts.straceArgs?.trim() ? opts.straceArgs.trim().split(/\s+/) : [];
      if (extra.includes('-o') || extra.some((a) => a.startsWith('-o') || a === '--output'))
        throw inputError('usage', '--strace-args must not contain -o: record chooses the trace file');
      const r = record({ out, command: cmd, straceArgs: extra, stdio: opts.quiet ? 'ignore' : 'inherit' });
      if (opts.json) printJson({ dir: r.dir, recording: r.recording });
      else {
        const n = Object.keys(r.recording.files).length;
        process.stdout.write(
          `recorded ${cmd.join(' ')} (exit ${r.recording.exitCode ?? 'signal'}) in ${r.dir}: trace.txt, status.txt, recording.json (${n} executed file${n === 1 ? '' : 's'})\n`,
        );
      }
    });
}
