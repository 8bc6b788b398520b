/**
 * tracefs: a private tracing instance (instances/NAME — never the global buffer, which other
 * tools share), its events, filters, pid list and options, its per-CPU loss counters, and a
 * reader of its per-CPU binary pipes (trace_pipe_raw). Files only, plus mount(2) when tracefs is not mounted yet.
 *
 * Every instance created here is removed on process exit (also after an uncaught error);
 * callers remove it earlier on SIGINT/SIGTERM. rmdir of an instance whose trace_pipe is still
 * open fails with EBUSY, so the reader is closed first.
 */
import {
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CapctlError } from '../caps/errors.js';
import { errnoNameOf, lastErrno, libcFunc, strerror } from './libc.js';

export const TRACEFS = '/sys/kernel/tracing';

const mountFn = libcFunc<(src: string, target: string, type: string, flags: number, data: null) => number>(
  'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)',
);

/** The tracefs mount point, mounting it when absent (needs CAP_SYS_ADMIN). */
export function ensureTracefs(root = TRACEFS): string {
  if (existsSync(join(root, 'instances'))) return root;
  if (mountFn('nodev', root, 'tracefs', 0, null) !== 0) {
    const e = lastErrno();
    throw new CapctlError(
      'no-tracefs',
      `tracefs is not mounted at ${root} and mounting it failed: ${errnoNameOf(e)} (${strerror(e)})`,
      'io',
    );
  }
  return root;
}

/** Does the kernel offer this trace event (e.g. capability/cap_capable, Linux 6.14+)? */
export function hasEvent(root: string, system: string, event: string): boolean {
  return existsSync(join(root, 'events', system, event, 'format'));
}

/** Does the kernel offer dynamic kprobe events (CONFIG_KPROBE_EVENTS)? */
export function hasKprobeEvents(root: string): boolean {
  return existsSync(join(root, 'kprobe_events'));
}

/** One line of kprobe_events: a probe (`p`) or return probe (`r`) on a kernel symbol. */
export interface KprobeDef {
  kind: 'p' | 'r';
  event: string;
  symbol: string;
  /** Fetch arguments, e.g. `cap=%dx:s32 ret=$retval:s32` (Documentation/trace/kprobetrace.rst). */
  args: string;
}

/** The kprobe_events line that defines `d` in `group`. */
export function kprobeLine(group: string, d: KprobeDef): string {
  return `${d.kind}:${group}/${d.event} ${d.symbol} ${d.args}`;
}

/**
 * Dynamic kprobe events of our own group. kprobe_events is global, not per instance (the
 * events then appear under events/GROUP/ in every instance, enabled only where asked), so the
 * group name is unique (prefix, pid, random) and the file is only ever appended to: writing it
 * without O_APPEND would delete every other tool's probes. Removed on process exit, after the
 * instances that use them.
 */
export class KprobeEvents {
  readonly group: string;
  private readonly root: string;
  private readonly events: string[] = [];
  private removed = false;

  private constructor(root: string, group: string) {
    this.root = root;
    this.group = group;
  }

  static create(prefix: string, defs: readonly KprobeDef[], root = ensureTracefs()): KprobeEvents {
    const group = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(group))
      throw new CapctlError('tracefs', `bad kprobe group "${group}"`, 'input');
    const k = new KprobeEvents(root, group);
    liveProbes.add(k);
    try {
      for (const d of defs) {
        k.append(kprobeLine(group, d));
        k.events.push(d.event);
      }
    } catch (err) {
      k.remove();
      throw err;
    }
    return k;
  }

  private append(line: string): void {
    try {
      writeFileSync(join(this.root, 'kprobe_events'), `${line}\n`, { flag: 'a' });
    } catch (err) {
      throw new CapctlError(
        'tracefs',
        `cannot add kprobe event "${line}": ${(err as Error).message}${lastErrorLog(this.root)}`,
        'io',
      );
    }
  }

  /**
   * Probes the kernel could not run (kprobe_profile's nmissed, per event): a return probe
   * misses when more calls are in flight than its instances (maxactive), an entry probe when
   * it would recurse. Counted as lost events.
   */
  missed(): number {
    let text: string;
    try {
      text = readFileSync(join(this.root, 'kprobe_profile'), 'utf8');
    } catch {
      return 0;
    }
    let n = 0;
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 3 && this.events.some((e) => f[0] === `${this.group}/${e}` || f[0] === e)) n += Number(f[2]) || 0;
    }
    return n;
  }

  /** Delete the events (idempotent; callers remove the instances using them first). */
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    liveProbes.delete(this);
    for (const e of this.events) {
      try {
        writeFileSync(join(this.root, 'kprobe_events'), `-:${this.group}/${e}\n`, { flag: 'a' });
      } catch {
        // already gone, or still enabled somewhere we do not own: nothing more to do here
      }
    }
  }
}

/** The kernel's last complaint about a tracefs write (error_log), for the error message. */
function lastErrorLog(root: string): string {
  try {
    const text = readFileSync(join(root, 'error_log'), 'utf8').trim();
    return text ? ` (${text.split('\n').slice(-2).join(' ')})` : '';
  } catch {
    return '';
  }
}

