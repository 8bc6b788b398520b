/**
 * The worker threads that read segments of a large log (parallel.ts), started as early as
 * possible: `capctl audit query|summary` starts them before loading its own modules, so a
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

const early: { w: Worker; gone: boolean }[] = [];

function spawn(): Worker {
  return new Worker(new URL('./segment-worker.js', import.meta.url), {
    // A small young generation: chunks die young, and the process stays within its RSS budget.
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
}

/** Start `n` workers now if any of `paths` is a plain file big enough to be read in segments. */
export function startSegmentWorkersFor(paths: readonly string[], n: number): void {
  if (early.length || !canHelp()) return;
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
  for (let i = 0; i < n; i++) {
    const slot = { w: spawn(), gone: false };
    slot.w.unref(); // an unused worker must not keep the process alive
    slot.w.once('exit', () => {
      slot.gone = true;
    });
    early.push(slot);
  }
}

/** A worker started early, else a new one; undefined where none can run. */
export function takeSegmentWorker(): Worker | undefined {
  for (let slot = early.shift(); slot; slot = early.shift())
    if (!slot.gone) {
      slot.w.ref();
      return slot.w;
    }
  return canHelp() ? spawn() : undefined;
}
