/**
 * learn's fold of the event stream (src/live/learn.ts CheckCollector, fed by
 * src/live/rawevents.ts visitPages): random multi-threaded traces whose threads move between
 * CPUs, laid out as the kernel lays out per-CPU ring-buffer pages (this kernel's format files
 * for capability:cap_capable and raw_syscalls:sys_exit), against a plain reference fold of
 * the same trace written out here. The pages are fed both ways learn has: straight from the
 * pages (no object per event) and as decoded objects (the kprobe source's path).
 */
import { describe, expect, it } from 'vitest';
import { parseEventFormat } from '../../src/caps/ringbuf.js';
import { syscallNameOf } from '../../src/caps/syscall-names.js';
import { type CapCheck, CheckCollector } from '../../src/live/learn.js';
import { decodePages, type Formats, visitPages } from '../../src/live/rawevents.js';

// As /sys/kernel/tracing/events/*/format reads on Linux 6.18 (x86-64).
const CAP_FORMAT = `name: cap_capable
ID: 2073
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:const struct cred * cred;	offset:8;	size:8;	signed:0;
	field:struct user_namespace * target_ns;	offset:16;	size:8;	signed:0;
	field:const struct user_namespace * capable_ns;	offset:24;	size:8;	signed:0;
	field:int cap;	offset:32;	size:4;	signed:1;
	field:int ret;	offset:36;	size:4;	signed:1;
`;
const EXIT_FORMAT = `name: sys_exit
ID: 442
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:long id;	offset:8;	size:8;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;
`;
const formats: Formats = { cap: parseEventFormat(CAP_FORMAT), exit: parseEventFormat(EXIT_FORMAT) };

function capEvent(tid: number, cap: number, ret: number, nsNull: boolean): Buffer {
  const d = Buffer.alloc(40);
  d.writeUInt16LE(2073, 0);
  d.writeInt32LE(tid, 4);
  d.writeBigUInt64LE(0xffff888100aa5500n, 8);
  d.writeBigUInt64LE(0xffffffff82a1b2c0n, 16);
  d.writeBigUInt64LE(nsNull ? 0n : 0xffffffff82a1b2c0n, 24);
  d.writeInt32LE(cap, 32);
  d.writeInt32LE(ret, 36);
  return d;
}

function exitEvent(tid: number, nr: number, ret: number): Buffer {
  const d = Buffer.alloc(24);
  d.writeUInt16LE(442, 0);
  d.writeInt32LE(tid, 4);
  d.writeBigInt64LE(BigInt(nr), 8);
  d.writeBigInt64LE(BigInt(ret), 16);
  return d;
}

/** One CPU's events as ring-buffer pages: page time stamp, then deltas in the event headers. */
function pagesOf(cpu: number, events: { ts: number; data: Buffer }[]): { cpu: number; page: Buffer }[] {
  const out: { cpu: number; page: Buffer }[] = [];
  let p: Buffer | undefined;
  let off = 0;
  let last = 0;
  const close = () => {
    if (p) {
      p.writeUInt32LE(off - 16, 8);
      out.push({ cpu, page: p });
    }
  };
  for (const e of events) {
    if (!p || off + 4 + e.data.length > 4096) {
      close();
      p = Buffer.alloc(4096);
      p.writeBigUInt64LE(BigInt(e.ts), 0);
      off = 16;
      last = e.ts;
    }
    p.writeUInt32LE((((e.ts - last) << 5) | (e.data.length / 4)) >>> 0, off);
    e.data.copy(p, off + 4);
    off += 4 + e.data.length;
    last = e.ts;
  }
  close();
  return out;
}

/** A small deterministic generator (xorshift32), so that a failure names its seed. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

interface Truth {
  pages: { cpu: number; page: Buffer }[];
  /** The checks as the reference fold classifies them, in the order their syscalls end. */
  checks: Omit<CapCheck, 'comm' | 'tgid'>[];
}

/**
 * Threads making syscalls in turns; each syscall makes 0-3 checks and then exits, and runs on
 * one CPU (chosen anew per syscall, so threads migrate between syscalls). Some threads end
 * inside a syscall (exit_group): their last checks never see an exit.
 */
