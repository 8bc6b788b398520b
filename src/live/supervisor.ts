/**
 * The seccomp supervisor: each trapped call of the supervised program is decoded
 * (seccomp-decode.ts), given to the runtime (the same per-thread model `capctl replay` uses), and
 * answered — with the runtime's result (emulated calls), with the runtime's errno (a refused
 * privileged operation), or by letting the kernel run it (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
 *
 * The invariant that makes CONTINUE safe: the real credential of every supervised thread equals
 * its emulated credential. The program starts with the engine's initial sets (reduced for the
 * FreeBSD host before exec); every call that changes a credential (capset, the capability
 * prctls, set*id, execve) is computed by the runtime and, only when the runtime says it
 * succeeds, continued so the kernel makes the same change; the real credential is compared with
 * the model at the thread's next trapped call, and a thread found holding more than the model
 * is killed. So a call never trapped can only use privileges the engine has granted.
 *
 * Runs inside a worker thread (supervisor-worker.ts): NOTIF_RECV blocks in native code.
 */
import type { ProcStatus } from '../caps/procstatus.js';
import {
  CLONE_FS,
  CLONE_THREAD,
  CLONE_VM,
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_IS_SET,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_GET_KEEPCAPS,
  PR_GET_NO_NEW_PRIVS,
  PR_GET_SECUREBITS,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_SECUREBITS,
  SIGCHLD,
} from '../runtime/abi.js';
import type { Observed } from '../runtime/call.js';
import {
  CAP_KILL,
  CAP_NET_BIND_SERVICE,
  CAP_SYS_ADMIN,
  CAP_SYS_NICE,
  CAP_SYS_PTRACE,
  CAP_SYS_RESOURCE,
} from '../runtime/caps-const.js';
import { Credential } from '../runtime/credential.js';
import { type Dispatched, dispatch, RuntimeSession } from '../runtime/dispatch.js';
import { EACCES, EBADF, EFAULT, EINTR, ENOENT, ENOTSOCK, EPERM, ESRCH } from '../runtime/errno.js';
import type { DecisionEvent } from '../runtime/host.js';
import type { SetnsTarget } from '../runtime/privileged.js';
import { BAD_ADDRESS, type SyscallResult } from '../runtime/result.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Thread } from '../runtime/task.js';
import { clockAdjtime, TIMEX_SIZE } from '../sys/clock.js';
import { OsError } from '../sys/libc.js';
import { bindSocket } from '../sys/net.js';
import {
  listPids,
  procOwner,
  readAuxv,
  readFdNamespace,
  readLimit,
  readNamespace,
  readNice,
  readProcStatus,
  readTracerPid,
  statExe,
} from '../sys/proc.js';
import { prlimit } from '../sys/rlimit.js';
import { closeFd, type Listener, pidfdGetfd, pidfdOpen, socketKind, X86_64_SYSCALLS } from '../sys/seccomp.js';
import { getExecFileCaps } from '../sys/xattr.js';
import { capDataBytes, decodeNotification, type LiveCall, lastSockaddr } from './seccomp-decode.js';

/** An exec settled after the fact: the kernel ran it. */
const EXEC_DONE: Observed = Object.freeze({ ret: 0, failed: false });
/** Calls whose refusal is a privilege decision (complain mode lets them through). */
const PRIVILEGED: ReadonlySet<string> = new Set([
  'socket',
  'bind',
  'mknod',
  'chroot',
  'kill',
  'tgkill',
  'sethostname',
  'setdomainname',
  'unshare',
  'setpriority',
  'mount',
  'umount2',
  'ptrace',
  'setrlimit',
  'settimeofday',
  'clock_settime',
  'setns',
  'adjtimex',
]);
const CLOCK_REALTIME = 0;
const SETNS_KINDS: ReadonlySet<string> = new Set(['net', 'uts', 'ipc', 'mnt', 'user']);
const AF_INET = 2;
const AF_INET6 = 10;
const RLIMIT_NICE = 13;
/** The capability a call on another task needs when the kernel's ownership test fails. */
const OUTSIDE_CAP = { ptrace: CAP_SYS_PTRACE, setpriority: CAP_SYS_NICE, setrlimit: CAP_SYS_RESOURCE } as const;
const PTRACE_ATTACH = 16;
const PTRACE_SEIZE = 0x4206;

