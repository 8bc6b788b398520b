/**
 * The one place a call is applied to the runtime, whichever front end decoded it (the strace
 * replay or the live seccomp supervisor). `dispatch(session, pid, call, observed)` maps the
 * front end's pid to a runtime task, applies the call, and says what the model predicts:
 *
 *  - `result`: the model's answer. `decides` lists the errnos the model's own checks can
 *    produce (null: every errno, compare exactly); a kernel failure with another errno comes
 *    from a check outside the capability model (ENOENT, EEXIST, …).
 *  - `applied`: a call that only feeds the model (clone, getxattr of security.capability, a
 *    getpid whose answer the front end is still learning); counts as matched.
 *  - `ignored`: bookkeeping only, not counted (exits, waits, opens).
 *  - `not-modelled`: the model cannot decide this call, with the reason.
 *
 * What a call refers to beyond credentials — the front end's pid numbering, which tasks live
 * in another pid namespace, sockets by descriptor, chroots, file capabilities the trace showed
 * or the recording holds, tasks whose credential the model lost — is kept by the session.
 */
import type { FileCaps } from '../caps/xattr.js';
import type { NotModelled, Observed, RuntimeCall } from './call.js';
import {
  EACCES,
  EAFNOSUPPORT,
  EFAULT,
  EINVAL,
  ENOSPC,
  EPERM,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  ESRCH,
} from './errno.js';
import { BAD_ADDRESS, type CapUserHeader, type SyscallResult } from './result.js';
import type { Runtime } from './runtime.js';
import { CLONE_NEWPID, CLONE_NEWUSER, CLONE_THREAD } from './strace/constants.js';

export type Dispatched =
  | { readonly kind: 'result'; readonly result: SyscallResult; readonly decides: readonly number[] | null }
  | { readonly kind: 'applied' }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'not-modelled'; readonly reason: string };

export const APPLIED: Dispatched = Object.freeze({ kind: 'applied' });
export const IGNORED: Dispatched = Object.freeze({ kind: 'ignored' });

export function notModelledResult(reason: string): Dispatched {
  return { kind: 'not-modelled', reason };
}

function exact(result: SyscallResult): Dispatched {
  return { kind: 'result', result, decides: null };
}

function privileged(result: SyscallResult, decides: readonly number[]): Dispatched {
  if (result.unmodelled) return notModelledResult('outside the runtime model');
  return { kind: 'result', result, decides };
}

/** Runtime tids for front-end processes whose real pid is not known yet (above any pid_max). */
export const PLACEHOLDER_TID = 0x3ff00000;
/** A tid no task has: stands for a pid that left the trace. */
export const GONE_TID = 0x3ffffff0;

/** Reaped pids remembered for ESRCH predictions (older ones become "outside the trace"). */
const MAX_GONE = 1 << 16;
/** Only the last few getxattr answers are kept: an exec follows its getxattr closely. */
const MAX_FILECAPS = 256;

const PIDNS = 'pid in another pid namespace';
const UNKNOWN_TARGET = 'target task credential unknown';

const DECIDES_UNSHARE = [EPERM, EINVAL, ENOSPC];
const DECIDES_SOCKET = [EPERM, EACCES, EINVAL, EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT];
const DECIDES_BIND = [EACCES];
const DECIDES_MKNOD = [EPERM, EINVAL];
const DECIDES_CHROOT = [EPERM];
const DECIDES_KILL = [EPERM, ESRCH, EINVAL];
const DECIDES_HOSTNAME = [EPERM, EINVAL, EFAULT];

/** Calls about bookkeeping that do not depend on the caller's credential. */
const CRED_FREE: ReadonlySet<RuntimeCall['sys']> = new Set(['idmap-open', 'wait', 'getxattr-caps', 'exit']);
/** Calls by a task outside the front end's view that are still not worth counting. */
const FEED_ONLY: ReadonlySet<RuntimeCall['sys']> = new Set([
  'clone',
  'getpid',
  'gettid',
  'getxattr-caps',
  'exit',
  'wait',
  'idmap-open',
]);

