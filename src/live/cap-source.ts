/**
 * Where capability checks come from: the `capability:cap_capable` tracepoint (Linux 6.14+), or,
 * on older kernels that offer dynamic kprobe events (CONFIG_KPROBE_EVENTS), a probe and a return
 * probe on the function itself, whose pair per thread makes the same check event. One choice
 * for `learn` and `audit follow`.
 *
 * cap_capable(const struct cred *cred, struct user_namespace *targ_ns, int cap, unsigned int
 * opts) has had this signature since Linux 5.1 (security/commoncap.c); on x86-64 its arguments
 * are in rdi, rsi, rdx, rcx (the SysV calling convention), its result in rax ($retval). The
 * entry event carries cred, cap and opts; the return event the result. A thread runs one
 * cap_capable at a time (it neither sleeps nor nests), so a return belongs to the entry its
 * thread made last.
 */
import { CapctlError } from '../caps/errors.js';
import { parseEventFormat } from '../caps/ringbuf.js';
import { hasEvent, hasKprobeEvents, type KprobeDef, KprobeEvents, type TraceInstance } from '../sys/tracefs.js';
import type { Ev, Formats } from './rawevents.js';

/** The release that added the tracepoint (commit "capabilities: add cap_capable tracepoint"). */
export const CAP_TRACEPOINT_SINCE = '6.14';

export type CapSourceKind = 'tracepoint' | 'kprobe';

/** x86-64 only: the registers are the SysV ABI's; other architectures name them differently. */
export const KPROBE_DEFS: readonly KprobeDef[] = [
  { kind: 'p', event: 'cap_entry', symbol: 'cap_capable', args: 'cred=%di:x64 cap=%dx:s32 opts=%cx:u32' },
  { kind: 'r', event: 'cap_ret', symbol: 'cap_capable', args: 'ret=$retval:s32' },
];

/**
 * The tracepoint when the kernel has it, else kprobes when it offers them, else an error naming
 * the version the tracepoint appeared in. `arch` and `force` are for tests.
 */
export function chooseCapSource(
  root: string,
  arch: string = process.arch,
  force: string | undefined = process.env.CAPCTL_CAP_SOURCE,
): CapSourceKind {
  // CAPCTL_CAP_SOURCE=kprobe takes the fallback on a kernel that has both (to test it there).
  if (force !== undefined && force !== 'kprobe' && force !== 'tracepoint') {
    throw new CapctlError('bad-input', `CAPCTL_CAP_SOURCE must be kprobe or tracepoint, not "${force}"`, 'input');
  }
  if (force !== 'kprobe' && hasEvent(root, 'capability', 'cap_capable')) return 'tracepoint';
  const why =
    force === 'kprobe'
      ? 'CAPCTL_CAP_SOURCE=kprobe'
      : `this kernel has no capability:cap_capable tracepoint (it appeared in Linux ${CAP_TRACEPOINT_SINCE})`;
  if (!hasKprobeEvents(root)) {
    throw new CapctlError(
      'no-tracepoint',
      `${why}, and it offers no kprobe_events to probe cap_capable instead (CONFIG_KPROBE_EVENTS)`,
      'io',
    );
  }
  if (arch !== 'x64') {
    throw new CapctlError(
      'no-tracepoint',
      `${why}, and the kprobe fallback reads x86-64 argument registers: this is ${arch}`,
      'io',
    );
  }
  return 'kprobe';
}

/** Which checks to keep: refused ones only (`ret != 0`), one capability, one task name. */
export interface CheckFilter {
  refusedOnly?: boolean;
  cap?: number | undefined;
  comm?: string | undefined;
}