/** prctl options the filter traps: the capability, securebits, keepcaps and no_new_privs ones. */
export const TRAPPED_PRCTL_OPTIONS = [
  PR_GET_KEEPCAPS,
  PR_SET_KEEPCAPS,
  PR_CAPBSET_READ,
  PR_CAPBSET_DROP,
  PR_GET_SECUREBITS,
  PR_SET_SECUREBITS,
  PR_SET_NO_NEW_PRIVS,
  PR_GET_NO_NEW_PRIVS,
  PR_CAP_AMBIENT,
] as const;
/** Of those, the ones that only read state: answered from the model, never continued. */
const PRCTL_READS = new Set([PR_GET_KEEPCAPS, PR_CAPBSET_READ, PR_GET_SECUREBITS, PR_GET_NO_NEW_PRIVS]);

export interface SupervisorOptions {
  /** FreeBSD host: threads outside the supervised tree are invisible (capget/kill → ESRCH). */
  jailed: boolean;
  /** Every mount is nosuid for the program (FreeBSD host): exec ignores set-id bits and file capabilities. */
  nosuid: boolean;
  /** Complain mode: a refused privileged operation continues and is reported as `complain`. */
  complain: boolean;
  /** A profile is attached (Linux host): calls on tasks outside the tree are decided without the target. */
  profiled?: boolean;
  /** Decisions worth an audit record (the caller filters by audit level). */
  onDecision: (ev: DecisionEvent) => void;
  /** Something a person should know (divergence between model and kernel, a killed thread). */
  onNote: (text: string) => void;
  /** Called when an exec is applied to the model, before it is dispatched. */
  onExec?: () => void;
}

interface PendingClone {
  creator: number;
  flags: number;
  cred: Credential;
}

/** The stage recorded for a refusal that complain mode let through (PROFILE_COMPLAIN_STAGE). */
const COMPLAIN_STAGE = 'profile-complain';

export const STAT_NAMES = ['notifications', 'emulated', 'continued', 'refused', 'attached', 'divergences'] as const;
// Indices into STAT_NAMES as constants: a counter update is one typed-array store.
const STAT_NOTIFICATIONS = 0;
const STAT_EMULATED = 1;
const STAT_CONTINUED = 2;
const STAT_REFUSED = 3;
const STAT_ATTACHED = 4;
const STAT_DIVERGENCES = 5;

export class Supervisor {
  /**
   * Per-call counters (STAT_* indices), for `capctl run --json` and the benchmarks. Shared
   * memory: the main thread reads them while this loop is blocked in NOTIF_RECV.
   */
  readonly stats: Float64Array;
  private readonly pendingClones: PendingClone[] = [];
  /** tgid → the exec in flight: the thread that called it and the image's auxv before. */
  private readonly pendingExec = new Map<number, { tid: number; auxv: Buffer }>();
  /** Threads whose credential change was continued: compare with the kernel at their next call. */
  private readonly dirty = new Set<number>();
  private inPrivileged = false;
  /** The inet socket of the bind being decided, duplicated from the program (-1: none). */
  private bindDup = -1;
  private readonly session: RuntimeSession;

  constructor(
    private readonly rt: Runtime,
    private readonly l: Listener,
    private readonly opts: SupervisorOptions,
    initialTid: number,
    stats?: Float64Array,
  ) {
    this.session = new RuntimeSession(rt);
    this.session.bind(initialTid, initialTid);
    this.stats = stats ?? new Float64Array(STAT_NAMES.length);
    rt.setDecisionListener((ev) => this.decision(ev));
  }

  /** Receive and answer notifications until the listener fails (no more supervised tasks). */
  loop(): void {
    for (;;) {
      const e = this.l.receive();
      if (e === ENOENT || e === EINTR) continue;
      if (e !== 0) return;
      this.stats[STAT_NOTIFICATIONS]! += 1;
      this.handleOne();
    }
  }

  private decision(ev: DecisionEvent): void {
    if (this.inPrivileged && this.opts.complain && ev.errno !== 0) {
      this.opts.onDecision({
        ...ev,
        errno: 0,
        stage: COMPLAIN_STAGE,
        reason: `complain mode: would refuse with errno ${ev.errno} at stage ${ev.stage}; ${ev.reason}`,
      });
      return;
    }
    this.opts.onDecision(ev);
  }