export interface SessionOptions {
  /** File capabilities by path, used when the front end has not seen the file's xattr itself. */
  fileCaps?: ReadonlyMap<string, FileCaps>;
}

/**
 * The runtime plus the front end's view of it. Pids are the front end's: a trace's pids
 * (where the first process's pid may be learnt late: pid 0 until then), or live pids.
 */
export class RuntimeSession {
  readonly rt: Runtime;
  /** front-end pid -> runtime tid */
  private readonly tids = new Map<number, number>();
  /** pids that existed and were reaped: capget on them is ESRCH. */
  private readonly gone = new Set<number>();
  /** runtime tids whose credential the model no longer knows (e.g. after a new user ns). */
  private readonly unknownCred = new Set<number>();
  private readonly xattrCaps = new Map<string, FileCaps | null>();
  private readonly fileCaps: ReadonlyMap<string, FileCaps> | undefined;
  /** socket() results per process (runtime tgid -> fd -> family/type), for bind(). */
  private readonly sockets = new Map<number, Map<number, { family: number; type: number }>>();
  private readonly chrooted = new Set<number>();
  /** Tasks living in a pid namespace other than the front end's: their pid arguments and getpid() differ. */
  readonly otherPidNs = new Set<number>();
  /** Processes that unshare(CLONE_NEWPID)'d: their future children are in a new pid namespace. */
  readonly childPidNs = new Set<number>();

  constructor(rt: Runtime, opts: SessionOptions = {}) {
    this.rt = rt;
    this.fileCaps = opts.fileCaps;
  }

  /** Give a front-end pid to a runtime task (the starting process). */
  bind(pid: number, tid: number): void {
    this.tids.set(pid, tid);
  }

  /** The runtime tid of a front-end pid, if the task is known. */
  taskOf(pid: number): number | undefined {
    return this.tids.get(pid);
  }

  /**
   * A pid still bound to a task that has exited makes a call: the kernel reused the pid for a
   * task whose creation the front end did not see. The pid is unbound (so the call is "task not
   * created") and true returned; false if the pid's task is live or unknown.
   */
  unbindIfExited(pid: number): boolean {
    const tid = this.tids.get(pid);
    if (tid === undefined || this.rt.findThread(tid)?.exited === false) return false;
    this.tids.delete(pid);
    this.forgetTid(tid);
    return true;
  }

  /** Whether any task of the session is still running (not exited, zombies excluded). */
  anyLive(): boolean {
    return this.rt.tids().some((t) => this.rt.findThread(t)?.exited === false);
  }

  // ------------------------------------------------------------------ pid events

  /** The first process's pid became known (it was pid 0 until then). */
  firstPid(pid: number): void {
    const t = this.tids.get(0);
    if (t !== undefined) {
      this.tids.delete(0);
      if (!this.tids.has(pid)) this.tids.set(pid, t);
    }
  }

  /** The child shown as `pid` is the one its parent's clone returned as `as` (another pid namespace). */
  alias(pid: number, as: number): void {
    const t = this.tids.get(as);
    if (t !== undefined) {
      this.tids.delete(as);
      this.tids.set(pid, t);
      this.otherPidNs.add(t);
    }
  }

  /** Thread oldPid exec'd; the kernel gave it the leader's pid (de_thread()). */
  superseded(pid: number, oldPid: number): void {
    const tid = this.tids.get(oldPid);
    if (tid === undefined) return;
    this.tids.delete(oldPid);
    this.tids.set(pid, tid);
  }

  /**
   * A header pid from the first process while its own pid is still unknown (strace on stderr
   * prints no pid for a lone process): libcap and libcap-ng pass getpid() there, so an unknown
   * pid names the caller itself. Later lines keep arriving as pid 0 until the reader learns it.
   */
  claimFirstPid(tid: number, pid: number): void {
    if (pid > 0 && this.tids.get(0) === tid && !this.tids.has(pid) && !this.gone.has(pid)) this.tids.set(pid, tid);
  }

