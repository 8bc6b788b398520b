/**
 * The second core for `audit summary` and `audit query`: a large plain log is cut into segments
 * (SEGMENT_BYTES, at line starts) read by two threads at once (see below which); the results
 * are applied strictly in file order, so the answer — rows and their order, counts,
 * seq gaps, line numbers of problems — is the one a single thread reading the whole file gives.
 *
 * - A query: this thread reads the segment whose turn it is straight into the real consumer
 *   (rows go out as each chunk is read); a segment read ahead of its turn, here or in the worker,
 *   goes to a scratch consumer (its rows as bytes) applied when its turn comes.
 * - A summary: two workers read, this thread merges their segments' summaries in order.
 * - A worker is given at most two segments at a time and nothing beyond `window` segments past
 *   the one whose turn it is: a query's rows wait in memory for at most that many segments.
 * - A segment holding auditd lines that share context with earlier lines (kernel.ts) is read
 *   again here, in order, and its read-ahead result dropped.
 * - If a worker fails or exits, this thread reads what it had been given.
 *
 * Only where it pays: plain files of SEGMENTED_MIN_BYTES or more (a worker's start-up is ~0.1 s
 * of the other core), not stdin or .gz (no random access), and only with a second CPU.
 */
import { type AuditFilter, compileAttachFilter, compileFilter, Summary, type SummaryState } from './query.js';
import { QueryRows } from './query-rows.js';
import { AuditLogReader, type ReadOptions, type SegmentOutcome } from './reader.js';
import { takeSegmentWorker } from './segment-pool.js';

/** Segment size: small enough to keep both threads busy to the end, large enough that the
 * per-segment merge is noise. CAPCTL_AUDIT_SEGMENT_BYTES overrides it (tests use tiny ones). */
const SEGMENT_BYTES = 8 << 20;

export function segmentBytes(): number {
  const v = Number(process.env.CAPCTL_AUDIT_SEGMENT_BYTES);
  return Number.isInteger(v) && v > 0 ? v : SEGMENT_BYTES;
}

export type SegmentJob =
  | { kind: 'summary'; filter: AuditFilter; now: number }
  | { kind: 'query'; filter: AuditFilter; now: number; json: boolean };

export interface SegmentResult {
  k: number;
  outcome: SegmentOutcome;
  /** Query: the segment's rows (QueryRows bytes); summary: its Summary's state. Absent when contextual. */
  data?: Uint8Array | SummaryState;
}

export interface SegmentPlan {
  file: string;
  seg: number;
  count: number;
}

function range(p: SegmentPlan, k: number): [number, number] {
  return [k * p.seg, k === p.count - 1 ? Number.POSITIVE_INFINITY : (k + 1) * p.seg];
}

/** A reader of segments on their own, for one job: what the worker runs (and tests, in-process). */
export function segmentRunner(job: SegmentJob, reader: AuditLogReader): (p: SegmentPlan, k: number) => SegmentResult {
  const keep = compileFilter(job.filter, job.now);
  const keepAttached = compileAttachFilter(job.filter, job.now);
  const rows = job.kind === 'query' ? new QueryRows(job.json) : undefined;
  return (p, k) => {
    const [start, end] = range(p, k);
    if (rows) {
      reader.each = (r) => {
        if (keep(r)) rows.add(r);
      };
      reader.onAttached = (a) => {
        if (keepAttached(a)) rows.addAttached(a);
      };
      const outcome = reader.readSegment(p.file, start, end);
      const data = rows.take(); // taken either way: rows of a segment read again must not stay
      return outcome.contextual ? { k, outcome } : { k, outcome, data };
    }
    const summary = new Summary();
    reader.each = (r) => {
      if (keep(r)) summary.add(r);
    };
    reader.onAttached = (a) => {
      if (keepAttached(a)) summary.addAttached(a);
    };
    const outcome = reader.readSegment(p.file, start, end);
    return outcome.contextual ? { k, outcome } : { k, outcome, data: summary.state() };
  };
}

/** What the driver needs of the consumer (the command printing rows or holding the summary). */
export interface SegmentConsumer {
  job: SegmentJob;
  /** After each chunk read in turn (stdout backpressure). */
  afterChunk?: () => Promise<void> | void;
  /** Apply a read-ahead segment's data in its turn. */
  apply: (data: Uint8Array | SummaryState) => Promise<void> | void;
}

