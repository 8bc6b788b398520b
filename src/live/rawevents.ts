/**
 * The events capctl's tracers use, decoded from raw ring-buffer pages (src/caps/ringbuf.ts)
 * with the offsets from the instance's own format files, and put in time order across CPUs.
 * One decoder for `learn` and `audit follow`.
 */
import {
  type EventFormat,
  isZero64,
  parseEventFormat,
  readDataLocString,
  readI64,
  readPtr,
  walkPage,
} from '../caps/ringbuf.js';
import { hasEvent, type TraceInstance } from '../sys/tracefs.js';

/** Events with fixed names; `kentry`/`kret` are cap_capable's kprobe pair (src/live/cap-source.ts), named per group. */
export type EventKind = 'cap' | 'fork' | 'exec' | 'attach' | 'enter' | 'exit';

const EVENTS: Record<EventKind, [string, string]> = {
  cap: ['capability', 'cap_capable'],
  fork: ['sched', 'sched_process_fork'],
  exec: ['sched', 'sched_process_exec'],
  attach: ['cgroup', 'cgroup_attach_task'],
  enter: ['raw_syscalls', 'sys_enter'],
  exit: ['raw_syscalls', 'sys_exit'],
};

export type Formats = Partial<Record<EventKind | 'kentry' | 'kret', EventFormat>>;

/** The tracefs system/event name of a kind. */
export function eventName(kind: EventKind): [string, string] {
  return EVENTS[kind];
}

/** Format files of the kinds wanted (a kind this kernel lacks is left out). */
export function loadFormats(inst: TraceInstance, kinds: readonly EventKind[]): Formats {
  const out: Formats = {};
  for (const k of kinds) {
    const [sys, ev] = EVENTS[k];
    try {
      out[k] = parseEventFormat(inst.read(`events/${sys}/${ev}/format`));
    } catch (err) {
      if (hasEvent(inst.dir.replace(/\/instances\/[^/]+$/, ''), sys, ev)) throw err;
    }
  }
  return out;
}

export type Ev =
  | { ts: number; kind: 'cap'; tid: number; cred: string; cap: number; ret: number; capableNsNull: boolean }
  | { ts: number; kind: 'fork'; parent: number; child: number; comm: string }
  | { ts: number; kind: 'exec'; pid: number; oldPid: number; filename: string }
  | { ts: number; kind: 'attach'; pid: number; path: string }
  | { ts: number; kind: 'enter'; tid: number; nr: number }
  | { ts: number; kind: 'exit'; tid: number; nr: number; ret: number }
  | { ts: number; kind: 'kentry'; tid: number; cred: string; cap: number; opts: number }
  | { ts: number; kind: 'kret'; tid: number; ret: number };

/**
 * What `visitPages` calls for each event, in time order across CPUs, with the fields decoded
 * but no object made per event: learn folds hundreds of thousands of checks a second, and an
 * object per event (sorted, then dropped) made the garbage collector its reader's main cost.
 * A visitor leaves out the kinds it does not take.
 */
export interface EventVisitor {
  cap?(ts: number, tid: number, cred: string, cap: number, ret: number, capableNsNull: boolean): void;
  enter?(ts: number, tid: number, nr: number): void;
  exit?(ts: number, tid: number, nr: number, ret: number): void;
  kentry?(ts: number, tid: number, cred: string, cap: number, opts: number): void;
  kret?(ts: number, tid: number, ret: number): void;
  fork?(ts: number, parent: number, child: number, comm: string): void;
  exec?(ts: number, pid: number, oldPid: number, filename: string): void;
  attach?(ts: number, pid: number, path: string): void;
}

/** Where each event of a batch is (page index, data offset) and when, reused from batch to batch. */
class EventIndex {
  ts = new Float64Array(4096);
  page = new Int32Array(4096);
  off = new Int32Array(4096);
  n = 0;

  push(ts: number, page: number, off: number): void {
    if (this.n === this.ts.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, b: T): T => (b.set(a), b);
      this.ts = grow(this.ts, new Float64Array(this.n * 2));
      this.page = grow(this.page, new Int32Array(this.n * 2));
      this.off = grow(this.off, new Int32Array(this.n * 2));
    }
    this.ts[this.n] = ts;
    this.page[this.n] = page;
    this.off[this.n] = off;
    this.n++;
  }
}

const index = new EventIndex();

/**
 * Visit one batch of raw pages, in time order across CPUs. A CPU's pages come in its own order
 * (the drain reads them per CPU), so each CPU's events are a sorted run and the runs are merged
 * (ties in CPU order), which keeps each thread's events in the order it made them even when it
 * moved between CPUs. `cred: false` leaves each check's credential pointer out ('' in its
 * place): formatting it cost more than the rest of a check's decoding.
 */
