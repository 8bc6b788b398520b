/**
 * Audit reader: streams logs chunk by chunk (memory stays flat on large logs, and a pipe is
 * read as it arrives) and hands each capability record to a callback.
 *
 * Per chunk: the bytes up to the last newline are decoded once (latin1, see utf8()), lines are
 * found with String.indexOf, and each capctl JSON line goes through the writer-shape regex and
 * the character scanner (scan.ts); only lines they do not take (escapes, unusual numbers,
 * unknown fields, invalid values) are JSON.parse'd and type-checked with checkRecord. Plain
 * files are read with synchronous reads into one reused buffer (no thread-pool round trip per
 * chunk: on a busy machine those waits were most of a query's wall time), and a large one can be
 * read in segments by two threads (ReadOptions.segments, parallel.ts). Other lines go to the kernel/LSM parser
 * (kernel.ts). Nothing is fatal: corrupt JSON, records failing the schema, a torn last line
 * and gaps in a writer's `seq` are counted, located and reported by the caller.
 *
 * Rotated logs are read oldest first (audit.log.2.gz, audit.log.1, audit.log), `.gz` through
 * zlib's stream, and `seq` continuity is followed across the files of one rotation set.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { AttachRecord } from './attach-record.js';
import { KernelLineParser } from './kernel.js';
import { type AuditRecord, checkRecord } from './record.js';
import { canonicalUntil, own, ScannedRecord } from './scan.js';
import { segmentedMinBytes } from './segment-pool.js';

export interface ReadProblem {
  /** file:line */
  where: string;
  line: number;
  why: string;
}

export interface ReadReport {
  files: number;
  lines: number;
  bytes: number;
  records: number;
  /** Lines that look like JSON but do not parse. */
  corrupt: number;
  /** JSON lines that fail the record schema (a wrongly typed or unknown field). */
  invalid: number;
  /** Lines that are neither JSON nor a known kernel/LSM format. */
  other: number;
  /** Rate-limit summaries (`"verdict":"suppressed"`) and the records they stand for. */
  suppressedLines: number;
  suppressedRecords: number;
  /** Containers started under a profile (`"verdict":"attached"`, capctl-oci-runtime). */
  attached: number;
  /** Loss lines (`"verdict":"lost"`, audit follow) and the events they say were lost. */
  lostLines: number;
  lostEvents: number;
  /** A last line without its newline that is not a whole record: a writer died mid-line. */
  torn: string[];
  /** Breaks in a writer's seq (1,2,3...): how many, and how many records they leave out. */
  gaps: number;
  missing: number;
  /** The first problems, located (at most MAX_PROBLEMS). */
  problems: ReadProblem[];
}

export type RecordView = AuditRecord | ScannedRecord;

/** What reading one segment of a log on its own reports (see AuditLogReader.readSegment). */
export interface SegmentOutcome {
  report: ReadReport;
  /** The first seq read and its line in the segment (0: none), and the last. */
  firstSeq: number;
  firstSeqLine: number;
  lastSeq: number;
  /**
   * It holds auditd lines that share context with other lines (kernel.ts): its records are not
   * known until the lines before it are read, so it must be read again, in order.
   */
  contextual: boolean;
}

export interface ReadOptions {
  /**
   * Read a large plain file in segments, some on another thread (parallel.ts). Called with
   * the reader, which the callee drives through beginFile/readInOrder/absorb/endFile.
   */
  segments?: (reader: AuditLogReader, file: string, size: number) => Promise<void>;
  /** Called after each chunk: a consumer may wait here (stdout backpressure). */
  afterChunk?: () => Promise<void> | void;
  /** Progress callback, at most about once a second after the first second. */
  onProgress?: (file: string, bytes: number, lines: number) => void;
}

const MAX_PROBLEMS = 20;
/** A "line" longer than this without a newline is not a record; it is dropped and counted. */
const MAX_LINE = 64 << 20;

/**
 * Chunks are decoded as latin1 (one char per byte): Node 20's UTF-8 decoder was measured at
 * 4x the cost of the rest of a summary. The scanner only accepts ASCII values; a line it passes
 * on is decoded as UTF-8 here, so non-ASCII text reads exactly as a UTF-8 decode would give it.
 */
function utf8(t: string, s: number, e: number): string {
  const raw = t.slice(s, e);
  return /[\u0080-\u00ff]/.test(raw) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
}