  /** Front-end pid -> runtime tid for a pid argument; GONE_TID for a reaped pid; undefined if unknown. */
  tidOf(pid: number): number | undefined {
    const t = this.tids.get(pid);
    if (t !== undefined) return t;
    if (this.gone.has(pid)) return GONE_TID;
    return undefined;
  }

  /** The front-end pid of a runtime tid (a short scan: the map holds live tasks only). */
  pidOf(tid: number): number | undefined {
    for (const [pid, t] of this.tids) if (t === tid) return pid;
    return undefined;
  }

  tgidPidOf(tid: number): number | undefined {
    const th = this.rt.findThread(tid);
    return th ? this.pidOf(th.tgid) : undefined;
  }

  created(parentTid: number, childPid: number, flags: number): void {
    // A stale entry for a recycled pid (its process was never seen reaped).
    const stale = this.tids.get(childPid);
    if (stale !== undefined) this.tids.delete(childPid);
    this.gone.delete(childPid);
    let childTid = childPid;
    if (this.rt.findThread(childTid) !== undefined || this.rt.process(childTid) !== undefined) {
      this.rt.reap(this.rt.findThread(childTid)?.tgid ?? childTid);
    }
    const child = this.rt.clone(parentTid, flags, childTid);
    childTid = child.tid;
    // A child in another pid namespace sees other pids than the front end shows.
    const parent = this.rt.findThread(parentTid);
    if (flags & CLONE_NEWPID || this.otherPidNs.has(parentTid) || (parent && this.childPidNs.has(parent.tgid)))
      this.otherPidNs.add(childTid);
    if (!(flags & CLONE_THREAD) && parent && this.childPidNs.has(parent.tgid)) this.childPidNs.add(child.tgid);
    if (!(flags & CLONE_THREAD) && this.isChrooted(parentTid)) this.chrooted.add(child.tgid);
    this.tids.set(childPid, childTid);
    if (flags & CLONE_NEWUSER) this.unknownCred.add(childTid);
  }

  /** A thread's exit: a non-leader thread's pid is forgotten at once, a leader's when reaped. */
  exited(pid: number): void {
    const tid = this.tids.get(pid);
    if (tid === undefined) return;
    const th = this.rt.findThread(tid);
    if (th && !th.exited) this.rt.exit(tid);
    if (!th || th.tid !== th.tgid) {
      this.tids.delete(pid);
      this.forgetTid(tid);
    }
  }

  reaped(pid: number): void {
    const tid = this.tids.get(pid);
    if (tid === undefined) return;
    let p = this.rt.process(tid);
    if (p === undefined) return;
    if (!p.zombie) {
      // wait returned it, so it has exited: the exit line is missing (strace -qq suppresses
      // them) or not yet printed (stderr interleaving).
      const leader = [...p.threads][0];
      if (leader === undefined) return;
      this.rt.exitGroup(leader.tid);
      p = this.rt.process(tid);
      if (p === undefined || !p.zombie) return;
    }
    for (const th of p.threads) this.forgetTid(th.tid);
    this.rt.reap(tid);
    this.sockets.delete(tid);
    this.chrooted.delete(tid);
    this.childPidNs.delete(tid);
    for (const [k, v] of this.tids) if (v === tid) this.tids.delete(k);
    // Bounded: a trace of millions of short processes keeps the most recent ones.
    if (this.gone.size >= MAX_GONE) {
      const oldest = this.gone.values().next().value;
      if (oldest !== undefined) this.gone.delete(oldest);
    }
    this.gone.add(pid);
  }

  /** Per-task flags die with the task (memory follows the live tasks, not the trace). */
  private forgetTid(tid: number): void {
    this.unknownCred.delete(tid);
    this.otherPidNs.delete(tid);
  }