  private handleOne(): void {
    const n = this.l.notif;
    const id = n.id;
    const tid = n.pid;
    let t: Thread | undefined;
    try {
      t = this.threadFor(tid);
    } catch (err) {
      this.opts.onNote(`tid ${tid}: cannot attach (${(err as Error).message}); killing it`);
      this.kill(tid);
      return;
    }
    // The caller vanished between RECV and now: nothing to answer.
    if (t === undefined) return;
    if (this.dirty.size > 0 && this.dirty.has(t.tid) && !this.verify(t)) return;
    const lc = decodeNotification(this.l);
    // Memory has been read: the caller must still be the one that trapped (tid not reused).
    if (!this.l.idValid(id)) return;
    this.answer(id, t, lc);
  }

  // ---------------------------------------------------------------- answers

  /** Answer with the model's result; returns NOTIF_SEND's errno (ENOENT: the caller is gone). */
  private reply(id: bigint, r: SyscallResult): number {
    this.stats[STAT_EMULATED]! += 1;
    return this.l.respond(id, r.errno === 0 ? r.ret : -1, r.errno);
  }

  /** A refused privileged operation: the engine's errno, counted (refusals are rare: no hot path). */
  private refuse(id: bigint, r: SyscallResult): number {
    this.stats[STAT_REFUSED]! += 1;
    return this.reply(id, r);
  }

  /** Let the kernel run the call; returns NOTIF_SEND's errno. */
  private proceed(id: bigint): number {
    this.stats[STAT_CONTINUED]! += 1;
    return this.l.continueCall(id);
  }

  private answer(id: bigint, t: Thread, lc: LiveCall): number {
    const call = lc.call;
    const tid = t.tid;
    switch (call.sys) {
      case 'execve': {
        // The result is unknown until the kernel has run it: settled at the process's next trapped call.
        const auxv = readAuxv(t.tgid);
        if (auxv) this.pendingExec.set(t.tgid, { tid, auxv });
        return this.proceed(id);
      }
      case 'clone':
        this.pendingClones.push({ creator: tid, flags: call.flags, cred: t.cred.clone() });
        if (this.pendingClones.length > 256) this.pendingClones.shift();
        return this.proceed(id);
      case 'capget':
      case 'capset': {
        const h = call.header;
        if (h !== null && h !== BAD_ADDRESS && h.pidReadable !== false && h.pid > 0 && h.pid !== tid) {
          if (!this.visible(h.pid)) {
            if (call.sys === 'capset') break; // EPERM for any other pid, known or not: the model says so
            // Outside the supervised tree: the kernel's own answer on Linux; invisible in a jail.
            if (this.opts.jailed) return this.reply(id, { ret: -1, errno: ESRCH });
            return this.proceed(id);
          }
        }
        break;
      }
      case 'kill':
      case 'tgkill': {
        const target = call.sys === 'kill' ? call.pid : call.tid;
        if (target > 0 && !this.visible(target)) {
          if (this.opts.jailed) return this.reply(id, { ret: -1, errno: ESRCH });
          return this.outside(id, t, CAP_KILL, call.sys);
        }
        break;
      }
      case 'bind': {
        const early = this.prepareBind(id, t, call.fd, call.addrDecoded);
        if (early !== undefined) return early < 0 ? this.proceed(id) : this.reply(id, { ret: -1, errno: early });
        break;
      }
      case 'setns': {
        const target = this.setnsTarget(t, call.fd);
        // Not the namespace of a supervised task: as a call on a task outside the tree.
        // In a jail the FreeBSD host decides setns without a target (PRIV_JAIL_ATTACH).
        if (target === undefined) return this.outside(id, t, CAP_SYS_ADMIN, 'setns', this.opts.jailed);
        call.target = target;
        break;
      }
      case 'ptrace':
      case 'setpriority':
      case 'setrlimit': {
        // A task outside the supervised tree: the kernel's answer on Linux, invisible in a jail.
        const target = this.targetOf(call);
        if (target > 0 && target !== tid && !this.visible(target)) {
          if (this.opts.jailed) return this.reply(id, { ret: -1, errno: ESRCH });
          return this.outside(id, t, OUTSIDE_CAP[call.sys], call.sys);
        }
        // prlimit64 of another supervised process: not modelled (the kernel's prlimit permission check).
        if (call.sys === 'setrlimit' && target > 0 && this.tgidOf(target) !== t.tgid)
          return this.outside(id, t, CAP_SYS_RESOURCE, 'prlimit64');
        const own = call.sys === 'setpriority' && call.which === 0 && call.who === 0;
        if (target > 0 || own) this.syncTarget(call, own ? tid : target);
        break;
      }
      default:
    }
    const privileged = PRIVILEGED.has(call.sys);
    this.inPrivileged = privileged;
    let d: Dispatched;
    try {
      d = dispatch(this.session, tid, call);
    } finally {
      this.inPrivileged = false;
    }
    if (this.bindDup >= 0) return this.bindFor(id, t, call, d);
    if (call.sys === 'adjtimex' && d.kind === 'ignored') return this.readClock(id, t, call.modes);
    if (d.kind !== 'result') return this.proceed(id);
    const r = d.result;
    switch (call.sys) {
      case 'capget':
        return this.reply(id, this.copyOut(tid, lc, r));
      case 'capset': {
        const res = this.copyOut(tid, lc, r);
        if (res.errno !== 0) return this.reply(id, res);
        // The kernel re-reads header and data: see docs/run.md on why that is safe here.
        this.dirty.add(tid);
        return this.proceed(id);
      }
      case 'prctl': {
        const a2 = call.args[0];
        const reads =
          PRCTL_READS.has(Number(call.option)) || (call.option === PR_CAP_AMBIENT && a2 === PR_CAP_AMBIENT_IS_SET);
        if (reads || r.errno !== 0) return this.reply(id, r);
        this.dirty.add(tid);
        return this.proceed(id);
      }
      case 'setns':
        if (r.errno !== 0 && !this.opts.complain) return this.refuse(id, r);
        // Joining a user namespace changes the credential: compare with the kernel at the next call.
        if (r.errno === 0) this.dirty.add(tid);
        return this.proceed(id);
      case 'setrlimit':
        if (r.errno === 0 && call.lim !== null && call.lim !== BAD_ADDRESS) return this.setrlimitFor(id, t, lc);
        if (r.errno !== 0 && !this.opts.complain) return this.refuse(id, r);
        return this.proceed(id);
      default:
        if (privileged) {
          if (r.errno !== 0 && !this.opts.complain) {
            this.stats[STAT_REFUSED]! += 1;
            return this.reply(id, r);
          }
          return this.proceed(id);
        }
        // set*id, setgroups: a refusal is the model's errno; a change is made by the kernel too.
        if (r.errno !== 0) return this.reply(id, r);
        this.dirty.add(tid);
        return this.proceed(id);
    }
  }