export function emptyReport(): ReadReport {
  return {
    files: 0,
    lines: 0,
    bytes: 0,
    records: 0,
    corrupt: 0,
    invalid: 0,
    other: 0,
    suppressedLines: 0,
    suppressedRecords: 0,
    attached: 0,
    lostLines: 0,
    lostEvents: 0,
    torn: [],
    gaps: 0,
    missing: 0,
    problems: [],
  };
}

/**
 * Order rotated logs oldest first: for arguments sharing a base name, base.N[.gz] by N
 * descending, then base itself. Other arguments keep their place.
 */
export function orderRotated(paths: readonly string[]): string[] {
  const parse = (p: string) => {
    const m = /^(.*?)(?:\.(\d+))?(\.gz)?$/.exec(p)!;
    return { base: m[1]!, n: m[2] === undefined ? -1 : Number(m[2]) };
  };
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const { base } = parse(p);
    groups.set(base, [...(groups.get(base) ?? []), p]);
  }
  const out: string[] = [];
  const done = new Set<string>();
  for (const p of paths) {
    const { base } = parse(p);
    if (done.has(base)) continue;
    done.add(base);
    out.push(...groups.get(base)!.sort((a, b) => parse(b).n - parse(a).n));
  }
  return out;
}

/**
 * Chunk size for reading. Below V8's largest regular object (128 KiB) on purpose: a chunk's
 * decoded string then dies young in a scavenge; 1 MiB chunks went to large-object space, freed
 * only by full collections, and a summary of a 1 GB log peaked at 219 MB RSS (this: see
 * BENCHMARKS.md).
 */
const CHUNK = 96 << 10;

/** A regular file's size, or undefined for anything else (stdin, .gz, a pipe, a missing file). */
function plainFileSize(source: string | Readable): number | undefined {
  if (typeof source !== 'string' || source === '-' || source.endsWith('.gz')) return undefined;
  try {
    const fd = openSync(source, 'r');
    try {
      const st = fstatSync(fd);
      return st.isFile() ? st.size : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined; // the reader reports it when it opens the file
  }
}

/** The offset of the first line that starts at or after `start` (Infinity: none). */
const probe = Buffer.allocUnsafe(1 << 12);
function lineStartFrom(fd: number, start: number): number {
  if (start <= 0) return 0;
  const buf = probe; // one for the process: segments start often, and a line is rarely longer
  for (let pos = start - 1; ; ) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) return Number.POSITIVE_INFINITY;
    const nl = buf.indexOf(10);
    if (nl >= 0 && nl < n) return pos + nl + 1;
    pos += n;
  }
}

function rotationBase(p: string): string {
  return /^(.*?)(?:\.\d+)?(?:\.gz)?$/.exec(p)![1]!;
}

function open(source: string | Readable): Readable {
  if (typeof source !== 'string') return source;
  if (source === '-') return process.stdin;
  const file = createReadStream(source, { highWaterMark: CHUNK });
  if (!source.endsWith('.gz')) return file;
  const gunzip = createGunzip({ chunkSize: CHUNK });
  file.on('error', (e) => gunzip.destroy(e));
  return file.pipe(gunzip);
}

/** Reads logs in order, calling `each` for every record; the returned report counts the rest. */
export class AuditLogReader {
  report = emptyReport();
  private readonly view = new ScannedRecord();
  private kernel = new KernelLineParser();
  private prevSeq = 0;
  /** The first seq read (0: none yet), and its line. */
  firstSeq = 0;
  private firstSeqLine = 0;
  get lastSeq(): number {
    return this.prevSeq;
  }
  private file = '';
  /** The file being read (for error messages). */
  get currentFile(): string {
    return this.file;
  }
  private line = 0;
  /** What each record is handed to (a segment read out of order may hand them elsewhere). */
  each: (r: RecordView) => void;
  private buf: Buffer | undefined;
  /** What attach records are handed to (likewise). */
  onAttached: ((r: AttachRecord) => void) | undefined;

  /**
   * `each` gets the decision records (denied, complain, allowed); `onAttached`, if given, the
   * records of containers started under a profile, which have none of a decision's fields
   * (no syscall, capability or thread). Without it they are only counted.
   */
  constructor(each: (r: RecordView) => void, onAttached?: (r: AttachRecord) => void) {
    this.each = each;
    this.onAttached = onAttached;
  }

