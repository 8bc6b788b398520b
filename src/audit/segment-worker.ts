/** Worker thread: reads the segments of a log it is given, one at a time (see parallel.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { type SegmentJob, type SegmentPlan, segmentRunner } from './parallel.js';
import { AuditLogReader } from './reader.js';

const { job } = workerData as { job: SegmentJob };
const run = segmentRunner(job, new AuditLogReader(() => {}));
parentPort?.on('message', ({ plan, k }: { plan: SegmentPlan; k: number }) => {
  const r = run(plan, k);
  // The rows' bytes move to the main thread rather than being copied.
  parentPort?.postMessage(r, r.data instanceof Uint8Array ? [r.data.buffer as ArrayBuffer] : []);
});