/** The in-kernel filter text for `f` (undefined: none); a bad task name throws. */
export function checkFilter(f: CheckFilter): string | undefined {
  const parts: string[] = [];
  if (f.refusedOnly) parts.push('ret != 0');
  if (f.cap !== undefined) parts.push(`cap == ${f.cap}`);
  if (f.comm !== undefined) {
    if (!/^[^"\\\n]{1,15}$/.test(f.comm)) throw new Error(`--comm "${f.comm}" is not a task name (1-15 characters)`);
    parts.push(`comm == "${f.comm}"`);
  }
  return parts.length > 0 ? parts.join(' && ') : undefined;
}

/**
 * The check events of an instance: `enable(filters)` turns them on, `formats` decodes them and
 * `feed` turns the decoded events into 'cap' events (a kprobe pair into one; the tracepoint's
 * as they are). `remove()` after the instance is removed.
 */
export class CapEvents {
  readonly kind: CapSourceKind;
  private readonly probes: KprobeEvents | undefined;
  /** Per thread, the entry its last cap_capable made (kprobe source). */
  private readonly entries = new Map<number, { ts: number; cred: string; cap: number; opts: number }>();
  private fed = 0;
  /** The kprobe source cannot filter on the capability in the kernel (see enable): done here. */
  private capFilter: number | undefined;

  constructor(root: string, kind: CapSourceKind = chooseCapSource(root)) {
    this.kind = kind;
    this.probes = kind === 'kprobe' ? KprobeEvents.create('capctl', KPROBE_DEFS, root) : undefined;
  }

  /**
   * Enable in `inst`, filtered in the kernel (checkFilter). With kprobes, `ret` is only on
   * the return event, so the entry is not filtered on the result; nor on `cap`: an entry
   * filtered out would leave its thread's previous entry to be paired with the next return,
   * naming the wrong capability, so `cap` is filtered here, in feed().
   */
  enable(inst: TraceInstance, f: CheckFilter = {}): void {
    if (this.kind === 'tracepoint') {
      inst.enableEvent('capability', 'cap_capable', checkFilter(f));
      return;
    }
    this.capFilter = f.cap;
    const group = this.probes!.group;
    inst.enableEvent(group, 'cap_entry', checkFilter({ comm: f.comm }));
    inst.enableEvent(group, 'cap_ret', checkFilter({ refusedOnly: f.refusedOnly, comm: f.comm }));
  }

  /** Formats of the check events, to merge into the others' (src/live/rawevents.ts). */
  formats(inst: TraceInstance): Formats {
    if (this.kind === 'tracepoint') {
      return { cap: parseEventFormat(inst.read('events/capability/cap_capable/format')) };
    }
    const group = this.probes!.group;
    return {
      kentry: parseEventFormat(inst.read(`events/${group}/cap_entry/format`)),
      kret: parseEventFormat(inst.read(`events/${group}/cap_ret/format`)),
    };
  }

  /**
   * One decoded event in, the event to act on out (undefined: nothing yet). A kprobe entry is
   * kept for its thread; the return makes the 'cap' event. capable_ns is not known to a probe
   * on cap_capable's entry, so capableNsNull is false there (nothing decides on it).
   */
  feed(e: Ev): Ev | undefined {
    if (e.kind === 'kentry') {
      this.entries.set(e.tid, { ts: e.ts, cred: e.cred, cap: e.cap, opts: e.opts });
      // An entry whose return was filtered out (granted, with refusedOnly) stays until its
      // thread's next one; threads that exit would leave theirs forever. A cap_capable call
      // takes microseconds: entries older than ten seconds (ring-buffer clock, ns) are stale.
      if (++this.fed % 65_536 === 0) {
        for (const [tid, x] of this.entries) if (e.ts - x.ts > 10e9) this.entries.delete(tid);
      }
      return undefined;
    }
    if (e.kind === 'kret') {
      const entry = this.entries.get(e.tid);
      if (entry === undefined) return undefined;
      this.entries.delete(e.tid);
      if (this.capFilter !== undefined && entry.cap !== this.capFilter) return undefined;
      return { ts: e.ts, kind: 'cap', tid: e.tid, cred: entry.cred, cap: entry.cap, ret: e.ret, capableNsNull: false };
    }
    return e;
  }

  /** Probes the kernel missed (kprobe source; counted with the buffers' lost events). */
  missed(): number {
    return this.probes?.missed() ?? 0;
  }

  remove(): void {
    this.probes?.remove();
  }
}
