/**
 * `capctl audit follow`: every capability the kernel refuses on this host, as audit records.
 *
 * A private tracefs instance enables `capability:cap_capable` with an in-kernel filter
 * (`ret != 0`, plus `cap == N` and `comm == "NAME"` when asked), so refusals are the only events
 * that reach the buffer. Each one is enriched from /proc (executable, euid, the container from
 * the cgroup path, the profile bound to that container) and written through the audit writer
 * with its rate limit (fork, exec and cgroup-attach events are traced too: see ProcTable).
 * Events are read in binary from each CPU's trace_pipe_raw (src/caps/ringbuf.ts) and put back
 * in time order across CPUs per batch. Events the buffer could not hold are counted from the
 * per-CPU `overrun` and `dropped events` counters and written as `verdict: "lost"` records,
 * checked every second and at the end — never silently dropped. SIGINT/SIGTERM turn tracing off,
 * everything recorded is still read, and the instance is removed.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { AuditRecord } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import { capInfo } from '../caps/catalog.js';
import { type ContainerRef, containerIdFromCgroup } from '../caps/cgroup.js';
import { errnoName } from '../caps/errno.js';
import { findBinding } from '../policy/index.js';
import { ensureTracefs, hasEvent, type LossCounters, type RawPipeReader, TraceInstance } from '../sys/tracefs.js';
import { CapEvents, checkFilter } from './cap-source.js';
import { decodePages, type Formats, loadFormats } from './rawevents.js';

export interface FollowOptions {
  writer: AuditWriter;
  cap?: number;
  comm?: string;
  /** Only processes of this container (full id or a prefix of it). */
  container?: string;
  /** Bindings state directory, to name the profile bound to a container. */
  stateDir?: string;
  bufferKb?: number;
  /** Stop after this many milliseconds (default: until SIGINT/SIGTERM or stop()). */
  durationMs?: number;
  /** Called once the instance is recording (tests and benchmarks wait for it). */
  onReady?: (instance: string) => void;
}

export interface FollowStats {
  /** Refusals read from the buffer. */
  events: number;
  /** Of those, written (the rest were outside --container, or rate-limited: see suppressed). */
  written: number;
  suppressed: number;
  filteredOut: number;
  lost: number;
  loss: LossCounters;
  seconds: number;
  /** Wall-clock ms (Date.now()) when the first and the last refusal were handled. */
  firstEventAt?: number;
  lastEventAt?: number;
  instance: string;
}

interface ProcInfo {
  tgid?: number;
  comm?: string;
  exe?: string;
  euid?: number;
  /** null: known to be in no container. */
  container?: ContainerRef | null;
  /** The (hashed) credential the euid was read for. */
  cred?: string;
}

/** The kernel's filter expression for the options. */
export function followFilter(o: { cap?: number; comm?: string }): string {
  return checkFilter({ refusedOnly: true, cap: o.cap, comm: o.comm })!;
}

/**
 * What is known about each process, kept from the trace itself as far as it can be: a refused
 * check is often read after its process has exited (a container's ping is gone in
 * milliseconds), and /proc can no longer say anything then. So the follower also traces
 * `sched_process_fork` (a child inherits its parent's container and executable),
 * `sched_process_exec` (the new executable) and `cgroup_attach_task` (a move into a container's
 * cgroup, as runc does with its init). /proc is read only for a process first met in the trace
 * (it existed before the follow started, or its parent was unknown).
 */
class ProcTable {
  private readonly map = new Map<number, ProcInfo>();
  private readonly bindings = new Map<string, string | undefined>();
  constructor(private readonly stateDir?: string) {}

  private set(pid: number, info: ProcInfo): void {
    // Bounded: forgetting only costs a /proc read later (and, for a process already gone, the
    // enrichment of its records).
    if (this.map.size >= 65536) this.map.clear();
    this.map.set(pid, info);
  }

  /**
   * A new process: /proc while it is still there (a child created straight into another cgroup
   * with CLONE_INTO_CGROUP makes no attach event), else its parent's facts.
   */
  fork(parent: number, child: number, childComm: string): void {
    const own = this.read(child);
    const base = own.container !== undefined ? own : { ...this.get(parent), tgid: child, ...own };
    this.set(child, { ...base, comm: childComm });
  }

