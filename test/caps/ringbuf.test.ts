/**
 * The ring-buffer page walker on hand-built pages (the layouts of events/header_page and
 * events/header_event), and the format-file parser on cap_capable's format as Linux 6.18
 * prints it. The live tests (test/live) decode real pages from the kernel.
 */
import { describe, expect, it } from 'vitest';
import { parseEventFormat, readDataLocString, walkPage } from '../../src/caps/ringbuf.js';

const CAP_FORMAT = `name: cap_capable
ID: 2073
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:const struct cred * cred;\toffset:8;\tsize:8;\tsigned:0;
\tfield:struct user_namespace * target_ns;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const struct user_namespace * capable_ns;\toffset:24;\tsize:8;\tsigned:0;
\tfield:int cap;\toffset:32;\tsize:4;\tsigned:1;
\tfield:int ret;\toffset:36;\tsize:4;\tsigned:1;

print fmt: "cred %p, target_ns %p, capable_ns %p, cap %d, ret %d", REC->cred, REC->target_ns, REC->capable_ns, REC->cap, REC->ret
`;

/** A page: timestamp, commit = size of `events`, then the events. */
function page(ts: bigint, events: Buffer[], flags = 0): Buffer {
  const data = Buffer.concat(events);
  const p = Buffer.alloc(4096);
  p.writeBigUInt64LE(ts, 0);
  p.writeUInt32LE((data.length | flags) >>> 0, 8);
  data.copy(p, 16);
  return p;
}

function header(typeLen: number, delta: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(((delta << 5) | typeLen) >>> 0, 0);
  return b;
}

function capEvent(pid: number, cap: number, ret: number): Buffer {
  const d = Buffer.alloc(40);
  d.writeUInt16LE(2073, 0);
  d.writeInt32LE(pid, 4);
  d.writeBigUInt64LE(0xdeadn, 8);
  d.writeInt32LE(cap, 32);
  d.writeInt32LE(ret, 36);
  return d;
}

describe('ring-buffer pages', () => {
  it('parses the format file', () => {
    const f = parseEventFormat(CAP_FORMAT);
    expect(f.id).toBe(2073);
    expect(f.fields.cap).toEqual({ offset: 32, size: 4, signed: true, dataLoc: false });
    expect(f.fields.capable_ns?.offset).toBe(24);
    expect(f.fields.common_pid?.offset).toBe(4);
  });

  it('walks small and large events, time extends and padding, summing deltas', () => {
    const big = Buffer.alloc(4);
    big.writeUInt32LE(4 + 40, 0); // type_len 0: the length word counts itself
    const ext = Buffer.alloc(4);
    ext.writeUInt32LE(1, 0); // extend by 1 << 27
    const pad = Buffer.alloc(4);
    pad.writeUInt32LE(12, 0); // discarded: the length from the word itself to the next event
    const p = page(1000n, [
      header(10, 5),
      capEvent(7, 13, -1), // 40 bytes = type_len 10
      header(30, 3),
      ext,
      header(0, 2),
      big,
      capEvent(8, 21, 0),
      header(29, 1),
      pad,
      Buffer.alloc(8), // padded (discarded) bytes
      header(10, 4),
      capEvent(9, 0, -1),
    ]);
    const seen: [number, number, number, number][] = [];
    const r = walkPage(p, (ts, off, len) => {
      expect(len).toBe(40);
      seen.push([ts, p.readInt32LE(off + 4), p.readInt32LE(off + 32), p.readInt32LE(off + 36)]);
    });
    expect(r).toEqual({ events: 3, missed: false });
    const t2 = 1000 + 5 + 3 + 2 ** 27 + 2;
    expect(seen).toEqual([
      [1005, 7, 13, -1],
      [t2, 8, 21, 0],
      [t2 + 4, 9, 0, -1], // padding does not advance time (rb_update_read_stamp)
    ]);
  });

  it('stops at null padding and reports missed events', () => {
    const p = page(0n, [header(10, 1), capEvent(1, 1, -1), header(29, 0), header(10, 1), capEvent(2, 2, -1)], 1 << 31);
    let n = 0;
    expect(walkPage(p, () => n++)).toEqual({ events: 1, missed: true });
    expect(n).toBe(1);
  });

  it('reads __data_loc strings', () => {
    const d = Buffer.alloc(32);
    d.writeUInt32LE((6 << 16) | 20, 8);
    d.write('ping\0x', 20);
    expect(readDataLocString(d, 0, { offset: 8, size: 4, signed: false, dataLoc: true })).toBe('ping');
  });
});