  /** After exec by a non-leader thread: the pid now names the thread's new runtime tid. */
  retarget(pid: number, oldTid: number, newTid: number): void {
    for (const [k, v] of this.tids) if (v === oldTid || v === newTid) this.tids.delete(k);
    this.tids.set(pid, newTid);
  }

  /** Forget pids whose runtime thread is gone (the other threads at exec). */
  dropDeadThreads(): void {
    for (const [k, v] of this.tids) if (this.rt.findThread(v) === undefined) this.tids.delete(k);
  }

  // ------------------------------------------------------------------ per-process facts

  rememberSocket(tid: number, fd: number, family: number, type: number): void {
    const tgid = this.rt.findThread(tid)?.tgid ?? tid;
    let m = this.sockets.get(tgid);
    if (m === undefined) this.sockets.set(tgid, (m = new Map()));
    m.set(fd, { family, type });
  }

  socketOf(tid: number, fd: number): { family: number; type: number } | undefined {
    const tgid = this.rt.findThread(tid)?.tgid ?? tid;
    return this.sockets.get(tgid)?.get(fd);
  }

  markChrooted(tid: number): void {
    this.chrooted.add(this.rt.findThread(tid)?.tgid ?? tid);
  }

  isChrooted(tid: number): boolean {
    return this.chrooted.has(this.rt.findThread(tid)?.tgid ?? tid);
  }

  /** Every task whose credential lives in a child user namespace becomes unknown (uid maps are not followed). */
  forgetUserNamespaces(): void {
    for (const t of this.rt.tids()) {
      const th = this.rt.findThread(t);
      if (th && th.cred.userns.level !== 0) this.unknownCred.add(t);
    }
  }

  markUnknown(tid: number): void {
    this.unknownCred.add(tid);
  }

  /** Whether the model no longer knows this task's credential (so calls about it are not judged). */
  credUnknown(tid: number): boolean {
    return this.unknownCred.has(tid);
  }

  rememberFileCaps(path: string, caps: FileCaps | null): void {
    if (this.xattrCaps.size >= MAX_FILECAPS && !this.xattrCaps.has(path)) {
      const first = this.xattrCaps.keys().next().value;
      if (first !== undefined) this.xattrCaps.delete(first);
    }
    this.xattrCaps.set(path, caps);
  }

  /** File caps of an executed path: the front end's own getxattr answer, else the session's facts, else none. */
  fileCapsFor(path: string): FileCaps | undefined {
    const seen = this.xattrCaps.get(path);
    if (seen !== undefined) return seen ?? undefined;
    return this.fileCaps?.get(path);
  }
}

// ==================================================================== dispatch

/**
 * Apply `call`, made by the task the front end calls `pid`, to the session's runtime.
 * `observed` is the kernel's answer when the front end already has it (a replay); without it
 * the session's bookkeeping follows the model's own prediction.
 */
