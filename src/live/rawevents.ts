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
 * Decode one batch of raw pages into events, in time order across CPUs. `cred: false` leaves
 * each check's credential pointer out ('' in its place): learn never uses it, and formatting
 * it cost more than the rest of a check's decoding.
 */
export function decodePages(
  pages: readonly { cpu: number; page: Buffer }[],
  f: Formats,
  { cred = true }: { cred?: boolean } = {},
): Ev[] {
  const out: Ev[] = [];
  const cap = f.cap;
  const fork = f.fork;
  const exec = f.exec;
  const attach = f.attach;
  const enter = f.enter;
  const exit = f.exit;
  const kentry = f.kentry;
  const kret = f.kret;
  for (const { page } of pages) {
    walkPage(page, (ts, off) => {
      const type = page.readUInt16LE(off);
      const tid = page.readInt32LE(off + 4);
      if (enter && type === enter.id) {
        out.push({ ts, kind: 'enter', tid, nr: readI64(page, off + enter.fields.id!.offset) });
      } else if (exit && type === exit.id) {
        out.push({
          ts,
          kind: 'exit',
          tid,
          nr: readI64(page, off + exit.fields.id!.offset),
          ret: readI64(page, off + exit.fields.ret!.offset),
        });
      } else if (cap && type === cap.id) {
        const x = cap.fields;
        out.push({
          ts,
          kind: 'cap',
          tid,
          cred: cred ? readPtr(page, off, x.cred!) : '',
          cap: page.readInt32LE(off + x.cap!.offset),
          ret: page.readInt32LE(off + x.ret!.offset),
          capableNsNull: isZero64(page, off + x.capable_ns!.offset),
        });
      } else if (kentry && type === kentry.id) {
        const x = kentry.fields;
        out.push({
          ts,
          kind: 'kentry',
          tid,
          cred: cred ? readPtr(page, off, x.cred!) : '',
          cap: page.readInt32LE(off + x.cap!.offset),
          opts: page.readUInt32LE(off + x.opts!.offset),
        });
      } else if (kret && type === kret.id) {
        out.push({ ts, kind: 'kret', tid, ret: page.readInt32LE(off + kret.fields.ret!.offset) });
      } else if (fork && type === fork.id) {
        const x = fork.fields;
        out.push({
          ts,
          kind: 'fork',
          parent: page.readInt32LE(off + x.parent_pid!.offset),
          child: page.readInt32LE(off + x.child_pid!.offset),
          comm: readDataLocString(page, off, x.child_comm!),
        });
      } else if (exec && type === exec.id) {
        const x = exec.fields;
        out.push({
          ts,
          kind: 'exec',
          pid: page.readInt32LE(off + x.pid!.offset),
          oldPid: page.readInt32LE(off + x.old_pid!.offset),
          filename: readDataLocString(page, off, x.filename!),
        });
      } else if (attach && type === attach.id) {
        const x = attach.fields;
        out.push({
          ts,
          kind: 'attach',
          pid: page.readInt32LE(off + x.pid!.offset),
          path: readDataLocString(page, off, x.dst_path!),
        });
      }
    });
  }
  // Pages of one CPU are in order already; a stable sort interleaves the CPUs.
  if (pages.length > 1 && pages.some((p) => p.cpu !== pages[0]!.cpu)) out.sort((a, b) => a.ts - b.ts);
  return out;
}
