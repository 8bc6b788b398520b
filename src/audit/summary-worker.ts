/** Worker thread: summarise bytes [start, end) of one log (see parallel.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { type AuditFilter, compileAttachFilter, compileFilter, Summary } from './query.js';
import { AuditLogReader } from './reader.js';

const { file, start, end, filter, now } = workerData as {
  file: string;
  start: number;
  end: number;
  filter: AuditFilter;
  now: number;
};
const keep = compileFilter(filter, now);
const keepAttached = compileAttachFilter(filter, now);
const summary = new Summary();
const reader = new AuditLogReader(
  (r) => {
    if (keep(r)) summary.add(r);
  },
  (a) => {
    if (keepAttached(a)) summary.addAttached(a);
  },
);
const report = await reader.readRange(file, start, end);
parentPort?.postMessage({ report, firstSeq: reader.firstSeq, lastSeq: reader.lastSeq, state: summary.state() });