  /**
   * Before deciding a bind: the socket behind the program's fd, duplicated (pidfd_getfd), so
   * that the bind capctl makes is on the file the program named at the call. Returns an errno
   * to answer at once (the kernel's own, in __sys_bind's order: EBADF, ENOTSOCK, then EFAULT
   * for an unreadable address), -1 to let the kernel run it (not an inet socket: no port, and a unix
   * socket's path must be created with the program's root, cwd and credential), or undefined
   * to decide it (inet: the socket is remembered for the model, `bindDup` holds it).
   */
  private prepareBind(id: bigint, t: Thread, fd: number | undefined, addrDecoded: boolean): number | undefined {
    if (fd === undefined || fd < 0) return EBADF;
    let dup: number;
    try {
      const pidfd = pidfdOpen(t.tgid);
      try {
        // The caller still waits in bind: its process is the one the pidfd names (no pid reuse).
        if (!this.l.idValid(id)) return ESRCH;
        dup = pidfdGetfd(pidfd, fd);
      } finally {
        closeFd(pidfd);
      }
    } catch (err) {
      return err instanceof OsError ? err.errno : EBADF;
    }
    const kind = socketKind(dup);
    if (kind === null || (kind.family !== AF_INET && kind.family !== AF_INET6)) {
      closeFd(dup);
      return kind === null ? ENOTSOCK : -1;
    }
    if (!addrDecoded) {
      closeFd(dup);
      return EFAULT;
    }
    this.session.rememberSocket(t.tid, fd, kind.family, kind.type & 0xf);
    this.bindDup = dup;
    return undefined;
  }