function trace(seed: number, cpus: number): Truth {
  const r = rng(seed);
  const perCpu: { ts: number; data: Buffer }[][] = Array.from({ length: cpus }, () => []);
  const checks: Truth['checks'] = [];
  const open = new Map<number, { cpu: number; made: { cap: number; ret: number; ns: boolean }[] }>();
  const tids = [101, 102, 103, 104, 105].slice(0, 1 + r(5));
  let ts = 1_000;
  for (let step = 0; step < 400; step++) {
    ts += 1 + r(50);
    const tid = tids[r(tids.length)]!;
    let cur = open.get(tid);
    if (!cur) {
      cur = { cpu: r(cpus), made: [] };
      open.set(tid, cur);
    }
    if (r(3) > 0 && cur.made.length < 3) {
      const c = { cap: [0, 1, 2, 12, 13, 21, 38][r(7)]!, ret: r(4) === 0 ? -1 : 0, ns: r(9) === 0 };
      cur.made.push(c);
      perCpu[cur.cpu]!.push({ ts, data: capEvent(tid, c.cap, c.ret, c.ns) });
      continue;
    }
    const nr = [2, 90, 92, 94, 105, 141, 260][r(7)]!;
    const ret = r(3) === 0 ? -[1, 13, 22][r(3)]! : r(2) === 0 ? 0 : 4096 + r(100_000);
    perCpu[cur.cpu]!.push({ ts, data: exitEvent(tid, nr, ret) });
    for (const c of cur.made) {
      const cls = ret >= 0 ? (c.ret === 0 ? 'candidate' : 'not-needed') : c.ret === 0 ? 'failed-anyway' : 'denied';
      checks.push({ tid, cap: c.cap, ret: c.ret, capableNsNull: c.ns, syscall: syscallNameOf(nr)!, sysRet: ret, cls });
    }
    open.delete(tid);
  }
  // Threads still inside a syscall at the end: their checks are 'no-syscall'.
  for (const [tid, cur] of open) {
    for (const c of cur.made) {
      checks.push({ tid, cap: c.cap, ret: c.ret, capableNsNull: c.ns, syscall: null, sysRet: null, cls: 'no-syscall' });
    }
  }
  // Each CPU's pages in its own order, the CPUs one after the other, as RawPipeReader drains
  // them.
  const pages = perCpu.flatMap((evs, cpu) => pagesOf(cpu, evs));
  return { pages, checks };
}

function fold(t: Truth, how: 'visit' | 'objects'): CheckCollector {
  const c = new CheckCollector(0, 0, true);
  if (how === 'visit') visitPages(t.pages, formats, c, { cred: false });
  else for (const e of decodePages(t.pages, formats, { cred: false })) c.event(e);
  c.finish();
  return c;
}

/** Findings as the reference fold gives them. */
function referenceFindings(checks: Truth['checks']) {
  const by = new Map<
    number,
    { granted: number; denied: number; syscalls: Set<string>; classes: Record<string, number> }
  >();
  for (const c of checks) {
    const f = by.get(c.cap) ?? { granted: 0, denied: 0, syscalls: new Set<string>(), classes: {} };
    by.set(c.cap, f);
    if (c.ret === 0) f.granted++;
    else f.denied++;
    if (c.syscall) f.syscalls.add(c.syscall);
    f.classes[c.cls] = (f.classes[c.cls] ?? 0) + 1;
  }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([cap, f]) => ({
      cap,
      granted: f.granted,
      denied: f.denied,
      syscalls: [...f.syscalls].sort(),
      classes: f.classes,
    }));
}

const strip = (c: CapCheck) => {
  const { comm: _comm, tgid: _tgid, ...rest } = c;
  return rest;
};
const sortChecks = <T extends { tid: number }>(xs: T[]) =>
  // Checks of one thread keep their order; across threads the reference lists them as their
  // syscalls end, which is the fold's order too except for the unfinished ones at the end.
  [...xs].sort((a, b) => a.tid - b.tid);

describe('learn folds a trace into checks exactly as the reference does', () => {
  for (const cpus of [1, 2, 3, 8]) {
    it(`random traces on ${cpus} CPU(s), threads moving between them`, () => {
      for (let seed = 1; seed <= 60; seed++) {
        const t = trace(seed * 7919 + cpus, cpus);
        for (const how of ['visit', 'objects'] as const) {
          const c = fold(t, how);
          const where = `seed ${seed}, ${how}`;
          expect(c.count, where).toBe(t.checks.length);
          expect(sortChecks(c.checks.map(strip)), where).toEqual(sortChecks(t.checks));
          expect(
            c.findings().map((f) => ({ ...f, syscalls: [...f.syscalls].sort() })),
            where,
          ).toEqual(referenceFindings(t.checks).map((f) => expect.objectContaining(f)));
        }
      }
    });
  }

  it('without kept checks (learn without --audit) the findings are the same', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const t = trace(seed, 2);
      const kept = fold(t, 'visit');
      const c = new CheckCollector(0, 0, false);
      visitPages(t.pages, formats, c, { cred: false });
      c.finish();
      expect(c.checks).toEqual([]);
      expect(c.count).toBe(kept.count);
      expect(c.findings()).toEqual(kept.findings());
    }
  });

  it('visitPages merges CPUs by time: a check on one CPU belongs to the exit on another', () => {
    // tid 7's check runs on CPU 1, its syscall returns on CPU 0 after migrating; CPU 0's page
    // comes first in the batch, but its exit is later than the check.
    const pages = [
      ...pagesOf(0, [{ ts: 2_000, data: exitEvent(7, 105, 0) }]),
      ...pagesOf(1, [{ ts: 1_500, data: capEvent(7, 7, 0, false) }]),
    ];
    const c = new CheckCollector(0, 0, true);
    visitPages(pages, formats, c, { cred: false });
    c.finish();
    expect(c.checks.map(strip)).toEqual([
      { tid: 7, cap: 7, ret: 0, capableNsNull: false, syscall: 'setuid', sysRet: 0, cls: 'candidate' },
    ]);
    expect(decodePages(pages, formats).map((e) => e.ts)).toEqual([1_500, 2_000]);
  });
});