  async read(sources: readonly (string | Readable)[], opts: ReadOptions = {}): Promise<ReadReport> {
    const named = sources.every((s) => typeof s === 'string') ? orderRotated(sources as string[]) : sources;
    let group = '';
    for (const source of named) {
      const name = typeof source === 'string' ? source : '<stream>';
      const base = rotationBase(name);
      if (base !== group) this.prevSeq = 0;
      group = base;
      const size = plainFileSize(source);
      if (size === undefined) {
        await this.readStream(source, name, opts);
        continue;
      }
      if (opts.segments && size >= segmentedMinBytes()) {
        await opts.segments(this, name, size);
        continue;
      }
      this.beginFile(name);
      await this.readInOrder(name, 0, Number.POSITIVE_INFINITY, opts);
      this.endFile();
    }
    return this.report;
  }

  /** One line on its own (its problems land in the report). */
  readLine(line: string): void {
    const raw = Buffer.from(line, 'utf8');
    const bytes = raw.toString('latin1');
    this.view.newText(raw, 0);
    this.lineAt(bytes, 0, bytes.length);
  }

  private problem(why: string, line = this.line): void {
    if (this.report.problems.length < MAX_PROBLEMS)
      this.report.problems.push({ where: `${this.file}:${line}`, line, why });
  }

  /** Start reading a file (lines are numbered from 1). */
  beginFile(name: string): void {
    this.file = name;
    this.line = 0;
    this.report.files++;
  }

  /** The file is read: its lines count. */
  endFile(): void {
    this.report.lines += this.line;
  }