  /**
   * Answer an inet bind: a refusal with the model's errno (complain mode: the kernel runs it);
   * otherwise — allowed, or outside what the model predicts (EADDRINUSE and the like) — capctl
   * binds the duplicated socket with the address it read, and the program gets that result.
   */
  private bindFor(id: bigint, t: Thread, call: LiveCall['call'], d: Dispatched): number {
    const dup = this.bindDup;
    this.bindDup = -1;
    try {
      let refusal = d.kind === 'result' && d.result.errno !== 0 ? d.result : undefined;
      // A socket type the model does not cover (SCTP's SEQPACKET, ...) still takes its port
      // through the kernel's reserved-port test: decide that capability before capctl binds.
      const port = call.sys === 'bind' ? (call.port ?? 0) : 0;
      if (d.kind !== 'result' && port !== 0 && port < this.rt.sysctl.ipUnprivilegedPortStart) {
        this.inPrivileged = true;
        try {
          const detail = `port ${port} < ip_unprivileged_port_start ${this.rt.sysctl.ipUnprivilegedPortStart}`;
          const e = this.rt.privileged(t, CAP_NET_BIND_SERVICE, { syscall: 'bind', detail }, EACCES, t.ns.net);
          if (e !== 0) refusal = { ret: -1, errno: e };
        } finally {
          this.inPrivileged = false;
        }
      }
      if (refusal !== undefined) return this.opts.complain ? this.proceed(id) : this.refuse(id, refusal);
      const errno = bindSocket(dup, lastSockaddr.bytes, lastSockaddr.len);
      if (!this.l.idValid(id)) return ENOENT;
      return this.reply(id, errno === 0 ? { ret: 0, errno: 0 } : { ret: -1, errno });
    } finally {
      closeFd(dup);
    }
  }

  /**
   * A read-only adjtimex/clock_adjtime (modes 0 or ADJ_OFFSET_SS_READ: no capability). Without
   * a profile or a jail the kernel runs it: the real credential is the model's, so a modes word
   * rewritten after the check meets the same decision. Otherwise capctl reads the clock itself
   * with its own copy of the struct (modes 0) and writes the answer back; a dynamic clock (a
   * descriptor, negative id) names the program's file and is continued (adjusting it needs
   * write access to the file, not a capability).
   */
  private readClock(id: bigint, t: Thread, modes: number): number {
    const n = this.l.notif;
    const adjtimex = n.nr === X86_64_SYSCALLS.adjtimex;
    const clock = adjtimex ? CLOCK_REALTIME : Number(BigInt.asIntN(32, n.args[0]!));
    if ((!this.opts.profiled && !this.opts.jailed) || clock < 0) return this.proceed(id);
    const addr = adjtimex ? n.args[0]! : n.args[1]!;
    if (this.l.read(t.tid, addr, TIMEX_SIZE) < TIMEX_SIZE) return this.reply(id, { ret: -1, errno: EFAULT });
    // capctl's copy, with the read-only modes word that was decided, whatever the program writes now.
    const tx = Buffer.from(this.l.mem.subarray(0, TIMEX_SIZE));
    tx.writeUInt32LE(modes >>> 0, 0);
    const r = clockAdjtime(clock, tx);
    if (!this.l.idValid(id)) return ENOENT;
    if (r < 0) return this.reply(id, { ret: -1, errno: -r });
    this.l.mem.set(tx);
    if (this.l.write(t.tid, addr, TIMEX_SIZE) !== TIMEX_SIZE) return this.reply(id, { ret: -1, errno: EFAULT });
    return this.reply(id, { ret: r, errno: 0 });
  }

  /**
   * A kill, ptrace, setpriority or prlimit64 of a task the model does not know (outside the
   * supervised tree; Linux host). Without a profile the kernel answers: the real credential is
   * the model's. A profile is stricter than the credential, and its answer cannot wait for the
   * target's credential: the capability that would let the call past the kernel's permission
   * check is decided now, and a refusal stands even where the kernel would have needed none
   * (same-user targets) — deny when unsure.
   */
  private outside(id: bigint, t: Thread, cap: number, syscall: string, always = false): number {
    if (!this.opts.profiled && !always) return this.proceed(id);
    this.inPrivileged = true;
    let e: number;
    try {
      e = this.rt.privileged(t, cap, { syscall, detail: 'a task outside the supervised tree' }, EPERM);
    } finally {
      this.inPrivileged = false;
    }
    if (e === 0 || this.opts.complain) return this.proceed(id);
    return this.refuse(id, { ret: -1, errno: e });
  }

  /**
   * The supervised task whose namespace the caller's descriptor `fd` names, found by inode: the
   * caller's own, then each supervised process's. Undefined for a pidfd, a kind the model does
   * not cover (pid, cgroup, time) or a namespace no supervised task is in.
   */
  private setnsTarget(t: Thread, fd: number): SetnsTarget | undefined {
    const ns = readFdNamespace(t.tid, fd);
    if (ns === null || !SETNS_KINDS.has(ns.kind)) return undefined;
    const kind = ns.kind as SetnsTarget['kind'];
    if (readNamespace(t.tid, kind) === ns.inode) return { kind, ofTid: t.tid };
    for (const pid of listPids()) {
      if (this.session.taskOf(pid) !== undefined && readNamespace(pid, kind) === ns.inode) return { kind, ofTid: pid };
    }
    return undefined;
  }

