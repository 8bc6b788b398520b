/**
 * Audit writer: one JSON line per record, appended with write(2) on a descriptor this module
 * opened itself.
 *
 * Why not pino's destination (SonicBoom) any more: given a numeric name it takes it for a file
 * descriptor (`--audit 2` wrote to stderr, `--audit 7` crashed), and on a write that fails with
 * EAGAIN/ENOSPC-like errors it retries every 100 ms forever (`--audit /dev/full` hung). A denial
 * log must fail loudly and at once, so the target is always a path ('-' = stdout only where a
 * command documents it), a write error is thrown once as a CapctlError naming the path (exit 2),
 * and the line format stays pino's (`level` as a word first) so pino tools still read it: pino
 * still serialises every record, into a destination of ours (a plain object whose write() queues
 * the line), so file I/O, error reporting and flushing stay here.
 *
 * Durability: records are batched (at most `bufferBytes`) and the batch is written when it is
 * full, at the end of the current event-loop turn (setImmediate: a replay fed from a slow pipe
 * does not sit on records while it waits for input), on close(), on process exit and on
 * SIGTERM/SIGINT/SIGHUP (flush, then the signal is raised again so the exit status stays the
 * conventional 128+N). kill -9 can lose at most the records of the current turn and tear at most
 * the line being written; `seq` (1, 2, 3 ... per writer, gap-free) lets a reader tell a missing
 * record from a quiet period.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type Pino from 'pino';
import { CapctlError } from '../caps/errors.js';
import { lazyRequire } from '../util/lazy.js';
import { type AuditRecord, KEY_ORDER, type LostRecordFields } from './record.js';

const pino = lazyRequire<typeof Pino>('pino');

export interface AuditWriterOptions {
  /** File to append to. A numeric name is a file of that name; '-' is stdout. */
  dest: string;
  /** Sustained records per key ("syscall:cap:verdict") per second; 0 = unlimited. */
  ratePerSecond?: number;
  /** Records a key may send at once before the rate applies (token bucket size); default = rate. */
  burst?: number;
  /** Batch size before a write; 0 writes every record at once. */
  bufferBytes?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Notices (a torn last line repaired); default: one line on stderr. */
  warn?: (message: string) => void;
}

export interface AuditWriter {
  write(rec: Omit<AuditRecord, 'time' | 'seq'> & { time?: string }): void;
  /**
   * A `"verdict":"lost"` line: events a live source (audit follow) lost before they became
   * records, with their count. Bookkeeping like the rate limit's summary: never rate-limited,
   * numbered in seq, not counted in `written`.
   */
  note(rec: LostRecordFields): void;
  /** Flush, log a summary of rate-limited records, and stop. Idempotent. */
  close(): void;
  readonly written: number;
  readonly suppressed: number;
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const EAGAIN_WAIT_MS = 5;
const EAGAIN_MAX_WAIT_MS = 10_000;

/** The failure of an audit log write: reported once, names the path, exit 2. */
export function auditIoError(path: string, err: unknown, lost: number): CapctlError {
  const e = err as NodeJS.ErrnoException;
  const what = e.code ? `${e.code} (${e.message.replace(/^[A-Z]+: /, '').replace(/, \w+.*$/, '')})` : String(err);
  const tail = lost > 0 ? `; ${lost} record(s) not written` : '';
  return new CapctlError('audit-io', `cannot write audit log ${path}: ${what}${tail}`, 'io');
}

function openTarget(path: string, warn: (m: string) => void): number {
  if (path === '') throw new CapctlError('audit-io', 'audit log path is empty', 'input');
  if (path === '-') return 1;
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    // O_RDWR|O_APPEND|O_CREAT: append, and read back the last byte to find a torn line.
    fd = openSync(path, 'a+', 0o640);
  } catch (err) {
    throw auditIoError(path, err, 0);
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, st.size - 1);
      if (last[0] !== 0x0a) {
        // A writer died mid-line. Appending right after it would glue our first record onto
        // the torn one and lose both to a reader; end the torn line first.
        writeAll(fd, Buffer.from('\n'));
        warn(`audit log ${path} ended in a torn line (a writer died mid-record); new records start on a new line`);
      }
    }
  } catch (err) {
    closeSync(fd);
    throw auditIoError(path, err, 0);
  }
  return fd;
}

/** write(2) until all of `buf` is out; a non-blocking fd's EAGAIN waits briefly, then fails. */
function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  let waited = 0;
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || waited >= EAGAIN_MAX_WAIT_MS) throw err;
      Atomics.wait(sleeper, 0, 0, EAGAIN_WAIT_MS);
      waited += EAGAIN_WAIT_MS;
    }
  }
}

