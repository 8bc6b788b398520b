/**
 * `capctl audit ...` with only the audit commands loaded: module loading was ~60% of the start-up
 * of `audit query` (~0.25 s of CPU, most of it the other commands' modules), which is a large
 * part of reading a log of a few hundred MB. Same root program and error handling as main.ts.
 * For a query or summary of a large file the segment workers start first, so their start-up
 * runs on the other core while this thread loads its modules.
 */
import { startSegmentWorkersFor } from '../audit/segment-pool.js';

export async function main(argv: string[]): Promise<void> {
  // query: one worker beside this thread; summary: two workers (parallel.ts).
  if (argv[3] === 'query' || argv[3] === 'summary')
    startSegmentWorkersFor(
      argv.slice(4).filter((a) => !a.startsWith('-')),
      argv[3] === 'query' ? 1 : 2,
    );
  const [{ register }, { rootProgram, runProgram }] = await Promise.all([
    import('./audit-cmd.js'),
    import('./program.js'),
  ]);
  await runProgram(rootProgram([register]), argv);
}