  private tgidOf(pid: number): number | undefined {
    const mapped = this.session.taskOf(pid);
    return mapped === undefined ? undefined : this.rt.findThread(mapped)?.tgid;
  }

  /** The pid a ptrace attach, setpriority(PRIO_PROCESS) or prlimit64 acts on (0: none / the caller). */
  private targetOf(call: LiveCall['call']): number {
    if (call.sys === 'ptrace') return call.request === PTRACE_ATTACH || call.request === PTRACE_SEIZE ? call.pid : 0;
    if (call.sys === 'setpriority') return call.which === 0 ? call.who : 0;
    if (call.sys === 'setrlimit') return call.pid;
    return 0;
  }

  /**
   * State the model does not follow because the calls that change it are not trapped: a
   * target's nice value (sched_setattr, another process's setpriority) and whether it is
   * traced already (the tracer's exit or PTRACE_DETACH). Read from /proc just before deciding.
   */
  private syncTarget(call: LiveCall['call'], pid: number): void {
    const mapped = this.session.taskOf(pid);
    const th = mapped === undefined ? undefined : this.rt.findThread(mapped);
    if (th === undefined) return;
    if (call.sys === 'ptrace') {
      th.process.tracerTgid = readTracerPid(pid) ?? th.process.tracerTgid;
      // prctl(PR_SET_DUMPABLE) is not trapped; /proc/PID belongs to root while a process is not
      // dumpable (task_dump_owner), which tells for a target whose euid is not 0.
      const owner = procOwner(pid);
      if (owner !== null && th.cred.euid !== 0) th.process.dumpable = owner === th.cred.euid ? 1 : 0;
    } else if (call.sys === 'setpriority') {
      th.nice = readNice(pid) ?? th.nice;
      const nice = readLimit(th.tgid, RLIMIT_NICE)?.soft;
      // RLIM_INFINITY allows every nice value, as any limit of 40 or more does.
      if (nice !== undefined) this.session.rlimitNice = typeof nice === 'bigint' ? 40 : nice;
    }
  }

  /**
   * An allowed setrlimit/prlimit64 of the caller's own process, made by capctl with the limits
   * the engine decided on (prlimit on the caller's process): continuing would let the kernel
   * read the limits again, and another thread could raise them in between. prlimit64's old
   * limits are written back as the kernel would (a fault there is EFAULT, the new limits set).
   */
  private setrlimitFor(id: bigint, t: Thread, lc: LiveCall): number {
    const call = lc.call;
    if (call.sys !== 'setrlimit' || call.lim === null || call.lim === BAD_ADDRESS) return this.proceed(id);
    const n = this.l.notif;
    const res = prlimit(t.tgid, call.resource, BigInt(call.lim.cur), BigInt(call.lim.max));
    if (!this.l.idValid(id)) return ENOENT;
    if (res.errno !== 0) return this.reply(id, { ret: -1, errno: res.errno });
    const oldAddr = n.nr === X86_64_SYSCALLS.prlimit64 ? n.args[3]! : 0n;
    if (oldAddr !== 0n) {
      const dv = new DataView(this.l.mem.buffer, this.l.mem.byteOffset, 16);
      dv.setBigUint64(0, res.oldCur, true);
      dv.setBigUint64(8, res.oldMax, true);
      if (this.l.write(t.tid, oldAddr, 16) !== 16) return this.reply(id, { ret: -1, errno: EFAULT });
    }
    return this.reply(id, { ret: 0, errno: 0 });
  }

  /**
   * Write what the model put in user memory back to the caller: the header's version (when
   * cap_validate_magic rewrote it) and capget's data words. A write that faults is EFAULT, as
   * put_user / copy_to_user make it.
   */
  private copyOut(tid: number, lc: LiveCall, r: SyscallResult): SyscallResult {
    const l = this.l;
    const call = lc.call;
    if (call.sys !== 'capget' && call.sys !== 'capset') return r;
    const h = call.header;
    if (h !== null && h !== BAD_ADDRESS && h.version !== lc.version) {
      l.memView.setUint32(0, h.version, true);
      if (l.write(tid, lc.hdrAddr, 4) !== 4) return { ret: -1, errno: EFAULT };
    }
    if (
      call.sys === 'capget' &&
      r.errno === 0 &&
      call.data !== null &&
      call.data !== BAD_ADDRESS &&
      h !== null &&
      h !== BAD_ADDRESS
    ) {
      const bytes = capDataBytes(h.version);
      if (bytes > 0) {
        const dv = l.memView;
        for (let i = 0; i < bytes >>> 2; i++) dv.setUint32(i * 4, call.data.words[i]!, true);
        if (l.write(tid, lc.dataAddr, bytes) !== bytes) return { ret: -1, errno: EFAULT };
      }
    }
    return r;
  }

