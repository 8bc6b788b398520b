/**
 * Audit reader: streams logs chunk by chunk (memory stays flat on large logs, and a pipe is
 * read as it arrives) and hands each capability record to a callback.
 *
 * Per chunk: the bytes up to the last newline are decoded once (latin1, see utf8()), lines are found with
 * String.indexOf, and each capctl JSON line goes through the character scanner (scan.ts); only
 * lines it does not take (escapes, unusual numbers, unknown fields, invalid values) are
 * JSON.parse'd and type-checked with checkRecord. Other lines go to the kernel/LSM parser
 * (kernel.ts). Nothing is fatal: corrupt JSON, records failing the schema, a torn last line
 * and gaps in a writer's `seq` are counted, located and reported by the caller.
 *
 * Rotated logs are read oldest first (audit.log.2.gz, audit.log.1, audit.log), `.gz` through
 * zlib's stream, and `seq` continuity is followed across the files of one rotation set.
 */
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { open as open_ } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { AttachRecord } from './attach-record.js';
import { KernelLineParser } from './kernel.js';
import { type AuditRecord, checkRecord } from './record.js';
import { own, ScannedRecord } from './scan.js';

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

/** What a share of a log read elsewhere (a worker thread) reports back. */
export interface ShareResult {
  report: ReadReport;
  firstSeq: number;
  lastSeq: number;
}