/** The record with its keys in KEY_ORDER (what the reader's fast path expects). */
export function canonical(
  rec: Omit<AuditRecord, 'time' | 'seq'> & { time?: string },
  seq: number,
  now = Date.now(),
): Record<string, unknown> {
  const r = rec as Record<string, unknown>;
  const out: Record<string, unknown> = { level: rec.verdict === 'denied' ? 'warn' : 'info', seq };
  for (const k of KEY_ORDER) if (k !== 'level' && k !== 'seq' && r[k] !== undefined) out[k] = r[k];
  if (out.time === undefined) out.time = new Date(now).toISOString();
  // Fields outside the schema are kept (the reader reports such records) rather than dropped.
  for (const k of Object.keys(r)) if (!(k in out)) out[k] = r[k];
  return out;
}

export function createAuditWriter(opts: AuditWriterOptions): AuditWriter {
  const path = opts.dest;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`capctl: ${m}\n`));
  const fd = openTarget(path, warn);
  const bufferBytes = opts.bufferBytes ?? 4096;
  const now = opts.now ?? Date.now;
  const rate = opts.ratePerSecond ?? 0;
  const burst = Math.max(1, opts.burst ?? rate);
  // Token bucket per key: `burst` records at once, then `rate` per second.
  const buckets = new Map<string, { tokens: number; at: number }>();
  const suppressedByKey = new Map<string, number>();
  let written = 0;
  let suppressed = 0;
  let seq = 0;
  let closed = false;
  let failed: CapctlError | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  let pendingRecords = 0;
  let scheduled = false;

  const flush = (): void => {
    if (pendingRecords === 0 || failed) return;
    const buf = Buffer.from(pending.join(''));
    const n = pendingRecords;
    pending = [];
    pendingBytes = 0;
    pendingRecords = 0;
    try {
      writeAll(fd, buf);
    } catch (err) {
      failed = auditIoError(path, err, n);
      throw failed;
    }
    written += n;
  };
  const flushSoon = (): void => {
    scheduled = false;
    try {
      flush();
    } catch {
      // Kept in `failed`: the next write() or close() throws it where the caller can report it.
    }
  };
  const onExit = (): void => {
    try {
      flush();
    } catch (err) {
      process.stderr.write(`capctl: ${(err as Error).message}\n`);
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    onExit();
    detach();
    // Raised again with our handler gone: the default action ends the process with 128+N,
    // or another listener (a follower's own shutdown) takes over.
    process.kill(process.pid, sig);
  };
  const detach = (): void => {
    process.removeListener('exit', onExit);
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  };
  process.on('exit', onExit);
  for (const s of SIGNALS) process.on(s, onSignal);

  // pino writes `{"level":"<label>",...}` with the keys in the order given (canonical() puts seq
  // first), synchronously into queue(); timestamps and base fields come from the record itself.
  const queue = (line: string): void => {
    pending.push(line);
    pendingBytes += line.length;
    pendingRecords++;
    if (pendingBytes >= bufferBytes) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flushSoon);
    }
  };
  const logger = pino()(
    { base: undefined, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } },
    { write: queue },
  );
  const append = (obj: Record<string, unknown>): void => {
    if (failed) throw failed;
    const { level, ...rest } = obj;
    if (level === 'warn') logger.warn(rest);
    else logger.info(rest);
  };

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
      if (rate > 0) {
        const key = `${rec.syscall ?? ''}:${rec.cap ?? rec.priv ?? ''}:${rec.verdict}`;
        let b = buckets.get(key);
        if (b === undefined) buckets.set(key, (b = { tokens: burst, at: t }));
        else {
          b.tokens = Math.min(burst, b.tokens + ((t - b.at) * rate) / 1000);
          b.at = t;
        }
        if (b.tokens < 1) {
          suppressed++;
          suppressedByKey.set(key, (suppressedByKey.get(key) ?? 0) + 1);
          return;
        }
        b.tokens -= 1;
      }
      append(canonical(rec, ++seq, t));
    },
    note(rec) {
      if (closed) throw new Error('audit writer is closed');
      append({ level: 'warn', seq: ++seq, time: new Date(now()).toISOString(), verdict: 'lost', ...rec });
      written--; // not one of the records
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        if (suppressed > 0 && !failed) {
          append({
            level: 'info',
            seq: ++seq,
            time: new Date(now()).toISOString(),
            verdict: 'suppressed',
            suppressed,
            keys: Object.fromEntries(suppressedByKey),
          });
          written--; // the summary is not one of the records
        }
        if (failed) throw failed;
        flush();
      } finally {
        detach();
        if (fd !== 1) closeSync(fd);
      }
    },
  };
}