  // ---------------------------------------------------------------- tasks

  /**
   * Is `pid` a live task of the supervised tree? A task the kernel has released leaves the
   * model (then capget and kill of it are ESRCH, as the model's reaped pids are).
   */
  private visible(pid: number): boolean {
    const tid = this.session.taskOf(pid);
    if (tid === undefined) return false;
    if (readProcStatus(pid) !== null) return true;
    const t = this.rt.findThread(tid);
    if (t !== undefined && !t.isLeader) this.session.exited(pid);
    else this.session.reaped(pid);
    return true;
  }

  /**
   * The model's thread for a trapped caller. A tid the model has not seen is a task created by
   * a clone/fork/vfork since: the kernel told us of the clone before it ran, so the child's tid
   * is learnt here, at its first trapped call, from /proc (Tgid, PPid), and it starts from the
   * credential its creator had at the clone.
   */
  private threadFor(tid: number): Thread | undefined {
    this.settleExec(tid);
    const mapped = this.session.taskOf(tid);
    const known = mapped === undefined ? undefined : this.rt.findThread(mapped);
    if (known !== undefined && !known.exited) return known;
    const st = readProcStatus(tid);
    if (st === null) return undefined;
    return this.attach(tid, st);
  }

  private attach(tid: number, st: ProcStatus): Thread {
    this.stats[STAT_ATTACHED]! += 1;
    const rt = this.rt;
    const isThread = st.tgid !== tid;
    const parentTgid = isThread ? st.tgid : st.ppid;
    // The clone that made it: the latest pending one from the right process whose credential
    // matches what the kernel shows now (a creator may have cloned more than once).
    const real = Credential.fromStatus(st);
    let best = -1;
    for (let i = this.pendingClones.length - 1; i >= 0; i--) {
      const p = this.pendingClones[i]!;
      const c = rt.findThread(p.creator);
      if (c === undefined || c.tgid !== parentTgid) continue;
      if (((p.flags & CLONE_THREAD) !== 0) !== isThread) continue;
      if (best < 0) best = i;
      if (sameCaps(p.cred, real)) {
        best = i;
        break;
      }
    }
    const s = this.session;
    if (isThread && s.taskOf(st.tgid) === undefined) {
      throw new Error(`thread ${tid} of unknown process ${st.tgid}`);
    }
    if (best >= 0) {
      const p = this.pendingClones.splice(best, 1)[0]!;
      const creator = rt.findThread(p.creator)!;
      const now = creator.cred;
      // The child starts from the credential its creator had at the clone.
      creator.cred = p.cred;
      try {
        s.created(creator.tid, tid, p.flags);
      } finally {
        creator.cred = now;
      }
    } else if (isThread) {
      s.created(s.taskOf(st.tgid)!, tid, CLONE_THREAD | CLONE_VM | CLONE_FS);
    } else if (s.taskOf(parentTgid) !== undefined) {
      s.created(s.taskOf(parentTgid)!, tid, SIGCHLD);
    } else {
      // Reparented (its parent exited) before its first trapped call: its real credential is
      // the model's by the invariant; securebits are not in /proc and are taken as 0.
      rt.spawn(real, { tid, ppid: st.ppid });
      s.bind(tid, tid);
    }
    const child = rt.findThread(s.taskOf(tid)!)!;
    this.compare(child, st, 'new task');
    return child;
  }

