/**
 * `audit query`'s output rows, as text: a fixed-width table row or the record's JSON, one per
 * matching record. In the audit layer (not the CLI) because a worker thread reading a segment
 * of a log (parallel.ts) formats its rows where it finds them, exactly as the main thread does.
 */
import type { AttachRecord } from './attach-record.js';
import type { RecordView } from './reader.js';
import { own, ScannedRecord } from './scan.js';

const HEADER = ['TIME', 'VERDICT', 'PID', 'COMM', 'SYSCALL', 'NEEDS', 'ERRNO', 'WHY'];
/** Column widths for a streamed table: rows are printed before the widest one is known. */
const WIDTHS = [24, 8, 7, 15, 28, 22, 6];

function cells(c: string[]): string {
  return `${c.map((x, i) => (i < WIDTHS.length ? x.padEnd(WIDTHS[i]!) : x)).join('  ')}\n`;
}

export function queryHeader(): string {
  return cells(HEADER);
}

export function queryRow(r: RecordView): string {
  return cells([
    r.time,
    r.verdict,
    String(r.tgid === r.tid ? r.tgid : `${r.tgid}/${r.tid}`),
    r.comm ?? '-',
    r.op ? `${r.syscall ?? '?'}(${r.op})` : (r.syscall ?? '-'),
    r.cap ?? r.priv ?? '-',
    r.errno || '-',
    `${r.stage}: ${r.reason}`,
  ]);
}

/** A container started under a profile, in the same columns: no process, syscall or errno. */
export function attachRow(r: AttachRecord): string {
  const who = r.containerName ? `${r.containerName} (${r.containerId.slice(0, 12)})` : r.containerId.slice(0, 12);
  return cells([r.time, r.verdict, '-', '-', '-', `profile ${r.profile}`, '-', `container ${who} via ${r.via}`]);
}

/**
 * Rows as they are found, as bytes, taken as one Buffer by whoever prints them. Bytes rather
 * than strings: a row sliced from a chunk's text would keep the whole chunk alive until printed
 * (a worker reading ahead then promoted every chunk to the old generation: 1.4 s of GC for 1M
 * records), and a Buffer is written to stdout and sent between threads without re-encoding.
 * JSON rows each start with ",\n": QueryOut turns the first one's comma into the array's "[".
 */
export class QueryRows {
  private buf = Buffer.allocUnsafeSlow(1 << 20);
  private n = 0;
  count = 0;
  constructor(private readonly json: boolean) {}

  private room(bytes: number): void {
    if (this.n + bytes <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.n + bytes));
    this.buf.copy(bigger, 0, 0, this.n);
    this.buf = bigger;
  }

  add(r: RecordView): void {
    this.count++;
    if (this.json && r instanceof ScannedRecord && r.canonical) {
      // A writer-shape line is exactly what JSON.stringify of its parse gives (scan.ts), and
      // it is ASCII: its latin1 text is its bytes.
      // Copied from the bytes it was read from (writing the string costs ~2 us a row).
      this.room(r.end - r.start + 2);
      this.buf[this.n++] = 44; // ,
      this.buf[this.n++] = 10; // \n
      this.n += r.bytes!.copy(this.buf, this.n, r.bytesAt + r.start, r.bytesAt + r.end);
      return;
    }
    const text = this.json ? `,\n${JSON.stringify(own(r))}` : queryRow(r);
    this.room(Buffer.byteLength(text));
    this.n += this.buf.write(text, this.n, 'utf8');
  }

  /** An attach record's row (see attachRow; --json: the record as parsed). */
  addAttached(r: AttachRecord): void {
    this.count++;
    const text = this.json ? `,\n${JSON.stringify(r)}` : attachRow(r);
    this.room(Buffer.byteLength(text));
    this.n += this.buf.write(text, this.n, 'utf8');
  }

  /** The rows added since the last take(), in a Buffer of their own (safe to transfer). */
  take(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.n);
    out.set(this.buf.subarray(0, this.n));
    this.n = 0;
    return out;
  }

  /**
   * The rows added since the last call, without a copy: valid until the next add() unless
   * `keep` says the caller still holds them (then a new buffer is used from here on).
   */
  drain(use: (rows: Buffer) => boolean): void {
    if (this.n === 0) return;
    const view = this.buf.subarray(0, this.n);
    this.n = 0;
    // Held by the caller (a pipe's queue): go on in a new, small one (it grows if it must).
    if (use(view)) this.buf = Buffer.allocUnsafeSlow(1 << 16);
  }
}

/** Writes rows to an output, framing JSON rows as one array. */
export class QueryOut {
  private started = false;
  constructor(
    private readonly json: boolean,
    private readonly write: (b: Buffer | string) => Promise<void> | undefined,
  ) {}

  header(): Promise<void> | undefined {
    return this.json ? undefined : this.write(queryHeader());
  }

  rows(bytes: Uint8Array): Promise<void> | undefined {
    if (bytes.length === 0) return undefined;
    let b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    if (this.json && !this.started) {
      b = Buffer.from(b); // its own copy: the caller's may be reused
      b[0] = 91; // [
    }
    this.started = true;
    return this.write(b);
  }

  end(): Promise<void> | undefined {
    return this.json ? this.write(this.started ? '\n]\n' : '[]\n') : undefined;
  }
}
