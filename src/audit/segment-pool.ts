/**
 * The worker thread that reads segments of a large log (parallel.ts), started as early as
 * possible: `capctl audit query|summary` starts it before loading its own modules, so the
 * worker's start-up (~0.1 s) overlaps the main thread's instead of following it. This module
 * loads nothing else, for that reason.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Files at least this big are read in segments on two threads (below it a worker's start-up costs more). */
export const SEGMENTED_MIN_BYTES = 32 << 20;

/** SEGMENTED_MIN_BYTES, or 0 when CAPCTL_AUDIT_SEGMENT_BYTES is set (tests read small logs in segments). */
export function segmentedMinBytes(): number {
  const v = Number(process.env.CAPCTL_AUDIT_SEGMENT_BYTES);
  return Number.isInteger(v) && v > 0 ? 0 : SEGMENTED_MIN_BYTES;
}

/** Whether this process can have a segment worker (compiled code, a second CPU). */
function canHelp(): boolean {
  return availableParallelism() >= 2 && import.meta.url.endsWith('.js');
}

let early: Worker | undefined;
let earlyGone = false;

function spawn(): Worker {
  return new Worker(new URL('./segment-worker.js', import.meta.url), {
    // A small young generation: chunks die young, and the process stays within its RSS budget.
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
}

/** Start the worker now if any of `paths` is a plain file big enough to be read in segments. */
export function startSegmentWorkerFor(paths: readonly string[]): void {
  if (early || !canHelp()) return;
  const big = paths.some((p) => {
    if (p === '-' || p.endsWith('.gz')) return false;
    try {
      const st = statSync(p, { throwIfNoEntry: false });
      return st?.isFile() === true && st.size >= segmentedMinBytes();
    } catch {
      return false; // the reader reports it
    }
  });
  if (!big) return;
  early = spawn();
  early.unref(); // an unused worker must not keep the process alive
  early.once('exit', () => {
    earlyGone = true;
  });
}

/** The worker started early, else a new one; undefined where none can run. */
export function takeSegmentWorker(): Worker | undefined {
  const w = early && !earlyGone ? early : undefined;
  early = undefined;
  if (w) {
    w.ref();
    return w;
  }
  return canHelp() ? spawn() : undefined;
}
