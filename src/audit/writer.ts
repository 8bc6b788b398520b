/**
 * Audit writer: pino over a *synchronous* destination. pino's default async destination opens
 * its file asynchronously and loses everything written before it is ready if the process exits
 * (measured: 1,000 of 1,000 lines lost on process.exit; see spec/ecosystem.md §E). A denial
 * log that loses denials is worse than none, so records are written with sync I/O, buffered up
 * to `bufferBytes`, and flushed synchronously on close() and on process exit.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type Pino from 'pino';
import { lazyRequire } from '../util/lazy.js';
import type { AttachRecord, AuditRecord } from './record.js';

const pino = lazyRequire<typeof Pino>('pino');

export interface AuditWriterOptions {
  /** File to append to, or a file descriptor (1 = stdout). */
  dest: string | number;
  /** At most this many records per key ("syscall:cap:verdict") per second; 0 = unlimited. */
  ratePerSecond?: number;
  /** Buffer size before a synchronous write; 0 writes every record at once. */
  bufferBytes?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export interface AuditWriter {
  write(rec: Omit<AuditRecord, 'time'> & { time?: string }): void;
  /** Flush, log a summary of rate-limited records, and stop. Idempotent. */
  close(): void;
  readonly written: number;
  readonly suppressed: number;
}

export function createAuditWriter(opts: AuditWriterOptions): AuditWriter {
  if (typeof opts.dest === 'string') mkdirSync(dirname(opts.dest), { recursive: true });
  const destination = pino().destination({
    dest: opts.dest,
    sync: true,
    append: true,
    // SonicBoom refuses a buffer at or above its 16 KiB write size.
    minLength: Math.min(opts.bufferBytes ?? 4096, 16383),
  });
  const logger = pino()(
    {
      base: undefined,
      messageKey: 'msg',
      timestamp: false,
      // Keep the level as a word ("warn" for denials, "info" for complain/allowed) so the log
      // reads well in any pino tool; pino's numeric levels mean nothing to jq users.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  const now = opts.now ?? Date.now;
  const limit = opts.ratePerSecond ?? 0;
  // Fixed one-second windows per key: cheap, and the summary says exactly what was dropped.
  let windowStart = 0;
  const inWindow = new Map<string, number>();
  const suppressedByKey = new Map<string, number>();
  let written = 0;
  let suppressed = 0;
  let closed = false;

  const flushOnExit = () => destination.flushSync();
  process.on('exit', flushOnExit);

  return {
    get written() {
      return written;
    },
    get suppressed() {
      return suppressed;
    },
    write(rec) {
      if (closed) throw new Error('audit writer is closed');
      const t = now();
      if (limit > 0) {
        if (t - windowStart >= 1000) {
          windowStart = t;
          inWindow.clear();
        }
        const key = `${rec.syscall}:${rec.cap ?? rec.priv ?? ''}:${rec.verdict}`;
        const n = (inWindow.get(key) ?? 0) + 1;
        inWindow.set(key, n);
        if (n > limit) {
          suppressed++;
          suppressedByKey.set(key, (suppressedByKey.get(key) ?? 0) + 1);
          return;
        }
      }
      written++;
      const line = { ...rec, time: rec.time ?? new Date(t).toISOString() };
      if (rec.verdict === 'denied') logger.warn(line);
      else logger.info(line);
    },
    close() {
      if (closed) return;
      closed = true;
      if (suppressed > 0) {
        logger.info({
          time: new Date(now()).toISOString(),
          verdict: 'suppressed',
          suppressed,
          keys: Object.fromEntries(suppressedByKey),
        });
      }
      destination.flushSync();
      process.removeListener('exit', flushOnExit);
      if (typeof opts.dest === 'string') destination.end();
    },
  };
}

/**
 * One record from a short-lived process (the OCI runtime shim): a single O_APPEND write of one
 * line, fsynced. pino would cost its load time on every container start for one line; a line
 * under PIPE_BUF written with O_APPEND is never interleaved with another writer's.
 */
export function appendAuditRecord(file: string, rec: AttachRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o640);
  try {
    writeSync(fd, `${JSON.stringify({ level: 'info', ...rec })}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
