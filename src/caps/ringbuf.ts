/**
 * The binary form of tracefs events, as `per_cpu/cpuN/trace_pipe_raw` returns them: whole
 * ring-buffer pages, no text formatting by the kernel (which is what limits trace_pipe: a
 * reader of text saw ~80k events/s, of raw pages more than the flood could make). Layouts are
 * those that tracefs itself describes (events/header_page, events/header_event, each event's
 * `format` file), so offsets are read from the format files, not assumed.
 *
 * Page: u64 timestamp, local_t commit (the data size in its low bits; bits 30-31 flag missed
 * events), then the events. Event header: u32 with type_len (5 bits) and time_delta (27 bits):
 *   type_len 1..28  data of type_len*4 bytes follows the header
 *   type_len 0      u32 length (itself included) follows, then the data
 *   29 padding (time_delta 0: the rest of the page), 30 time extend, 31 absolute time stamp.
 * Data starts with the common fields: u16 type (the event's ID), u8 flags, u8 preempt, i32 pid.
 */

/** One field of an event's format file. */
export interface FormatField {
  offset: number;
  size: number;
  signed: boolean;
  /** `__data_loc`: the u32 at `offset` holds (length << 16 | offset) of the real data. */
  dataLoc: boolean;
}

export interface EventFormat {
  id: number;
  fields: Record<string, FormatField>;
}

/** Parse an event's `format` file. */
export function parseEventFormat(text: string): EventFormat {
  const id = /^ID: (\d+)$/m.exec(text);
  if (!id) throw new Error('not a tracefs event format (no ID line)');
  const fields: Record<string, FormatField> = {};
  for (const m of text.matchAll(
    /field:([^;]*?)\s*([A-Za-z_]\w*)(\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d);/g,
  )) {
    fields[m[2]!] = {
      offset: Number(m[4]),
      size: Number(m[5]),
      signed: m[6] === '1',
      dataLoc: m[1]!.includes('__data_loc'),
    };
  }
  return { id: Number(id[1]), fields };
}

const TYPE_PADDING = 29;
const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
const COMMIT_SIZE_MASK = 0x3fffffff;

/**
 * Walk the events of one page: `each(ts, dataOffset, dataLength)` for every data event, with
 * ts in the ring buffer's clock units (ns for the default local clock). Returns the number of
 * data events, and whether the kernel flagged events missed before this page.
 */
export function walkPage(
  page: Buffer,
  each: (ts: number, off: number, len: number) => void,
): { events: number; missed: boolean } {
  if (page.length < 16) return { events: 0, missed: false };
  let ts = Number(page.readBigUInt64LE(0));
  const commitLo = page.readUInt32LE(8);
  const size = commitLo & COMMIT_SIZE_MASK;
  const missed = (commitLo & 0x80000000) !== 0;
  const end = Math.min(16 + size, page.length);
  let p = 16;
  let events = 0;
  while (p + 4 <= end) {
    const h = page.readUInt32LE(p);
    const typeLen = h & 0x1f;
    const delta = h >>> 5;
    if (typeLen === TYPE_PADDING) {
      if (delta === 0) break;
      p += 4 + page.readUInt32LE(p + 4);
      continue;
    }
    if (typeLen === TYPE_TIME_EXTEND) {
      ts += delta + page.readUInt32LE(p + 4) * 2 ** 27;
      p += 8;
      continue;
    }
    if (typeLen === TYPE_TIME_STAMP) {
      // Absolute (only in absolute-timestamp mode, which capctl never sets): low 27 bits in
      // the header, the next 32 in the following word.
      const abs = delta + page.readUInt32LE(p + 4) * 2 ** 27;
      ts = abs;
      p += 8;
      continue;
    }
    ts += delta;
    let off: number;
    let len: number;
    if (typeLen === 0) {
      const l = page.readUInt32LE(p + 4);
      off = p + 8;
      len = l - 4;
      p += 4 + l;
    } else {
      off = p + 4;
      len = typeLen * 4;
      p += 4 + len;
    }
    if (off + len > end || len < 8) break;
    events++;
    each(ts, off, len);
  }
  return { events, missed };
}

/** A signed 32-bit field. */
export function readI32(page: Buffer, eventOff: number, f: FormatField): number {
  return page.readInt32LE(eventOff + f.offset);
}

/** A `__data_loc char[]` string field (NUL-terminated inside its extent). */
export function readDataLocString(page: Buffer, eventOff: number, f: FormatField): string {
  const loc = page.readUInt32LE(eventOff + f.offset);
  const start = eventOff + (loc & 0xffff);
  const len = loc >>> 16;
  let stop = start;
  const max = Math.min(start + len, page.length);
  while (stop < max && page[stop] !== 0) stop++;
  return page.toString('utf8', start, stop);
}

/**
 * A signed 64-bit little-endian value as a number, from two 32-bit reads: exact for |v| < 2^53
 * (syscall numbers, errnos, user addresses), without the BigInt that readBigInt64LE allocates
 * per call (a million events a second made BigInts and their garbage the reader's main cost).
 */
export function readI64(page: Buffer, at: number): number {
  return page.readInt32LE(at + 4) * 2 ** 32 + page.readUInt32LE(at);
}

/** Is the 64-bit value at `at` zero (a NULL pointer)? */
export function isZero64(page: Buffer, at: number): boolean {
  return page.readUInt32LE(at) === 0 && page.readUInt32LE(at + 4) === 0;
}

/** A pointer-sized field as hex (the raw value: only equality between events is used). */
export function readPtr(page: Buffer, eventOff: number, f: FormatField): string {
  const at = eventOff + f.offset;
  const hi = page.readUInt32LE(at + 4);
  const lo = page.readUInt32LE(at).toString(16);
  // As BigInt's toString(16) writes it: no leading zeros.
  return hi === 0 ? lo : hi.toString(16) + lo.padStart(8, '0');
}
