/**
 * `capctl audit follow`: every capability the kernel refuses on this host, as audit records.
 *
 * A private tracefs instance enables `capability:cap_capable` with an in-kernel filter
 * (`ret != 0`, plus `cap == N` and `comm == "NAME"` when asked), so refusals are the only events
 * that reach the buffer. Each one is enriched from /proc (executable, euid, the container from
 * the cgroup path, the profile bound to that container) and written through the audit writer
 * with its rate limit (`sched:sched_process_exec` is traced too, so a process that execs is
 * looked up again and not reported under its previous executable). Events the buffer could not hold are counted from the per-CPU `overrun`
 * and `dropped events` counters and written as `verdict: "lost"` records, checked every second
 * and at the end — never silently dropped. SIGINT/SIGTERM end the follow after draining what was
 * recorded, and the instance is removed.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { AuditRecord } from '../audit/record.js';
import type { AuditWriter } from '../audit/writer.js';
import { capInfo } from '../caps/catalog.js';
import { errnoName } from '../caps/errno.js';
import { parseCapCapable, parseTraceLine } from '../caps/trace-line.js';
import { findBinding } from '../policy/index.js';
import { ensureTracefs, type LossCounters, TraceInstance } from '../sys/tracefs.js';
import { type ContainerRef, containerFromCgroup } from './cgroup.js';
import { requireCapTracepoint } from './learn.js';

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
  instance: string;
}

interface ProcInfo {
  exe?: string;
  euid?: number;
  container?: ContainerRef;
  profile?: string;
  at: number;
}

/** The kernel's filter expression for the options. */
export function followFilter(o: { cap?: number; comm?: string }): string {
  const parts = ['ret != 0'];
  if (o.cap !== undefined) parts.push(`cap == ${o.cap}`);
  if (o.comm !== undefined) {
    if (!/^[^"\\\n]{1,15}$/.test(o.comm)) throw new Error(`--comm "${o.comm}" is not a task name (1-15 characters)`);
    parts.push(`comm == "${o.comm}"`);
  }
  return parts.join(' && ');
}

/** Facts about a process from /proc, cached for a second (a burst from one process reads it once). */
class ProcCache {
  private readonly map = new Map<number, ProcInfo>();
  private readonly bindings = new Map<string, string | undefined>();
  constructor(private readonly stateDir?: string) {}

  /** An exec seen in the trace: what was read about the pid before it is stale. */
  exec(pid: number): void {
    this.map.delete(pid);
  }

  get(tgid: number, now: number): ProcInfo {
    const hit = this.map.get(tgid);
    if (hit && now - hit.at < 1000) return hit;
    const info: ProcInfo = { at: now };
    try {
      info.exe = readlinkSync(`/proc/${tgid}/exe`);
    } catch {
      // gone already, or a kernel thread
    }
    try {
      const st = readFileSync(`/proc/${tgid}/status`, 'utf8');
      const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(st);
      if (uid) info.euid = Number(uid[1]);
      const c = containerFromCgroup(readFileSync(`/proc/${tgid}/cgroup`, 'utf8'));
      if (c) {
        info.container = c;
        const p = this.profileOf(c.id);
        if (p) info.profile = p;
      }
    } catch {
      // gone already
    }
    if (this.map.size > 4096) this.map.clear();
    this.map.set(tgid, info);
    return info;
  }

  private profileOf(id: string): string | undefined {
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
  private readonly opts: FollowOptions;
  private stopMarker: { marker?: string } = {};
  private reader: ReturnType<TraceInstance['openPipe']> | undefined;
  private stopped = false;
  private ready = false;
  private lostSoFar = 0;

  constructor(opts: FollowOptions) {
    const root = ensureTracefs();
    requireCapTracepoint(root);
    this.opts = opts;
    this.inst = TraceInstance.create('capctl-follow');
  }

  get instance(): string {
    return this.inst.name;
  }

  /** Ask the follow to end: everything recorded up to now is still read and written. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // Before run() is recording, run() writes the marker itself once it is.
    if (this.ready && this.reader) this.stopMarker.marker = this.reader.stopMarker();
  }

  private checkLoss(): LossCounters {
    const loss = this.inst.loss();
    const total = loss.overrun + loss.dropped;
    if (total > this.lostSoFar) {
      this.opts.writer.note({
        verdict: 'lost',
        host: 'linux',
        source: `tracefs ${this.inst.name}`,
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
    const procs = new ProcCache(o.stateDir);
    let events = 0;
    let filteredOut = 0;
    const lossTimer = setInterval(() => this.checkLoss(), 1000);
    const durationTimer = o.durationMs !== undefined ? setTimeout(() => this.stop(), o.durationMs) : undefined;
    try {
      const inst = this.inst;
      inst.setTracing(false);
      inst.option('record-tgid', true);
      inst.option('irq-info', false);
      inst.option('overwrite', false);
      inst.setBufferKb(o.bufferKb ?? 8192);
      inst.enableEvent('capability', 'cap_capable', followFilter(o));
      // Execs (rare) tell the enrichment cache when a pid became another program.
      inst.enableEvent('sched', 'sched_process_exec');
      this.reader = inst.openPipe();
      const reading = this.reader.run((lines) => {
        const now = Date.now();
        const time = new Date(now).toISOString();
        for (const text of lines) {
          const l = parseTraceLine(text);
          if (!l) continue;
          if (l.event === 'sched_process_exec') {
            const m = / pid=(\d+) old_pid=(\d+)$/.exec(l.payload);
            if (m) {
              procs.exec(Number(m[1]));
              procs.exec(Number(m[2]));
            }
            continue;
          }
          if (l.event !== 'cap_capable') continue;
          const c = parseCapCapable(l.payload);
          if (!c) continue;
          events++;
          const tgid = l.tgid >= 0 ? l.tgid : l.tid;
          const p = procs.get(tgid, now);
          if (o.container !== undefined && !p.container?.id.startsWith(o.container)) {
            filteredOut++;
            continue;
          }
          const cap = capInfo(c.cap)?.name ?? `CAP_${c.cap}`;
          const rec: Omit<AuditRecord, 'time'> & { time: string; exe?: string; container?: string; engine?: string } = {
            time,
            verdict: 'denied',
            host: 'linux',
            syscall: 'capable',
            cap,
            capNumber: c.cap,
            errno: errnoName(-c.ret),
            stage: 'kernel',
            reason: `the kernel refused ${cap} (capability:cap_capable)`,
            tid: l.tid,
            tgid,
            comm: l.comm,
          };
          if (p.euid !== undefined) rec.euid = p.euid;
          if (p.exe !== undefined) rec.exe = p.exe;
          if (p.container) {
            rec.container = p.container.id;
            rec.engine = p.container.engine;
            rec.subject = `container ${p.container.id.slice(0, 12)}`;
          }
          if (p.profile !== undefined) rec.profile = p.profile;
          o.writer.write(rec);
        }
      }, this.stopMarker);
      inst.setTracing(true);
      this.ready = true;
      if (this.stopped) this.stopMarker.marker = this.reader.stopMarker();
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
        instance: inst.name,
      };
    } finally {
      clearInterval(lossTimer);
      if (durationTimer) clearTimeout(durationTimer);
      this.inst.remove();
    }
  }
}