export function visitPages(
  pages: readonly { cpu: number; page: Buffer }[],
  f: Formats,
  v: EventVisitor,
  { cred = true }: { cred?: boolean } = {},
): void {
  index.n = 0;
  // runs[k] = [first, end) in the index of the k-th CPU's events
  const runs: number[] = [];
  for (let i = 0; i < pages.length; i++) {
    if (i === 0 || pages[i]!.cpu !== pages[i - 1]!.cpu) runs.push(index.n);
    walkPage(pages[i]!.page, (ts, off) => index.push(ts, i, off));
  }
  runs.push(index.n);
  const visit = (k: number): void => visitOne(pages[index.page[k]!]!.page, index.off[k]!, index.ts[k]!, f, v, cred);
  if (runs.length <= 2) {
    for (let k = 0; k < index.n; k++) visit(k);
    return;
  }
  const heads = runs.slice(0, -1);
  const ends = runs.slice(1);
  for (;;) {
    let best = -1;
    for (let r = 0; r < heads.length; r++) {
      if (heads[r]! < ends[r]! && (best < 0 || index.ts[heads[r]!]! < index.ts[heads[best]!]!)) best = r;
    }
    if (best < 0) return;
    visit(heads[best]!++);
  }
}

function visitOne(page: Buffer, off: number, ts: number, f: Formats, v: EventVisitor, cred: boolean): void {
  const type = page.readUInt16LE(off);
  const tid = page.readInt32LE(off + 4);
  const { cap, exit, enter, kentry, kret, fork, exec, attach } = f;
  if (exit && type === exit.id) {
    v.exit?.(ts, tid, readI64(page, off + exit.fields.id!.offset), readI64(page, off + exit.fields.ret!.offset));
  } else if (cap && type === cap.id) {
    const x = cap.fields;
    v.cap?.(
      ts,
      tid,
      cred ? readPtr(page, off, x.cred!) : '',
      page.readInt32LE(off + x.cap!.offset),
      page.readInt32LE(off + x.ret!.offset),
      isZero64(page, off + x.capable_ns!.offset),
    );
  } else if (enter && type === enter.id) {
    v.enter?.(ts, tid, readI64(page, off + enter.fields.id!.offset));
  } else if (kentry && type === kentry.id) {
    const x = kentry.fields;
    v.kentry?.(
      ts,
      tid,
      cred ? readPtr(page, off, x.cred!) : '',
      page.readInt32LE(off + x.cap!.offset),
      page.readUInt32LE(off + x.opts!.offset),
    );
  } else if (kret && type === kret.id) {
    v.kret?.(ts, tid, page.readInt32LE(off + kret.fields.ret!.offset));
  } else if (fork && type === fork.id) {
    const x = fork.fields;
    v.fork?.(
      ts,
      page.readInt32LE(off + x.parent_pid!.offset),
      page.readInt32LE(off + x.child_pid!.offset),
      readDataLocString(page, off, x.child_comm!),
    );
  } else if (exec && type === exec.id) {
    const x = exec.fields;
    v.exec?.(
      ts,
      page.readInt32LE(off + x.pid!.offset),
      page.readInt32LE(off + x.old_pid!.offset),
      readDataLocString(page, off, x.filename!),
    );
  } else if (attach && type === attach.id) {
    v.attach?.(
      ts,
      page.readInt32LE(off + attach.fields.pid!.offset),
      readDataLocString(page, off, attach.fields.dst_path!),
    );
  }
}

/** One batch of raw pages as event objects, in time order across CPUs (visitPages). */
export function decodePages(
  pages: readonly { cpu: number; page: Buffer }[],
  f: Formats,
  opts: { cred?: boolean } = {},
): Ev[] {
  const out: Ev[] = [];
  visitPages(
    pages,
    f,
    {
      cap: (ts, tid, cred, cap, ret, capableNsNull) =>
        out.push({ ts, kind: 'cap', tid, cred, cap, ret, capableNsNull }),
      enter: (ts, tid, nr) => out.push({ ts, kind: 'enter', tid, nr }),
      exit: (ts, tid, nr, ret) => out.push({ ts, kind: 'exit', tid, nr, ret }),
      kentry: (ts, tid, cred, cap, opts) => out.push({ ts, kind: 'kentry', tid, cred, cap, opts }),
      kret: (ts, tid, ret) => out.push({ ts, kind: 'kret', tid, ret }),
      fork: (ts, parent, child, comm) => out.push({ ts, kind: 'fork', parent, child, comm }),
      exec: (ts, pid, oldPid, filename) => out.push({ ts, kind: 'exec', pid, oldPid, filename }),
      attach: (ts, pid, path) => out.push({ ts, kind: 'attach', pid, path }),
    },
    opts,
  );
  return out;
}
