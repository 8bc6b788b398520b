import type { Command } from 'commander';
import { CAPABILITIES } from '../caps/catalog.js';
import { formatTable, printJson } from './output.js';

export function register(program: Command): void {
  program
    .command('caps')
    .description('list all 41 Linux capabilities: number, name, libcap name, meaning')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', "\nExamples:\n  capctl caps\n  capctl caps --json | jq '.[] | select(.number >= 38)'")
    .action((opts: { json?: boolean }) => {
      if (opts.json) {
        printJson(CAPABILITIES);
        return;
      }
      const rows = CAPABILITIES.map((c) => [String(c.number), c.name, c.meaning]);
      process.stdout.write(`${formatTable(['#', 'NAME', 'MEANING'], rows)}\n`);
    });
}