  /** An exec in flight in `tid`'s process: if the image changed, apply it to the model now. */
  private settleExec(tid: number): void {
    if (this.pendingExec.size === 0) return;
    const t = this.rt.findThread(tid);
    const tgid = t ? t.tgid : tid;
    const p = this.pendingExec.get(tgid);
    if (p === undefined) return;
    const now = readAuxv(tgid);
    if (now?.equals(p.auxv)) {
      // Same image: when the exec's own thread calls again, its exec failed.
      if (tid === p.tid) this.pendingExec.delete(tgid);
      return;
    }
    this.pendingExec.delete(tgid);
    const exe = statExe(tgid);
    if (exe === null || this.session.taskOf(p.tid) === undefined) return;
    // The executed file as the kernel opened it (/proc/PID/exe: the interpreter for a script,
    // whose file capabilities are the ones that count).
    this.session.rememberFileCaps(exe.path, getExecFileCaps(exe.path));
    const file = { mode: exe.mode, uid: exe.uid, gid: exe.gid, nosuid: this.opts.nosuid };
    this.opts.onExec?.();
    const d = dispatch(this.session, p.tid, { sys: 'execve', name: 'execve', path: exe.path, file }, EXEC_DONE);
    if (d.kind === 'result' && d.result.errno !== 0)
      this.opts.onNote(`exec in ${tgid}: the kernel ran it, the model refused it (errno ${d.result.errno})`);
    // de_thread(): an exec from another thread gave it the leader's pid.
    if (p.tid !== tgid) this.session.superseded(tgid, p.tid);
    const st = readProcStatus(tgid);
    const leader = this.rt.findThread(tgid);
    if (st && leader) this.compare(leader, st, 'exec');
  }

  /**
   * Compare the model with the kernel for thread `t` (the status just read). A real credential
   * holding something the model lacks breaks the invariant: the process is killed. A real one
   * holding less is adopted (the model only follows the kernel downward).
   */
  private compare(t: Thread, st: ProcStatus, when: string): boolean {
    const c = t.cred;
    const diffs: string[] = [];
    const sets: [string, number, number, bigint][] = [
      ['CapEff', c.effLo, c.effHi, st.effective.toBigInt()],
      ['CapPrm', c.prmLo, c.prmHi, st.permitted.toBigInt()],
      ['CapInh', c.inhLo, c.inhHi, st.inheritable.toBigInt()],
      ['CapBnd', c.bndLo, c.bndHi, st.bounding.toBigInt()],
      ['CapAmb', c.ambLo, c.ambHi, st.ambient.toBigInt()],
    ];
    let grew = false;
    for (const [name, lo, hi, real] of sets) {
      const model = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
      if (model !== real) {
        diffs.push(`${name} model ${model.toString(16)} kernel ${real.toString(16)}`);
        if ((real & ~model) !== 0n) grew = true;
      }
    }
    const ids: [string, number, number][] = [
      ['uid', c.ruid, st.uid.real],
      ['euid', c.euid, st.uid.effective],
      ['suid', c.suid, st.uid.saved],
      ['fsuid', c.fsuid, st.uid.fs],
      ['gid', c.rgid, st.gid.real],
      ['egid', c.egid, st.gid.effective],
      ['sgid', c.sgid, st.gid.saved],
      ['fsgid', c.fsgid, st.gid.fs],
    ];
    for (const [name, model, real] of ids) if (model !== real) diffs.push(`${name} model ${model} kernel ${real}`);
    if (diffs.length === 0) return true;
    this.stats[STAT_DIVERGENCES]! += 1;
    if (grew) {
      this.opts.onNote(`tid ${t.tid} (${when}): the kernel credential exceeds the model (${diffs.join(', ')}); killed`);
      this.kill(t.tgid);
      return false;
    }
    this.opts.onNote(`tid ${t.tid} (${when}): model and kernel differ (${diffs.join(', ')}); following the kernel`);
    const securebits = c.securebits;
    t.cred.copyFrom(Object.assign(Credential.fromStatus(st, securebits), { userns: c.userns }));
    return true;
  }

  private verify(t: Thread): boolean {
    this.dirty.delete(t.tid);
    const st = readProcStatus(t.tid);
    if (st === null) return true;
    return this.compare(t, st, 'after a continued credential change');
  }

  private kill(pid: number): void {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

function sameCaps(a: Credential, b: Credential): boolean {
  return (
    a.effLo === b.effLo &&
    a.effHi === b.effHi &&
    a.prmLo === b.prmLo &&
    a.prmHi === b.prmHi &&
    a.inhLo === b.inhLo &&
    a.inhHi === b.inhHi &&
    a.euid === b.euid &&
    a.egid === b.egid
  );
}

export const TRAPPED_SYSCALLS = Object.keys(X86_64_SYSCALLS).filter((s) => s !== 'prctl') as Exclude<
  keyof typeof X86_64_SYSCALLS,
  'prctl'
>[];