/** Another thread reading segments: given them with assign(), answering through onResult. */
export interface Helper {
  assign(plan: SegmentPlan, k: number): void;
  close(): void;
}
export type HelperFactory = (
  job: SegmentJob,
  onResult: (r: SegmentResult) => void,
  onGone: (err?: unknown) => void,
) => Helper | undefined;

/** The worker thread helper (compiled code only: under a TypeScript loader there is no .js worker). */
export const workerHelper: HelperFactory = (job, onResult, onGone) => {
  const w = takeSegmentWorker();
  if (!w) return undefined;
  w.on('message', (m: SegmentResult) => onResult(m));
  w.once('error', (e) => onGone(e));
  w.once('exit', () => onGone());
  w.postMessage({ job });
  return {
    assign: (plan, k) => w.postMessage({ plan, k }),
    close: () => {
      w.removeAllListeners();
      void w.terminate();
    },
  };
};

/** Rows of a query wait for at most this many segments; a summary's states are small. */
const QUERY_WINDOW = 4;
const SUMMARY_WINDOW = 4;

/** ReadOptions.segments for a consumer, with `helper` as the other thread. */
export function segmented(consumer: SegmentConsumer, helper: HelperFactory = workerHelper): ReadOptions['segments'] {
  return async (reader, file, size) => {
    const seg = segmentBytes();
    const plan: SegmentPlan = { file, seg, count: Math.max(1, Math.ceil(size / seg)) };
    const inTurn: ReadOptions = consumer.afterChunk ? { afterChunk: consumer.afterChunk } : {};
    reader.beginFile(file);
    const done = new Map<number, SegmentResult>();
    let wake: (() => void) | undefined;
    // A summary is read by two workers while this thread only merges: this thread's heap then
    // stays small (its young generation grew to 16 MiB semi-spaces reading chunks, and a
    // summary of a 1.2 GB log peaked at 150-170 MB RSS); a query reads here too, so that the
    // rows of the segment whose turn it is go out chunk by chunk.
    const readsHere = consumer.job.kind === 'query';
    const helpers: { h: Helper; pending: number; gone: boolean }[] = [];
    if (plan.count > 1)
      for (let i = 0; i < (readsHere ? 1 : 2); i++) {
        const slot = { h: undefined as unknown as Helper, pending: 0, gone: false };
        const h = helper(
          consumer.job,
          (r) => {
            done.set(r.k, r);
            slot.pending--;
            wake?.();
          },
          () => {
            slot.gone = true;
            wake?.();
          },
        );
        if (!h) break;
        slot.h = h;
        helpers.push(slot);
      }
    /** Which helper has each segment it was given (until its result is applied). */
    const owner = new Map<number, (typeof helpers)[number]>();
    const window = readsHere ? QUERY_WINDOW : SUMMARY_WINDOW;
    let runAhead: ReturnType<typeof segmentRunner> | undefined;
    // Every segment below `next` has been taken: by a helper (see owner) or read here.
    let next = 0;
    let head = 0; // the segment whose turn it is
    try {
      while (head < plan.count) {
        const r = done.get(head);
        if (r !== undefined) {
          done.delete(head);
          owner.delete(head);
          if (r.data === undefined) await reader.readInOrder(file, ...range(plan, head), inTurn);
          else {
            reader.absorb(r.outcome);
            await consumer.apply(r.data);
          }
          head++;
          continue;
        }
        if (head < next && owner.get(head)?.gone) {
          // Its helper is gone: read here.
          owner.delete(head);
          await reader.readInOrder(file, ...range(plan, head), inTurn);
          head++;
          continue;
        }
        const alive = helpers.filter((x) => !x.gone);
        const mine = next === head && (readsHere || alive.length === 0) ? next++ : -1;
        for (const x of alive)
          while (x.pending < 2 && next < plan.count && next < head + window) {
            owner.set(next, x);
            x.h.assign(plan, next++);
            x.pending++;
          }
        if (mine >= 0) {
          // Our turn and nobody has it: straight into the real consumer.
          await reader.readInOrder(file, ...range(plan, mine), inTurn);
          head++;
        } else if ((readsHere || alive.length === 0) && next < plan.count && next < head + window) {
          // Ahead of its turn: into a scratch consumer, applied in its turn.
          runAhead ??= segmentRunner(consumer.job, new AuditLogReader(() => {}));
          const res = runAhead(plan, next++);
          done.set(res.k, res);
        } else {
          // Only the helpers' segments are left to wait for.
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = undefined;
          continue;
        }
        // Let the helpers' answers in.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      for (const x of helpers) x.h.close();
    }
    reader.endFile();
  };
}
