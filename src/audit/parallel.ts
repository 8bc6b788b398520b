/**
 * The second core for `audit summary`: a large plain log is split at a line boundary near its
 * middle and a worker thread summarises the second half while the main thread reads the first;
 * the two summaries and read reports are merged (seq continuity is checked across the split).
 *
 * Only where it pays: files of at least 48 MiB (below that a worker's start-up, ~40 ms, is a
 * large part of the whole read), not stdin or .gz (no random access), and only when the
 * machine has a second CPU. `query` stays on one thread: its rows must come out in log order
 * as they are read.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { AuditFilter, Summary, SummaryState } from './query.js';
import type { ReadOptions, ShareResult } from './reader.js';

export interface SummaryShare extends ShareResult {
  state: SummaryState;
}

/** A ReadOptions.share that summarises the share in a worker and folds it into `summary`. */
export function summaryShare(summary: Summary, filter: AuditFilter, now: number): ReadOptions['share'] | undefined {
  // Compiled code only: under a TypeScript loader (tests) there is no .js worker to start.
  if (availableParallelism() < 2 || !import.meta.url.endsWith('.js')) return undefined;
  return (file, start, end) =>
    new Promise<ShareResult>((resolve, reject) => {
      const w = new Worker(new URL('./summary-worker.js', import.meta.url), {
        workerData: { file, start, end, filter, now },
        // A small young generation: chunks die young, and the process stays within its RSS budget.
        resourceLimits: { maxYoungGenerationSizeMb: 8 },
      });
      w.once('message', (m: SummaryShare) => {
        summary.merge(m.state);
        resolve(m);
      });
      w.once('error', reject);
    });
}