  /**
   * The lines of a plain file that start in [start, end), read here after the lines before
   * them (line numbers, seq and the kernel parser's context go on).
   */
  async readInOrder(file: string, start: number, end: number, opts: ReadOptions = {}): Promise<void> {
    const fd = openSync(file, 'r');
    try {
      let lastProgress = Date.now();
      for (const at of this.readFd(fd, lineStartFrom(fd, start), end)) {
        const wait = opts.afterChunk?.();
        if (wait) await wait;
        if (opts.onProgress) {
          const now = Date.now();
          if (now - lastProgress >= 1000) {
            lastProgress = now;
            opts.onProgress(this.file, at, this.line);
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The lines of a plain file that start in [start, end), read as if nothing came before them
   * (numbered from 1, no seq or kernel context): what a worker thread, or this thread ahead of
   * its turn, reads. absorb() then applies the outcome in its place.
   */
  readSegment(file: string, start: number, end: number): SegmentOutcome {
    this.report = emptyReport();
    this.kernel = new KernelLineParser();
    this.prevSeq = 0;
    this.firstSeq = 0;
    this.firstSeqLine = 0;
    this.beginFile(file);
    const fd = openSync(file, 'r');
    try {
      for (const _ of this.readFd(fd, lineStartFrom(fd, start), end));
    } finally {
      closeSync(fd);
    }
    this.endFile();
    return {
      report: this.report,
      firstSeq: this.firstSeq,
      firstSeqLine: this.firstSeqLine,
      lastSeq: this.prevSeq,
      contextual: this.kernel.contextual > 0,
    };
  }

  /** Apply a segment read on its own (readSegment) as if it had been read here, in order. */
  absorb(o: SegmentOutcome): void {
    const before = this.line;
    if (o.firstSeq !== 0) {
      // The segment's first seq against the last one before it, reported where one thread
      // would have: before the problems of that line and the lines after it.
      const problems = this.report.problems;
      this.report.problems = [];
      this.followSeq(o.firstSeq, before + o.firstSeqLine);
      const gap = this.report.problems;
      this.report.problems = problems;
      if (gap.length) {
        const at = o.report.problems.findIndex((p) => p.line >= o.firstSeqLine);
        const rel = gap.map((p) => ({ ...p, line: p.line - before }));
        o.report.problems.splice(at < 0 ? o.report.problems.length : at, 0, ...rel);
      }
    }
    mergeReports(this.report, o.report, before);
    if (o.lastSeq !== 0) this.prevSeq = o.lastSeq;
    this.line += o.report.lines;
  }

  private buffer(): Buffer {
    this.buf ??= Buffer.allocUnsafe(CHUNK);
    return this.buf;
  }

  /**
   * Lines of `fd` that start in [begin, end) (end Infinity: to the end of the file), through one
   * reused buffer with synchronous reads; yields the file offset reached after each chunk (a
   * caller may wait there). A line longer than the buffer grows it (to MAX_LINE: beyond that
   * the line is counted corrupt and skipped to its newline).
   */
  private *readFd(fd: number, begin: number, end: number): Generator<number> {
    const small = this.buffer();
    let buf = small;
    let base = begin; // file offset of buf[0], where a line starts (unless skipping)
    let have = 0; // buf[0, have): the start of a line not yet read to its end
    let skipping = false;
    for (;;) {
      if (!skipping && base >= end) return;
      const n = readSync(fd, buf, have, buf.length - have, base + have);
      if (n === 0) {
        if (have > 0 && !skipping) {
          this.report.bytes += have;
          this.tail(buf.toString('latin1', 0, have), buf);
        }
        return;
      }
      const fill = have + n;
      if (skipping) {
        const nl = buf.indexOf(10);
        const upTo = nl < 0 || nl >= fill ? fill : nl + 1;
        this.report.bytes += upTo;
        base += upTo;
        buf.copyWithin(0, upTo, fill);
        have = fill - upTo;
        skipping = upTo === fill && nl !== fill - 1;
        if (buf !== small && have <= small.length >> 1) {
          small.set(buf.subarray(0, have));
          buf = small;
        }
        continue;
      }
      const cut = buf.lastIndexOf(10, fill - 1);
      if (cut < 0) {
        if (fill < buf.length) {
          have = fill;
          continue;
        }
        if (fill >= MAX_LINE) {
          this.line++;
          this.report.corrupt++;
          this.problem(`a line longer than ${MAX_LINE} bytes`);
          this.report.bytes += fill;
          base += fill;
          have = 0;
          skipping = true;
          buf = small;
          continue;
        }
        const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_LINE));
        bigger.set(buf.subarray(0, fill));
        buf = bigger;
        have = fill;
        continue;
      }
      // Lines [0, cut] are whole; ours are those that start before `end`.
      let last = cut;
      const stop = base + cut + 1 >= end;
      if (stop) last = buf.indexOf(10, end - 1 - base);
      this.report.bytes += last + 1;
      this.text(buf.toString('latin1', 0, last + 1), buf, 0);
      if (stop) return;
      have = fill - cut - 1;
      buf.copyWithin(0, cut + 1, fill);
      base += cut + 1;
      if (buf !== small && have <= small.length >> 1) {
        small.set(buf.subarray(0, have));
        buf = small;
      }
      yield base;
    }
  }

  /** A pipe, stdin or a .gz file, chunk by chunk as it arrives. */
  private async readStream(source: string | Readable, name: string, opts: ReadOptions): Promise<void> {
    this.beginFile(name);
    const start = Date.now();
    let lastProgress = start;
    let carry: Buffer | undefined;
    let skipping = false;
    let bytes = 0;
    for await (const chunk of open(source) as AsyncIterable<Buffer | string>) {
      let b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += b.length;
      if (skipping) {
        // The rest of a line longer than MAX_LINE, already counted.
        const nl = b.indexOf(10);
        if (nl < 0) continue;
        skipping = false;
        b = b.subarray(nl + 1);
      }
      let from = 0;
      if (carry) {
        // The line cut at the previous chunk's end, completed from this one: decoded on its
        // own, so the chunk itself is not copied.
        const nl = b.indexOf(10);
        if (nl < 0) {
          carry = Buffer.concat([carry, b]);
          if (carry.length > MAX_LINE) {
            this.line++;
            this.report.corrupt++;
            this.problem(`a line longer than ${MAX_LINE} bytes`);
            carry = undefined;
            skipping = true;
          }
          continue;
        }
        const joined = Buffer.concat([carry, b.subarray(0, nl + 1)]);
        carry = undefined;
        this.text(joined.toString('latin1'), joined, 0);
        from = nl + 1;
      }
      const last = b.lastIndexOf(10);
      if (last < from) {
        if (from < b.length) carry = Buffer.from(b.subarray(from));
      } else {
        carry = last + 1 < b.length ? Buffer.from(b.subarray(last + 1)) : undefined;
        this.text(b.toString('latin1', from, last + 1), b, from);
      }
      if (opts.afterChunk) await opts.afterChunk();
      if (opts.onProgress) {
        const now = Date.now();
        if (now - lastProgress >= 1000) {
          lastProgress = now;
          opts.onProgress(name, bytes, this.line);
        }
      }
    }
    this.report.bytes += bytes;
    if (carry && carry.length > 0) this.tail(carry.toString('latin1'), carry);
    this.endFile();
    if (opts.afterChunk) await opts.afterChunk();
  }

  /**
   * The last line of a file when it has no newline: a whole record written without one is
   * kept; anything else is the torn line a writer killed mid-write leaves, reported as such
   * (not as corrupt).
   */
  private tail(t: string, src: Buffer): void {
    this.view.newText(src, 0);
    this.line++;
    const bad = this.classify(t, 0, t.length);
    if (bad !== undefined) this.report.torn.push(`${this.file}:${this.line}`);
  }

  /** Whole lines `t`, decoded (latin1) from `src` at `off`. */
  private text(t: string, src: Buffer, off: number): void {
    const v = this.view;
    v.newText(src, off);
    let p = 0;
    const n = t.length;
    // Lines before `canon` are in the writer's shape: checked a run at a time (canonicalUntil),
    // nearly every line of a capctl log.
    let canon = 0;
    while (p < n) {
      let nl = t.indexOf('\n', p);
      if (nl < 0) nl = n;
      if (p >= canon) canon = canonicalUntil(t, p);
      if (p < canon) {
        this.line++;
        v.canonicalAt(t, p, nl);
        this.accept(v);
      } else this.lineAt(t, p, nl);
      p = nl + 1;
    }
  }

  private lineAt(t: string, s: number, e: number): void {
    this.line++;
    const bad = this.classify(t, s, e);
    if (bad === undefined) return;
    this.report[bad.kind]++;
    this.problem(bad.why);
  }

  /** Hands the line's records on; returns what is wrong with it, if anything. */
  private classify(
    t: string,
    s: number,
    e: number,
  ): { kind: 'corrupt' | 'invalid' | 'other'; why: string } | undefined {
    let i = s;
    while (i < e) {
      const c = t.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13) break;
      i++;
    }
    if (i === e) return undefined; // blank
    if (t.charCodeAt(i) === 123 /* { */) {
      const v = this.view;
      if (v.fast(t, s, e) || v.scan(t, s, e)) {
        this.accept(v);
        return undefined;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(utf8(t, s, e));
      } catch (err) {
        return { kind: 'corrupt', why: `not JSON: ${(err as Error).message}` };
      }
      const c = checkRecord(parsed);
      if (c === 'suppressed') {
        this.report.suppressedLines++;
        const r = parsed as { suppressed: number; seq?: number };
        this.report.suppressedRecords += r.suppressed;
        this.followSeq(r.seq);
        return undefined;
      }
      if (c === 'attached') {
        const r = parsed as AttachRecord & { seq?: number };
        this.report.attached++;
        this.followSeq(r.seq);
        this.onAttached?.(r);
        return undefined;
      }
      if (c === 'lost') {
        const r = parsed as { lost: number; seq?: number };
        this.report.lostLines++;
        this.report.lostEvents += r.lost;
        this.followSeq(r.seq);
        return undefined;
      }
      if ('invalid' in c) {
        // It still took its number from the writer: not a gap.
        const q = (parsed as { seq?: unknown } | null)?.seq;
        if (typeof q === 'number' && Number.isInteger(q) && q >= 1) this.followSeq(q);
        return { kind: 'invalid', why: `not a valid audit record: ${c.invalid}` };
      }
      this.accept(c);
      return undefined;
    }
    const k = this.kernel.parse(utf8(t, s, e));
    if (k === 'other') return undefined;
    if (k === undefined) return { kind: 'other', why: 'not a capability audit record' };
    for (const r of k) {
      this.report.records++;
      this.each(r);
    }
    return undefined;
  }

  private followSeq(seq: number | undefined, line = this.line): void {
    if (seq === undefined) return;
    if (this.firstSeq === 0) {
      this.firstSeq = seq;
      this.firstSeqLine = line;
    }
    const prev = this.prevSeq;
    this.prevSeq = seq;
    // 1 after anything: a new writer appended to the log.
    if (prev === 0 || seq === prev + 1 || seq === 1) return;
    this.report.gaps++;
    if (seq > prev) this.report.missing += seq - prev - 1;
    this.problem(
      seq > prev
        ? `seq jumps from ${prev} to ${seq}: ${seq - prev - 1} record(s) missing`
        : `seq goes back from ${prev} to ${seq}`,
      line,
    );
  }

  private accept(r: RecordView): void {
    this.followSeq(r.seq);
    this.report.records++;
    this.each(r);
  }
}

/** Add `b` (a later share of the same log, `lineOffset` lines in) into `a`; not its lines (the caller numbers them). */
export function mergeReports(a: ReadReport, b: ReadReport, lineOffset: number): void {
  for (const k of [
    'bytes',
    'records',
    'corrupt',
    'invalid',
    'other',
    'suppressedLines',
    'suppressedRecords',
    'lostLines',
    'lostEvents',
    'attached',
    'gaps',
    'missing',
  ] as const)
    a[k] += b[k];
  a.torn.push(...b.torn.map((t) => t.replace(/:(\d+)$/, (_, n: string) => `:${Number(n) + lineOffset}`)));
  for (const p of b.problems)
    if (a.problems.length < MAX_PROBLEMS)
      a.problems.push({
        ...p,
        line: p.line + lineOffset,
        where: p.where.replace(/:(\d+)$/, `:${p.line + lineOffset}`),
      });
}

/** One-line-per-kind summary of what a read skipped or found broken, for stderr. */
export function formatReadReport(r: ReadReport): string[] {
  const out: string[] = [];
  const parts: string[] = [];
  if (r.corrupt) parts.push(`${r.corrupt} corrupt line(s)`);
  if (r.invalid) parts.push(`${r.invalid} record(s) failing the schema`);
  if (r.other) parts.push(`${r.other} line(s) that are not capability records`);
  if (parts.length) out.push(`skipped ${parts.join(', ')}`);
  for (const t of r.torn) out.push(`torn last line at ${t} (a writer died mid-record)`);
  if (r.gaps) out.push(`${r.gaps} gap(s) in seq: ${r.missing} record(s) missing`);
  if (r.suppressedRecords)
    out.push(
      `${r.suppressedRecords} record(s) were dropped by the writer's rate limit (${r.suppressedLines} summary line(s))`,
    );
  if (r.lostEvents)
    out.push(
      `${r.lostEvents} event(s) were lost by the tracer before they became records (${r.lostLines} loss line(s))`,
    );
  if (out.length) for (const p of r.problems.slice(0, 5)) out.push(`  ${p.where}: ${p.why}`);
  return out;
}

/**
 * Parse one line of any supported format: a capctl record (JSON), the records of a kernel or
 * LSM line (an array), or undefined when it holds none.
 */
export function parseAuditLine(line: string): AuditRecord | AuditRecord[] | undefined {
  const found: AuditRecord[] = [];
  const reader = new AuditLogReader((r) => found.push(own(r)));
  reader.readLine(line);
  if (found.length === 0) return undefined;
  return line.trimStart().startsWith('{') ? found[0] : found;
}

/** Stream records from a file ('-' = stdin) or a readable; problems go to `onProblem`. */
export async function* readAuditRecords(
  source: string | Readable,
  onProblem: (p: ReadProblem) => void = () => {},
): AsyncGenerator<AuditRecord> {
  // The reader is push-based (fast); this pull interface batches per chunk.
  let batch: AuditRecord[] = [];
  const reader = new AuditLogReader((r) => batch.push(own(r)));
  const problemsSeen = { n: 0 };
  const it = (async function* () {
    const queue: AuditRecord[][] = [];
    let done = false;
    let wake: (() => void) | undefined;
    const p = reader
      .read([source], {
        afterChunk: async () => {
          queue.push(batch);
          batch = [];
          wake?.();
          // Let the consumer catch up before reading on.
          while (queue.length > 4) await new Promise<void>((r) => setImmediate(r));
        },
      })
      .finally(() => {
        done = true;
        wake?.();
      });
    for (;;) {
      const b = queue.shift();
      if (b) {
        yield* b;
        for (; problemsSeen.n < reader.report.problems.length; problemsSeen.n++)
          onProblem(reader.report.problems[problemsSeen.n]!);
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
    await p;
    for (; problemsSeen.n < reader.report.problems.length; problemsSeen.n++)
      onProblem(reader.report.problems[problemsSeen.n]!);
  })();
  yield* it;
}
