/**
 * `capctl audit ...` with only the audit commands loaded: module loading was ~60% of the start-up
 * of `audit query` (~0.25 s of CPU, most of it the other commands' modules), which is a large
 * part of reading a log of a few hundred MB. Same root program and error handling as main.ts.
 */
import { register } from './audit-cmd.js';
import { rootProgram, runProgram } from './program.js';

export async function main(argv: string[]): Promise<void> {
  await runProgram(rootProgram([register]), argv);
}