  exec(pid: number, oldPid: number, filename: string): void {
    const p = this.map.get(oldPid) ?? this.map.get(pid) ?? this.read(pid);
    if (oldPid !== pid) this.map.delete(oldPid);
    // The new comm is the file's base name, cut to TASK_COMM_LEN - 1 (__set_task_comm).
    const comm = filename.slice(filename.lastIndexOf('/') + 1).slice(0, 15);
    this.set(pid, { ...p, exe: filename, comm, tgid: pid });
  }

  attach(pid: number, path: string): void {
    const p = this.map.get(pid) ?? this.read(pid);
    this.set(pid, { ...p, container: containerIdFromCgroup(`0::${path}`) ?? null });
  }

  /**
   * The euid for a check made with credential `cred`: read again from /proc when the credential
   * changed since the last check (setuid makes a new one; a flood from one process reads once).
   * What was known before (read at fork or exec, or the parent's) belongs to another credential:
   * `capctl exec --user` is root until its setresuid. So when the process is gone before its
   * check is read, the euid is unknown and left out, never the earlier one.
   */
  euid(pid: number, info: ProcInfo, cred: string): number | undefined {
    if (info.cred === cred) return info.euid;
    info.cred = cred;
    info.euid = undefined;
    try {
      const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (uid) info.euid = Number(uid[1]);
    } catch {
      // gone: unknown
    }
    return info.euid;
  }

  get(pid: number): ProcInfo {
    const hit = this.map.get(pid);
    if (hit) return hit;
    const info = this.read(pid);
    this.set(pid, info);
    return info;
  }

  private read(pid: number): ProcInfo {
    const info: ProcInfo = {};
    try {
      info.exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      // gone already, or a kernel thread
    }
    try {
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(st);
      if (uid) info.euid = Number(uid[1]);
      const tgid = /^Tgid:\s+(\d+)/m.exec(st);
      if (tgid) info.tgid = Number(tgid[1]);
      const name = /^Name:\t(.*)$/m.exec(st);
      if (name) info.comm = name[1]!;
      info.container = containerIdFromCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')) ?? null;
    } catch {
      // gone already
    }
    return info;
  }

  profileOf(id: string): string | undefined {
    if (this.stateDir === undefined) return undefined;
    if (this.bindings.has(id)) return this.bindings.get(id);
    let name: string | undefined;
    try {
      name = (findBinding(this.stateDir, 'container', id) ?? findBinding(this.stateDir, 'container', id.slice(0, 12)))
        ?.profileName;
    } catch {
      name = undefined;
    }
    this.bindings.set(id, name);
    return name;
  }
}

export class Follower {
  private readonly inst: TraceInstance;
  private readonly capEvents: CapEvents;
  private readonly opts: FollowOptions;
  private reader: RawPipeReader | undefined;
  private stopped = false;
  private ready = false;
  private lostSoFar = 0;

  constructor(opts: FollowOptions) {
    const root = ensureTracefs();
    // The tracepoint, or kprobes on cap_capable: created before the instance, removed after it.
    this.capEvents = new CapEvents(root);
    this.opts = opts;
    try {
      this.inst = TraceInstance.create('capctl-follow');
    } catch (err) {
      this.capEvents.remove();
      throw err;
    }
  }

  get instance(): string {
    return this.inst.name;
  }