/** Per-CPU loss counters of an instance: events overwritten (overrun) or refused (dropped). */
export interface LossCounters {
  overrun: number;
  dropped: number;
  perCpu: { cpu: number; overrun: number; dropped: number }[];
}

const live = new Set<TraceInstance>();
const liveProbes = new Set<KprobeEvents>();
process.on('exit', () => {
  // Instances first: a kprobe event still enabled in one cannot be deleted (EBUSY).
  for (const i of live) i.remove();
  for (const k of liveProbes) k.remove();
});

/** Removals left to finish in the background (settleLater), and the first of their errors. */
const pendingRemovals = new Set<Promise<void>>();
let removalError: unknown;

/**
 * Let `task` (an instance's removeAsync, and what must follow it) finish in the background;
 * removalsSettled() waits for every such task and rethrows the first failure. Node keeps the
 * process alive while the rmdir runs in its thread pool, and the exit hook removes whatever is
 * still listed, so a caller that never waits still leaves nothing behind.
 */
export function settleLater(task: Promise<void>): void {
  const p: Promise<void> = task
    .catch((err: unknown) => {
      removalError ??= err;
    })
    .finally(() => pendingRemovals.delete(p));
  pendingRemovals.add(p);
}

/** Wait for the removals settleLater() took; the first that failed is thrown here. */
export async function removalsSettled(): Promise<void> {
  while (pendingRemovals.size > 0) await Promise.all([...pendingRemovals]);
  const err = removalError;
  removalError = undefined;
  if (err !== undefined) throw err;
}

export class TraceInstance {
  readonly name: string;
  readonly dir: string;
  private removed = false;
  private readers = new Set<{ closeNow(): void }>();

  private constructor(root: string, name: string) {
    this.name = name;
    this.dir = join(root, 'instances', name);
  }

  /** mkdir instances/NAME (NAME: prefix, our pid and a random suffix, so never shared). */
  static create(prefix: string, root = ensureTracefs()): TraceInstance {
    const name = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const inst = new TraceInstance(root, name);
    try {
      // The kernel fills the new directory with the instance's files.
      mkdirSync(inst.dir);
    } catch (err) {
      throw new CapctlError('tracefs', `cannot create tracing instance ${inst.dir}: ${(err as Error).message}`, 'io');
    }
    live.add(inst);
    return inst;
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  write(rel: string, text: string): void {
    try {
      writeFileSync(this.path(rel), text);
    } catch (err) {
      let detail = '';
      try {
        detail = readFileSync(join(this.dir, '..', '..', 'error_log'), 'utf8')
          .trim()
          .split('\n')
          .slice(-2)
          .join(' ');
      } catch {
        // no error_log: keep the errno only
      }
      throw new CapctlError(
        'tracefs',
        `cannot write "${text.trim()}" to ${this.path(rel)}: ${(err as Error).message}${detail ? ` (${detail})` : ''}`,
        'io',
      );
    }
  }

  read(rel: string): string {
    return readFileSync(this.path(rel), 'utf8');
  }

  /** Enable system/event, with an in-kernel filter when given (e.g. "ret != 0 && cap == 13"). */
  enableEvent(system: string, event: string, filter?: string): void {
    if (filter !== undefined) this.write(`events/${system}/${event}/filter`, `${filter}\n`);
    this.write(`events/${system}/${event}/enable`, '1\n');
  }

  option(name: string, on: boolean): void {
    this.write(`options/${name}`, on ? '1\n' : '0\n');
  }

  setTracing(on: boolean): void {
    this.write('tracing_on', on ? '1\n' : '0\n');
  }

  /** set_event_pid: only these pids (and, with option event-fork, their children) are traced. */
  setEventPids(pids: readonly number[]): void {
    this.write('set_event_pid', `${pids.join(' ')}\n`);
  }

  /** Per-CPU buffer size in KiB. */
  setBufferKb(kb: number): void {
    this.write('buffer_size_kb', `${kb}\n`);
  }

  loss(): LossCounters {
    const out: LossCounters = { overrun: 0, dropped: 0, perCpu: [] };
    let cpus: string[];
    try {
      cpus = readdirSync(this.path('per_cpu')).filter((d) => /^cpu\d+$/.test(d));
    } catch {
      return out;
    }
    for (const d of cpus) {
      let text: string;
      try {
        text = this.read(`per_cpu/${d}/stats`);
      } catch {
        continue;
      }
      const num = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      const c = { cpu: Number(d.slice(3)), overrun: num('overrun'), dropped: num('dropped events') };
      out.perCpu.push(c);
      out.overrun += c.overrun;
      out.dropped += c.dropped;
    }
    return out;
  }

  openRaw(): RawPipeReader {
    const r = new RawPipeReader(this);
    this.readers.add(r);
    return r;
  }

  /** @internal */
  forget(r: { closeNow(): void }): void {
    this.readers.delete(r);
  }

  /** Close the readers and stop recording: the first half of removal, synchronous in both forms. */
  private quiesce(): void {
    for (const r of this.readers) r.closeNow();
    try {
      writeFileSync(this.path('tracing_on'), '0\n');
    } catch {
      // already gone
    }
  }

  /**
   * remove(), with the rmdir in Node's thread pool: the kernel takes 30-60 ms to tear an
   * instance down (RCU grace periods), time the caller can spend printing its result. Recording
   * stops before this returns; the promise settles when the directory is gone. If the process
   * exits first, the exit hook's remove() finishes the job.
   */
  async removeAsync(): Promise<void> {
    if (this.removed) return;
    this.quiesce();
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(this.dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 50) {
          throw new CapctlError(
            'tracefs',
            `cannot remove tracing instance ${this.dir}: ${(err as Error).message}`,
            'io',
          );
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.removed = true;
    live.delete(this);
  }

  /** Turn tracing off and rmdir the instance (idempotent; retries while a reader lets go). */
  remove(): void {
    if (this.removed) return;
    this.quiesce();
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(this.dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || attempt >= 50) throw err;
        const until = Date.now() + 20;
        while (Date.now() < until) {
          // EBUSY: a read still holds trace_pipe for a moment; wait briefly and retry.
        }
      }
    }
    this.removed = true;
    live.delete(this);
  }
}

