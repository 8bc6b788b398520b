/** Worker thread: reads the segments of a log it is given, one at a time (see parallel.ts). */
import { parentPort } from 'node:worker_threads';
import { type SegmentJob, type SegmentPlan, type SegmentResult, segmentRunner } from './parallel.js';
import { AuditLogReader } from './reader.js';

// Started before the job is known (segment-pool.ts): the first message says what to read for.
let run: ((p: SegmentPlan, k: number) => SegmentResult) | undefined;
parentPort?.on('message', (m: { job: SegmentJob } | { plan: SegmentPlan; k: number }) => {
  if ('job' in m) {
    run = segmentRunner(m.job, new AuditLogReader(() => {}));
    return;
  }
  const r = run!(m.plan, m.k);
  // The rows' bytes move to the main thread rather than being copied.
  parentPort?.postMessage(r, r.data instanceof Uint8Array ? [r.data.buffer as ArrayBuffer] : []);
});