  /** Ask the follow to end: everything recorded up to now is still read and written. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Before run() is recording, run() stops the reader itself once it is.
    if (this.ready && this.reader) this.reader.stop();
  }

  private checkLoss(): LossCounters {
    const loss = this.inst.loss();
    // Probes the kernel missed (kprobe source only) are refusals not recorded either.
    loss.dropped += this.capEvents.missed();
    const total = loss.overrun + loss.dropped;
    if (total > this.lostSoFar) {
      this.opts.writer.note({
        host: 'linux',
        tracer: `tracefs ${this.inst.name}`,
        lost: total - this.lostSoFar,
        lostTotal: total,
        overrun: loss.overrun,
        dropped: loss.dropped,
        perCpu: loss.perCpu.filter((c) => c.overrun + c.dropped > 0),
        reason: 'the per-CPU trace buffer was full: these capability denials were not recorded',
      });
      this.lostSoFar = total;
    }
    return loss;
  }

  async run(): Promise<FollowStats> {
    const o = this.opts;
    const t0 = Date.now();
    const procs = new ProcTable(o.stateDir);
    let events = 0;
    let filteredOut = 0;
    let firstEventAt: number | undefined;
    let lastEventAt: number | undefined;
    const lossTimer = setInterval(() => this.checkLoss(), 1000);
    const durationTimer = o.durationMs !== undefined ? setTimeout(() => this.stop(), o.durationMs) : undefined;
    try {
      const inst = this.inst;
      inst.setTracing(false);
      inst.option('overwrite', false);
      inst.setBufferKb(o.bufferKb ?? 8192);
      this.capEvents.enable(inst, { refusedOnly: true, cap: o.cap, comm: o.comm });
      // Process lifecycle, so that records of processes gone before they are read still name
      // their executable and container (see ProcTable).
      inst.enableEvent('sched', 'sched_process_fork');
      inst.enableEvent('sched', 'sched_process_exec');
      if (hasEvent(ensureTracefs(), 'cgroup', 'cgroup_attach_task')) inst.enableEvent('cgroup', 'cgroup_attach_task');
      const formats: Formats = { ...loadFormats(inst, ['fork', 'exec', 'attach']), ...this.capEvents.formats(inst) };
      this.reader = inst.openRaw();
      const reading = this.reader.run((pages) => {
        const now = Date.now();
        const time = new Date(now).toISOString();
        for (const raw of decodePages(pages, formats)) {
          const e = this.capEvents.feed(raw);
          if (e === undefined) continue;
          if (e.kind === 'fork') procs.fork(e.parent, e.child, e.comm);
          else if (e.kind === 'exec') procs.exec(e.pid, e.oldPid, e.filename);
          else if (e.kind === 'attach') procs.attach(e.pid, e.path);
          else if (e.kind === 'cap') {
            events++;
            firstEventAt ??= now;
            lastEventAt = now;
            const p = procs.get(e.tid);
            const tgid = p.tgid ?? e.tid;
            if (o.container !== undefined && !p.container?.id.startsWith(o.container)) {
              filteredOut++;
              continue;
            }
            const cap = capInfo(e.cap)?.name ?? `CAP_${e.cap}`;
            const rec: Omit<AuditRecord, 'time' | 'seq'> & { time: string } = {
              time,
              verdict: 'denied',
              host: 'linux',
              // No syscall: the tracepoint does not say which call the check was made in, and
              // tracing raw_syscalls host-wide to find out would slow every process (docs/live.md).
              cap,
              capNumber: e.cap,
              errno: errnoName(-e.ret),
              stage: 'kernel',
              reason: `the kernel refused ${cap} (${this.capEvents.kind === 'tracepoint' ? 'capability:cap_capable' : 'kprobe on cap_capable'})${p.container ? ` in ${p.container.engine} container ${p.container.id.slice(0, 12)}` : ''}`,
              tid: e.tid,
              tgid,
              comm: p.comm ?? '',
            };
            const euid = procs.euid(e.tid, p, e.cred);
            if (euid !== undefined) rec.euid = euid;
            if (p.exe !== undefined) rec.exe = p.exe;
            // The container, as bindings name their targets: `container ID` (the full id).
            if (p.container) rec.subject = `container ${p.container.id}`;
            const profile = p.container ? procs.profileOf(p.container.id) : undefined;
            if (profile !== undefined) rec.profile = profile;
            o.writer.write(rec);
          }
        }
      });
      inst.setTracing(true);
      this.ready = true;
      if (this.stopped) this.reader.stop();
      o.onReady?.(inst.name);
      await reading;
      const loss = this.checkLoss();
      return {
        events,
        written: o.writer.written,
        suppressed: o.writer.suppressed,
        filteredOut,
        lost: loss.overrun + loss.dropped,
        loss,
        seconds: (Date.now() - t0) / 1000,
        ...(firstEventAt !== undefined ? { firstEventAt, lastEventAt } : {}),
        instance: inst.name,
      };
    } finally {
      clearInterval(lossTimer);
      if (durationTimer) clearTimeout(durationTimer);
      this.inst.remove();
      this.capEvents.remove();
    }
  }
}