/**
 * Reads every CPU's `trace_pipe_raw` (binary ring-buffer pages, parsed by src/caps/ringbuf.ts),
 * without blocking: each CPU is drained until EAGAIN, then all are polled again after a short
 * pause. Binary pages cost the kernel no formatting, which is what limits trace_pipe under a
 * flood. stop() turns tracing off and run() ends once every buffer is empty, so everything
 * recorded before stop() is delivered.
 */
export class RawPipeReader {
  private readonly fds: { cpu: number; fd: number }[] = [];
  private readonly inst: TraceInstance;
  readonly pageSize: number;
  private stopping = false;
  private closed = false;
  /**
   * Page buffers reused from one drain to the next: a fresh 4 KiB Buffer per page is not
   * pooled by Node and made the garbage collector the reader's biggest cost under a flood.
   */
  private readonly pool: Buffer[] = [];

  constructor(inst: TraceInstance) {
    this.inst = inst;
    let kb = 4;
    try {
      kb = Number(inst.read('buffer_subbuf_size_kb').trim()) || 4;
    } catch {
      // older kernels: one page
    }
    this.pageSize = kb * 1024;
    const cpus = readdirSync(inst.path('per_cpu'))
      .filter((d) => /^cpu\d+$/.test(d))
      .map((d) => Number(d.slice(3)))
      .sort((a, b) => a - b);
    for (const cpu of cpus) {
      this.fds.push({
        cpu,
        fd: openSync(inst.path(`per_cpu/cpu${cpu}/trace_pipe_raw`), constants.O_RDONLY | constants.O_NONBLOCK),
      });
    }
  }

  /** Every page there is now, per CPU, in reading order (valid until the next drain). */
  private drain(): { cpu: number; page: Buffer }[] {
    const out: { cpu: number; page: Buffer }[] = [];
    for (const { cpu, fd } of this.fds) {
      for (let k = 0; k < 4096; k++) {
        let page = this.pool[out.length];
        if (page === undefined) {
          page = Buffer.allocUnsafe(this.pageSize);
          this.pool.push(page);
        }
        let n: number;
        try {
          n = readSync(fd, page, 0, this.pageSize, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EINTR') break;
          throw err;
        }
        if (n <= 0) break;
        out.push({ cpu, page: n === this.pageSize ? page : page.subarray(0, n) });
      }
    }
    return out;
  }

  /**
   * Deliver pages until stop() and the buffers are empty. The pages passed to `onPages` are
   * reused afterwards: decode them before returning, keep none.
   */
  async run(
    onPages: (pages: { cpu: number; page: Buffer }[]) => void,
    opts: { idleMs?: number; paced?: boolean } = {},
  ): Promise<void> {
    const idleMs = opts.idleMs ?? 5;
    try {
      while (!this.closed) {
        const stopping = this.stopping;
        const pages = this.drain();
        if (pages.length > 0) onPages(pages);
        if (stopping && pages.length === 0) break;
        // Paced (a buffer large enough to wait in): drain again at once only after a full batch,
        // else let the writers fill pages first; a reader that comes back for every half-written
        // page costs the traced program on the other CPU (learn: 1.32 -> 1.27 s on a chown -R of
        // 150,000 files). Eager (follow's flood): come back at once while there is data.
        const again = opts.paced === true ? pages.length >= 4096 : pages.length > 0;
        if (again) await new Promise((r) => setImmediate(r));
        else await new Promise((r) => setTimeout(r, idleMs));
      }
    } finally {
      this.closeNow();
    }
  }

  /** Stop recording; run() returns after delivering what was recorded. */
  stop(): void {
    if (this.stopping) return;
    this.inst.setTracing(false);
    this.stopping = true;
  }

  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { fd } of this.fds) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
    this.inst.forget(this);
  }
}