export function dispatch(
  s: RuntimeSession,
  pid: number,
  call: RuntimeCall | NotModelled,
  observed?: Observed,
): Dispatched {
  const tid = s.taskOf(pid);
  if (tid === undefined) {
    if (call.sys !== 'not-modelled' && FEED_ONLY.has(call.sys)) return IGNORED;
    return notModelledResult('task not created in the trace');
  }
  if (call.sys === 'not-modelled') {
    if (call.taintsCaller && observed !== undefined && !observed.failed) s.markUnknown(tid);
    return notModelledResult(call.reason);
  }
  if (s.credUnknown(tid) && !CRED_FREE.has(call.sys)) {
    if (call.sys === 'clone' && call.child !== undefined && call.child > 0) {
      s.created(tid, call.child, call.flags);
      const c = s.taskOf(call.child);
      if (c !== undefined) s.markUnknown(c);
    }
    return notModelledResult('credential unknown (new user namespace)');
  }
  const rt = s.rt;
  switch (call.sys) {
    case 'clone':
      if (call.child === undefined || call.child <= 0) return notModelledResult('task creation failed');
      s.created(tid, call.child, call.flags);
      return APPLIED;
    case 'exit':
      s.exited(pid);
      return IGNORED;
    case 'wait':
      s.reaped(call.reaped);
      return IGNORED;
    case 'getpid':
    case 'gettid': {
      if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
      const want = call.sys === 'gettid' ? s.pidOf(tid) : s.tgidPidOf(tid);
      if (want === undefined || want === 0) return APPLIED; // first process still unnamed: the front end just learnt it
      return exact({ ret: want, errno: 0 });
    }
    case 'getxattr-caps':
      s.rememberFileCaps(call.path, call.caps);
      return APPLIED;
    case 'idmap-open':
      s.forgetUserNamespaces();
      return IGNORED;
    case 'capget':
      return dispatchCapget(s, tid, call);
    case 'capset': {
      const hdr = call.header;
      if (hdr !== null && hdr !== BAD_ADDRESS && hdr.pid > 0) {
        if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
        // Any pid other than the caller's own tid is EPERM, known or not.
        s.claimFirstPid(tid, hdr.pid);
        return exact(rt.capset(tid, { ...hdr, pid: s.tidOf(hdr.pid) ?? GONE_TID }, call.data));
      }
      return exact(rt.capset(tid, hdr, call.data));
    }
    case 'prctl': {
      const a = call.args;
      return exact(rt.prctl(tid, call.option, a[0], a[1], a[2], a[3]));
    }
    case 'setuid':
      return exact(rt.setuid(tid, call.id));
    case 'setgid':
      return exact(rt.setgid(tid, call.id));
    case 'setfsuid':
      return exact(rt.setfsuid(tid, call.id));
    case 'setfsgid':
      return exact(rt.setfsgid(tid, call.id));
    case 'setreuid':
      return exact(rt.setreuid(tid, call.r, call.e));
    case 'setregid':
      return exact(rt.setregid(tid, call.r, call.e));
    case 'setresuid':
      return exact(rt.setresuid(tid, call.r, call.e, call.s));
    case 'setresgid':
      return exact(rt.setresgid(tid, call.r, call.e, call.s));
    case 'setgroups':
      return exact(rt.setgroups(tid, call.size, call.list));
    case 'execve': {
      const th = rt.findThread(tid);
      if (th === undefined) return notModelledResult('task not created in the trace');
      const saved = observed?.failed ? th.cred.clone() : undefined;
      const fc = call.path === undefined ? undefined : s.fileCapsFor(call.path);
      const p = rt.execve(tid, { fileCaps: fc ?? null });
      if (p.errno === 0 && p.tid !== undefined && p.tid !== tid) s.retarget(pid, tid, p.tid);
      if (p.errno === 0) s.dropDeadThreads();
      if (p.errno === 0 && saved !== undefined) {
        // The kernel refused the exec (the program visibly went on running): keep the old credential.
        const now = rt.findThread(p.tid ?? tid);
        if (now) now.cred = saved;
      }
      return exact(p);
    }
    case 'socket': {
      const p = rt.socket(tid, call.domain, call.type, call.protocol);
      // The descriptor number is the kernel's choice: known only from its answer.
      const fd = observed?.ret;
      if (fd !== undefined && fd >= 0) s.rememberSocket(tid, fd, call.domain, call.type & 0xf);
      return privileged(p, DECIDES_SOCKET);
    }
    case 'bind': {
      const sock = call.fd === undefined ? undefined : s.socketOf(tid, call.fd);
      if (sock === undefined) return notModelledResult('bind on a socket not created in the trace');
      if (!call.addrDecoded) return notModelledResult('bind address not decoded');
      if (sock.family !== 2 && sock.family !== 10) return notModelledResult('bind on a non-inet socket');
      if (call.port === undefined) return notModelledResult('bind port not decoded');
      return privileged(rt.bind(tid, { family: sock.family, sockType: sock.type, port: call.port }), DECIDES_BIND);
    }
    case 'mknod':
      // A missing parent or an unwritable directory is outside what the call says: ENOENT and
      // EACCES are outside the model here, EPERM is the CAP_MKNOD decision.
      return privileged(rt.mknod(tid, { mode: call.mode, dev: call.dev }), DECIDES_MKNOD);
    case 'chroot': {
      const p = rt.chroot(tid);
      if (observed ? observed.ret === 0 : p.errno === 0 && !p.unmodelled) s.markChrooted(tid);
      return privileged(p, DECIDES_CHROOT);
    }
    case 'kill': {
      if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
      if (call.pid <= 0) return notModelledResult('kill of a process group or broadcast');
      const target = s.tidOf(call.pid);
      if (target === undefined) return notModelledResult('kill of a pid outside the trace');
      if (s.credUnknown(target)) return notModelledResult(UNKNOWN_TARGET);
      return privileged(rt.kill(tid, target, call.sig), DECIDES_KILL);
    }
    case 'tgkill': {
      if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
      const a = call.tgid > 0 ? s.tidOf(call.tgid) : call.tgid;
      const b = call.tid > 0 ? s.tidOf(call.tid) : call.tid;
      if (a === undefined || b === undefined) return notModelledResult('tgkill of a pid outside the trace');
      if (s.credUnknown(b)) return notModelledResult(UNKNOWN_TARGET);
      // The runtime's tgid for a front-end process is the runtime tid of its leader.
      const leader = a > 0 ? (rt.findThread(a)?.tgid ?? a) : a;
      return privileged(rt.tgkill(tid, leader, b, call.sig), DECIDES_KILL);
    }
    case 'sethostname':
      return privileged(rt.sethostname(tid, call.len, call.readable), DECIDES_HOSTNAME);
    case 'setdomainname':
      return privileged(rt.setdomainname(tid, call.len, call.readable), DECIDES_HOSTNAME);
    case 'unshare': {
      const p = rt.unshare(tid, call.flags, { chrooted: s.isChrooted(tid) });
      const succeeded = observed ? observed.ret === 0 : p.errno === 0;
      if (succeeded && call.flags & CLONE_NEWPID) s.childPidNs.add(rt.findThread(tid)?.tgid ?? tid);
      // The kernel refused for a reason outside the model; the model's new namespaces are wrong.
      if (p.errno === 0 && observed?.failed) s.markUnknown(tid);
      return privileged(p, DECIDES_UNSHARE);
    }
  }
}

function dispatchCapget(s: RuntimeSession, tid: number, call: Extract<RuntimeCall, { sys: 'capget' }>): Dispatched {
  let hdr = call.header;
  const data = call.data;
  if (hdr !== null && hdr !== BAD_ADDRESS && hdr.pid > 0) {
    if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
    s.claimFirstPid(tid, hdr.pid);
    const t = s.tidOf(hdr.pid);
    if (t === undefined) {
      // The pid is only read for a known version and non-NULL data.
      const probe = data === null || ![0x19980330, 0x20071026, 0x20080522].includes(hdr.version);
      if (!probe) return notModelledResult('capget of a pid outside the trace');
      hdr = { ...hdr, pid: GONE_TID };
    } else if (s.credUnknown(t) && data !== null) return notModelledResult(UNKNOWN_TARGET);
    else hdr = { ...hdr, pid: t };
  }
  const p = s.rt.capget(tid, hdr as CapUserHeader | null | typeof BAD_ADDRESS, data);
  // The version write-back lands in the caller's header as the kernel's would.
  if (hdr !== call.header && hdr !== null && hdr !== BAD_ADDRESS && call.header !== null && call.header !== BAD_ADDRESS)
    call.header.version = hdr.version;
  return exact(p);
}