export interface ReadOptions {
  /**
   * Read bytes [start, end) of a large plain file elsewhere (a worker thread) while this reader
   * reads the rest; the caller folds the share's records into its own answer.
   */
  share?: (file: string, start: number, end: number) => Promise<ShareResult>;
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

/** Files at least this big are split between two threads (below it a worker's start-up costs more). */
const SPLIT_BYTES = 48 << 20;

/** Where to split a large plain file: the start of the first line after its middle. */
async function splitPoint(file: string): Promise<{ mid: number; size: number } | undefined> {
  if (file === '-' || file.endsWith('.gz')) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (!st.isFile() || st.size < SPLIT_BYTES) return undefined;
    const buf = Buffer.alloc(1 << 16);
    for (let at = Math.floor(st.size / 2); at < st.size; at += buf.length) {
      const n = readSync(fd, buf, 0, buf.length, at);
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) return at + nl + 1 < st.size ? { mid: at + nl + 1, size: st.size } : undefined;
    }
    return undefined;
  } catch {
    return undefined; // the reader reports it when it opens the file
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Chunk size for reading. Below V8's largest regular object (128 KiB) on purpose: a chunk's
 * decoded string then dies young in a scavenge; 1 MiB chunks went to large-object space, freed
 * only by full collections, and a summary of a 1 GB log peaked at 219 MB RSS (this: see
 * BENCHMARKS.md).
 */
const CHUNK = 96 << 10;

/** A plain file's bytes through one reused buffer (no Buffer per chunk for the GC to find). */
async function* fileChunks(file: string, range?: { start: number; end: number }): AsyncGenerator<Buffer> {
  const fh = await open_(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = range?.start ?? 0;
    const end = range?.end ?? Number.POSITIVE_INFINITY;
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

function rotationBase(p: string): string {
  return /^(.*?)(?:\.\d+)?(?:\.gz)?$/.exec(p)![1]!;
}

function open(source: string | Readable, range?: { start: number; end: number }): Readable {
  if (typeof source !== 'string') return source;
  if (source === '-') return process.stdin;
  const file = createReadStream(source, {
    highWaterMark: CHUNK,
    ...(range ? { start: range.start, end: range.end - 1 } : {}),
  });
  if (!source.endsWith('.gz')) return file;
  const gunzip = createGunzip({ chunkSize: CHUNK });
  file.on('error', (e) => gunzip.destroy(e));
  return file.pipe(gunzip);
}

/** Reads logs in order, calling `each` for every record; the returned report counts the rest. */
export class AuditLogReader {
  readonly report = emptyReport();
  private readonly view = new ScannedRecord();
  private readonly kernel = new KernelLineParser();
  private prevSeq = 0;
  /** The first seq read (0: none yet): where a worker's share of a log starts. */
  firstSeq = 0;
  get lastSeq(): number {
    return this.prevSeq;
  }
  /** Continue a rotation set's seq from an earlier share of the log. */
  set lastSeq(seq: number) {
    this.prevSeq = seq;
  }
  private file = '';
  /** The file being read (for error messages). */
  get currentFile(): string {
    return this.file;
  }
  private line = 0;
  private each: (r: RecordView) => void;
  private onAttached: ((r: AttachRecord) => void) | undefined;

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
      const split = typeof source === 'string' && opts.share ? await splitPoint(source) : undefined;
      if (split === undefined || !opts.share) {
        await this.readOne(source, name, opts);
        continue;
      }
      // The second half goes to another thread while this one reads the first.
      const other = opts.share(source as string, split.mid, split.size);
      await this.readOne(source, name, opts, { start: 0, end: split.mid });
      const w = await other;
      const linesBefore = this.line;
      if (w.firstSeq !== 0) this.followSeq(w.firstSeq);
      if (w.lastSeq !== 0) this.prevSeq = w.lastSeq;
      mergeReports(this.report, w.report, linesBefore);
    }
    return this.report;
  }

  /** One line on its own (its problems land in the report). */
  readLine(line: string): void {
    const bytes = Buffer.from(line, 'utf8').toString('latin1');
    this.view.newText();
    this.lineAt(bytes, 0, bytes.length);
  }

  private problem(why: string): void {
    if (this.report.problems.length < MAX_PROBLEMS)
      this.report.problems.push({ where: `${this.file}:${this.line}`, line: this.line, why });
  }

  /** Read bytes [start, end) of one file (a share of a log split at a line boundary). */
  async readRange(file: string, start: number, end: number, opts: ReadOptions = {}): Promise<ReadReport> {
    await this.readOne(file, file, opts, { start, end });
    return this.report;
  }

  private async readOne(
    source: string | Readable,
    name: string,
    opts: ReadOptions,
    range?: { start: number; end: number },
  ): Promise<void> {
    this.file = name;
    this.line = 0;
    this.report.files++;
    const start = Date.now();
    let lastProgress = start;
    let carry: Buffer | undefined;
    let bytes = 0;
    const chunks =
      typeof source === 'string' && source !== '-' && !source.endsWith('.gz')
        ? fileChunks(source, range)
        : (open(source, range) as AsyncIterable<Buffer | string>);
    for await (const chunk of chunks) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      bytes += b.length;
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
          }
          continue;
        }
        const joined = Buffer.concat([carry, b.subarray(0, nl + 1)]).toString('latin1');
        carry = undefined;
        this.text(joined);
        from = nl + 1;
      }
      const last = b.lastIndexOf(10);
      if (last < from) {
        if (from < b.length) carry = Buffer.from(b.subarray(from));
      } else {
        carry = last + 1 < b.length ? Buffer.from(b.subarray(last + 1)) : undefined;
        this.text(b.toString('latin1', from, last + 1));
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
    if (carry && carry.length > 0) {
      // No newline at the end: a whole record written without one is kept; anything else is
      // the torn line a writer killed mid-write leaves, reported as such (not as corrupt).
      const t = carry.toString('latin1');
      this.view.newText();
      this.line++;
      const bad = this.classify(t, 0, t.length);
      if (bad !== undefined) this.report.torn.push(`${name}:${this.line}`);
    }
    this.report.lines += this.line;
    if (opts.afterChunk) await opts.afterChunk();
  }

  private text(t: string): void {
    this.view.newText();
    let p = 0;
    const n = t.length;
    while (p < n) {
      let nl = t.indexOf('\n', p);
      if (nl < 0) nl = n;
      this.lineAt(t, p, nl);
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

  private followSeq(seq: number | undefined): void {
    if (seq === undefined) return;
    if (this.firstSeq === 0) this.firstSeq = seq;
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
    );
  }

  private accept(r: RecordView): void {
    this.followSeq(r.seq);
    this.report.records++;
    this.each(r);
  }
}

/** Add `b` (a later share of the same logs, `lineOffset` lines in) into `a`. */
export function mergeReports(a: ReadReport, b: ReadReport, lineOffset: number): void {
  for (const k of [
    'lines',
    'bytes',
    'records',
    'corrupt',
    'invalid',
    'other',
    'suppressedLines',
    'suppressedRecords',
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
