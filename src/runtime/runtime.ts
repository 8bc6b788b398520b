/**
 * The runtime: threads by tid, grouped into processes by tgid, each thread with its own
 * credential; the syscall entry points take the calling thread's tid first and return what the
 * kernel returns. Pure model: no I/O.
 */
import { CapctlError, inputError } from '../caps/errors.js';
import {
  CLONE_FS,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  CLONE_THREAD,
} from './abi.js';
import { sysCapget, sysCapset } from './capability.js';
import { Credential, type IdExtent, INIT_USER_NS, type UserNamespace } from './credential.js';
import { EPERM } from './errno.js';
import { type ExecFile, type ExecOptions, type ExecResult, sysExecve } from './exec.js';
import {
  type DecisionEvent,
  type DecisionListener,
  type HostDecision,
  linuxHost,
  type PrivilegedOp,
  type PrivilegeHost,
} from './host.js';
import { sysPrctl, type ULong } from './prctl.js';
import {
  applyNewNamespaces,
  type BindInput,
  type ChownInput,
  type MknodInput,
  newUserNamespace,
  type Rlimit,
  type SetnsTarget,
  sysAcct,
  sysBind,
  sysChown,
  sysChroot,
  sysClockSettime,
  sysIoperm,
  sysIopl,
  sysKill,
  sysMknod,
  sysMlock,
  sysMount,
  sysPtraceAttach,
  sysReboot,
  sysRemovexattrCaps,
  sysSethostname,
  sysSetns,
  sysSetpriority,
  sysSetrlimit,
  sysSettimeofday,
  sysSetxattrCaps,
  sysSocket,
  sysSwapoff,
  sysSwapon,
  sysTgkill,
  sysUmount,
  sysUnshare,
  sysWriteIdMap,
  sysWriteSetgroups,
} from './privileged.js';
import type { BadAddress, CapUserData, CapUserHeader, SyscallResult } from './result.js';
import {
  sysSetfsgid,
  sysSetfsuid,
  sysSetgid,
  sysSetgroups,
  sysSetregid,
  sysSetresgid,
  sysSetresuid,
  sysSetreuid,
  sysSetuid,
} from './setid.js';
import { type Dumpable, Process, Thread } from './task.js';

/** The plain Linux host's answers to a rule's capability test (no strings built per call). */
const RULE_ALLOW: HostDecision = Object.freeze({
  errno: 0,
  stage: 'capability',
  reason: 'capability in effective set',
});
const RULE_DENY: HostDecision = Object.freeze({
  errno: EPERM,
  stage: 'capability',
  reason: 'capability not in effective set',
});

/** Host tunables the privileged operations depend on (defaults: a stock 6.18 kernel). */
export interface Sysctl {
  /** net.ipv4.ip_unprivileged_port_start (default 1024). */
  ipUnprivilegedPortStart: number;
  /** net.ipv4.ping_group_range (default [1, 0]: nobody may open ICMP datagram sockets). */
  pingGroupRange: readonly [number, number];
  /** fs.suid_dumpable (default 0). */
  suidDumpable: Dumpable;
  /** fs.nr_open (default 1048576). */
  nrOpen: number;
  /** kernel.yama.ptrace_scope, or undefined when Yama is not built in (the default here). */
  yamaPtraceScope: 0 | 1 | 2 | 3 | undefined;
}

/** Kernel build options that change syscall results. */
export interface KernelConfig {
  /** CONFIG_X86_IOPL_IOPERM: iopl/ioperm exist (default false: ENOSYS, as on the 6.18 reference host). */
  x86IoplIoperm: boolean;
  /** CAP_LAST_CAP of the release (40 from 5.9, 39 in 5.8, 37 before; kernel-version.ts). */
  lastCap: number;
  /** SECURE_ALL_BITS | SECURE_ALL_LOCKS of the release (0xfff from 6.14, 0xff from 4.3). */
  securebitsValid: number;
  /** PR_CAP_AMBIENT exists (4.3+). */
  ambient: boolean;
}

export interface RuntimeOptions {
  host?: PrivilegeHost;
  kernelConfig?: Partial<KernelConfig>;
  onDecision?: DecisionListener;
  sysctl?: Partial<Sysctl>;
  /** First id the runtime allocates when a caller does not choose one (default 100). */
  firstId?: number;
}

const CLONE_NEW_ANY =
  CLONE_NEWUSER |
  CLONE_NEWNS |
  CLONE_NEWUTS |
  CLONE_NEWIPC |
  CLONE_NEWNET |
  CLONE_NEWPID |
  CLONE_NEWCGROUP |
  CLONE_NEWTIME;

const DEFAULT_SYSCTL: Sysctl = {
  ipUnprivilegedPortStart: 1024,
  pingGroupRange: [1, 0],
  suidDumpable: 0,
  nrOpen: 1048576,
  yamaPtraceScope: undefined,
};

export class Runtime {
  readonly host: PrivilegeHost;
  readonly sysctl: Sysctl;
  readonly kernelConfig: KernelConfig;
  /** CAP_VALID_MASK's high word for the release (0x1ff on 6.18). */
  readonly validHi: number;
  /** True when a decision listener is attached (hot paths test this before building events). */
  listening: boolean;
  private listener: DecisionListener | undefined;
  private readonly threads = new Map<number, Thread>();
  private readonly processes = new Map<number, Process>();
  private nextId: number;

  constructor(opts: RuntimeOptions = {}) {
    this.host = opts.host ?? linuxHost;
    this.sysctl = { ...DEFAULT_SYSCTL, ...opts.sysctl };
    this.kernelConfig = {
      x86IoplIoperm: false,
      lastCap: 40,
      securebitsValid: 0xfff,
      ambient: true,
      ...opts.kernelConfig,
    };
    this.validHi = (2 ** (this.kernelConfig.lastCap - 31) - 1) >>> 0;
    this.listener = opts.onDecision;
    this.listening = this.listener !== undefined;
    this.nextId = opts.firstId ?? 100;
  }

  /** Attach (or detach, with undefined) the decision listener. */
  setDecisionListener(fn: DecisionListener | undefined): void {
    this.listener = fn;
    this.listening = fn !== undefined;
  }

  // ---------------------------------------------------------------- tasks

  private allocId(want: number | undefined): number {
    if (want === undefined) {
      while (this.threads.has(this.nextId) || this.processes.has(this.nextId)) this.nextId++;
      return this.nextId++;
    }
    if (!Number.isInteger(want) || want <= 0 || want > 0x3fffffff) {
      throw inputError('bad-tid', `tid ${want} is not a valid thread id`);
    }
    if (this.threads.has(want) || this.processes.has(want)) {
      throw inputError('tid-in-use', `tid ${want} is already in use in the runtime`);
    }
    if (want >= this.nextId) this.nextId = want + 1;
    return want;
  }

  /**
   * A new process with one thread holding `cred` (copied). `tid` is chosen by the caller (e.g.
   * from a trace) or allocated; `ppid` is the parent's tgid (0: none in the model).
   */
  spawn(cred: Credential = Credential.root(), opts: { tid?: number; ppid?: number } = {}): Thread {
    const tid = this.allocId(opts.tid);
    const p = new Process(tid, opts.ppid ?? 0);
    const t = new Thread(tid, p, cred.clone());
    p.threads.add(t);
    this.processes.set(tid, p);
    this.threads.set(tid, t);
    return t;
  }

  /** fork()/vfork()/clone() without CLONE_THREAD: a new process whose only thread copies the caller's credential. */
  fork(tid: number, childTid?: number, flags = 0): Thread {
    const parent = this.caller(tid);
    const id = this.allocId(childTid);
    const p = new Process(id, parent.tgid);
    p.dumpable = parent.process.dumpable;
    const t = new Thread(id, p, parent.cred.clone());
    t.nice = parent.nice;
    t.iopl = parent.iopl;
    t.ns = parent.ns;
    if (flags & CLONE_FS) {
      t.fs = parent.fs;
      t.fs.users++;
    }
    p.threads.add(t);
    this.processes.set(id, p);
    this.threads.set(id, t);
    return t;
  }

  /** clone(CLONE_THREAD|...): a new thread in the caller's thread group with a copy of the caller's credential. */
  cloneThread(tid: number, newTid?: number, flags = CLONE_FS): Thread {
    const caller = this.caller(tid);
    const id = this.allocId(newTid);
    const t = new Thread(id, caller.process, caller.cred.clone());
    t.nice = caller.nice;
    t.iopl = caller.iopl;
    t.ns = caller.ns;
    if (flags & CLONE_FS) {
      t.fs = caller.fs;
      t.fs.users++;
    }
    caller.process.threads.add(t);
    this.threads.set(id, t);
    return t;
  }

  /**
   * clone(flags) as recorded (the caller already knows it succeeded): CLONE_THREAD →
   * cloneThread, otherwise fork; CLONE_NEWUSER and the other CLONE_NEW* flags give the child
   * new namespaces (with NEWUSER: every capability in the new user namespace).
   */
  clone(tid: number, flags: number, newTid?: number): Thread {
    const child = flags & CLONE_THREAD ? this.cloneThread(tid, newTid, flags) : this.fork(tid, newTid, flags);
    if (!(flags & CLONE_THREAD) && flags & CLONE_NEW_ANY) {
      const userns = flags & CLONE_NEWUSER ? newUserNamespace(child.cred) : child.cred.userns;
      applyNewNamespaces(child, flags, userns, this.validHi);
    }
    return child;
  }

  /**
   * The thread exits (exit(2) / being killed). A non-leader thread disappears at once; the
   * leader stays visible (capget, kill find it) until the whole group has exited and the
   * parent reaps it.
   */
  exit(tid: number): void {
    const t = this.caller(tid);
    this.retireThread(t);
  }

  /** exit_group(2): every thread of the caller's process exits. */
  exitGroup(tid: number): void {
    const t = this.caller(tid);
    for (const other of [...t.process.threads]) this.retireThread(other);
  }

  private retireThread(t: Thread): void {
    const p = t.process;
    if (!t.exited) t.fs.users--;
    t.exited = true;
    if (!t.isLeader) {
      p.threads.delete(t);
      this.threads.delete(t.tid);
    }
    let live = false;
    for (const o of p.threads) if (!o.exited) live = true;
    if (!live) {
      p.zombie = true;
      // exit_ptrace(): a tracer's exit detaches its tracees.
      for (const q of this.processes.values()) if (q.tracerTgid === p.tgid) q.tracerTgid = 0;
    }
  }

  /** ptrace(PTRACE_DETACH) as recorded: the process stops being traced by the caller's process. */
  ptraceDetach(tid: number, pid: number): void {
    const t = this.caller(tid);
    const target = this.threads.get(pid);
    if (target && target.process.tracerTgid === t.tgid) target.process.tracerTgid = 0;
  }

  /** wait4() by the parent: a zombie process's ids disappear (capget → ESRCH afterwards). */
  reap(tgid: number): void {
    const p = this.processes.get(tgid);
    if (!p) throw inputError('no-such-process', `no process ${tgid} in the runtime`);
    for (const t of p.threads) this.threads.delete(t.tid);
    p.threads.clear();
    this.processes.delete(tgid);
  }

  /** find_task_by_vpid(): any thread (zombies included) by tid; undefined if none. */
  findThread(tid: number): Thread | undefined {
    return this.threads.get(tid);
  }

  /** The calling thread; an unknown or exited tid is a programming error of the caller. */
  caller(tid: number): Thread {
    const t = this.threads.get(tid);
    if (t === undefined || t.exited) {
      throw new CapctlError('no-such-thread', `no live thread ${tid} in the runtime`);
    }
    return t;
  }

  /**
   * de_thread() at exec: every other thread of `t`'s process is gone; if `t` was not the
   * leader it takes over the leader's id (its tid becomes the tgid).
   */
  deThread(t: Thread): void {
    const p = t.process;
    for (const o of [...p.threads]) {
      if (o === t) continue;
      if (!o.exited) o.fs.users--;
      p.threads.delete(o);
      this.threads.delete(o.tid);
    }
    if (t.tid !== p.tgid) {
      this.threads.delete(t.tid);
      t.tid = p.tgid;
      this.threads.set(t.tid, t);
    }
  }

  /** The credential of thread `tid` (the live object; mutate only in tests). */
  cred(tid: number): Credential {
    return this.caller(tid).cred;
  }

  process(tgid: number): Process | undefined {
    return this.processes.get(tgid);
  }

  /** All thread ids, ascending. */
  tids(): number[] {
    return [...this.threads.keys()].sort((a, b) => a - b);
  }

  // ---------------------------------------------------------------- decisions

  /** Report a decision made by a Linux-semantics rule (capset, prctl, set*id, exec). */
  emitRule(t: Thread, syscall: string, cap: number, errno: number, stage: string, reason: string): void {
    const fn = this.listener;
    if (!fn) return;
    fn({ tid: t.tid, tgid: t.tgid, syscall, cap, op: { syscall }, errno, stage, reason, host: 'linux' });
  }

  /**
   * The capability test inside a Linux rule (capset's CAP_SETPCAP, prctl's CAP_SETPCAP, set*id's
   * CAP_SETUID/CAP_SETGID, exec's CAP_SETUID), i.e. ns_capable() in the caller's own namespace.
   * It is asked of the host like every privileged operation, so a profile (or a FreeBSD jail)
   * restricts these uses too: one decision path. Not reported; see `reportCapable`.
   */
  capableFor(t: Thread, syscall: string, cap: number): HostDecision {
    const c = t.cred;
    // linuxHost is the effective-set test: answer it without building an op.
    if (this.host === linuxHost) return c.hasEffective(cap) ? RULE_ALLOW : RULE_DENY;
    return this.host.capable(c, cap, { syscall });
  }

  /**
   * Report a `capableFor` decision. On the plain Linux host the rule's own words are used
   * (`allowReason`/`denyReason`); a profiled or FreeBSD host reports its stage and reason.
   */
  reportCapable(
    t: Thread,
    syscall: string,
    cap: number,
    d: HostDecision,
    allowReason: string,
    denyReason: string,
  ): void {
    const fn = this.listener;
    if (!fn) return;
    const plain = this.host === linuxHost;
    const ev: DecisionEvent = {
      tid: t.tid,
      tgid: t.tgid,
      syscall,
      cap,
      op: { syscall },
      errno: d.errno === 0 ? 0 : EPERM,
      stage: plain ? 'capability' : d.stage,
      reason: plain ? (d.errno === 0 ? allowReason : denyReason) : d.reason,
      host: this.host.kind,
    };
    if (d.priv !== undefined) ev.priv = d.priv;
    fn(ev);
  }

  /** `capableFor` then `reportCapable`: true when the capability may be used. */
  ruleCapable(t: Thread, syscall: string, cap: number, allowReason: string, denyReason: string): boolean {
    const d = this.capableFor(t, syscall, cap);
    if (this.listener) this.reportCapable(t, syscall, cap, d, allowReason, denyReason);
    return d.errno === 0;
  }

  /**
   * ns_capable(owner, cap) for a privileged operation on a resource owned by user namespace
   * `owner` (default: the initial one), following cap_capable():
   *   walk from `owner` up: at the credential's own namespace → the host decides (Linux: cap in E);
   *   owner's parent is the credential's ns and the credential's euid created it → allowed;
   *   reached a level at or above the credential's without meeting it → denied.
   * Returns 0, or `deniedErrno` (the syscall's own errno for a denial, e.g. EACCES for bind).
   */
  privileged(
    t: Thread,
    cap: number,
    op: PrivilegedOp,
    deniedErrno: number,
    owner: UserNamespace = INIT_USER_NS,
  ): number {
    const c = t.cred;
    let errno = deniedErrno;
    let stage = 'user-namespace';
    let reason = 'the credential\u2019s user namespace has no capabilities over the resource\u2019s namespace';
    let host: 'linux' | 'freebsd' = 'linux';
    let priv: number | undefined;
    for (let ns: UserNamespace | undefined = owner; ns; ns = ns.parent) {
      if (ns === c.userns) {
        const d = this.host.capable(c, cap, op);
        errno = d.errno === 0 ? 0 : deniedErrno;
        stage = d.stage;
        reason = d.reason;
        host = this.host.kind;
        priv = d.priv;
        break;
      }
      if (ns.level <= c.userns.level) break;
      if (ns.parent === c.userns && ns.ownerUid === c.euid) {
        errno = 0;
        stage = 'user-namespace-owner';
        reason = 'the credential created the namespace that owns the resource';
        break;
      }
    }
    const fn = this.listener;
    if (fn) {
      const ev: DecisionEvent = { tid: t.tid, tgid: t.tgid, syscall: op.syscall, cap, op, errno, stage, reason, host };
      if (priv !== undefined) ev.priv = priv;
      fn(ev);
    }
    return errno;
  }

  // ---------------------------------------------------------------- syscalls

  capget(tid: number, hdr: CapUserHeader | BadAddress | null, data: CapUserData | BadAddress | null): SyscallResult {
    return sysCapget(this, this.caller(tid), hdr, data);
  }

  capset(tid: number, hdr: CapUserHeader | BadAddress | null, data: CapUserData | BadAddress | null): SyscallResult {
    return sysCapset(this, this.caller(tid), hdr, data);
  }

  prctl(tid: number, option: ULong, arg2: ULong = 0, arg3: ULong = 0, arg4: ULong = 0, arg5: ULong = 0): SyscallResult {
    return sysPrctl(this, this.caller(tid), option, arg2, arg3, arg4, arg5);
  }

  // uid/gid family: ids are uid_t/gid_t; -1 (or 0xffffffff) means "unchanged" where the kernel says so.
  setuid(tid: number, uid: number): SyscallResult {
    return sysSetuid(this, this.caller(tid), uid);
  }
  setreuid(tid: number, ruid: number, euid: number): SyscallResult {
    return sysSetreuid(this, this.caller(tid), ruid, euid);
  }
  setresuid(tid: number, ruid: number, euid: number, suid: number): SyscallResult {
    return sysSetresuid(this, this.caller(tid), ruid, euid, suid);
  }
  /** Returns the old fsuid as `ret`; never fails. */
  setfsuid(tid: number, uid: number): SyscallResult {
    return sysSetfsuid(this, this.caller(tid), uid);
  }
  setgid(tid: number, gid: number): SyscallResult {
    return sysSetgid(this, this.caller(tid), gid);
  }
  setregid(tid: number, rgid: number, egid: number): SyscallResult {
    return sysSetregid(this, this.caller(tid), rgid, egid);
  }
  setresgid(tid: number, rgid: number, egid: number, sgid: number): SyscallResult {
    return sysSetresgid(this, this.caller(tid), rgid, egid, sgid);
  }
  /** Returns the old fsgid as `ret`; never fails. */
  setfsgid(tid: number, gid: number): SyscallResult {
    return sysSetfsgid(this, this.caller(tid), gid);
  }
  /** setgroups(size, list): `list` null (NULL), BAD_ADDRESS, or the readable gids. */
  setgroups(tid: number, size: number, list: readonly number[] | BadAddress | null): SyscallResult {
    return sysSetgroups(this, this.caller(tid), size, list);
  }

  /** execve of `file`; see ExecFile / ExecOptions. On success `ret` 0, `atSecure`, and the caller's (possibly new) `tid`. */
  execve(tid: number, file: ExecFile = {}, opts: ExecOptions = {}): ExecResult {
    return sysExecve(this, this.caller(tid), file, opts);
  }

  // ---------------------------------------------------------------- privileged operations
  // Each documents (in privileged.ts) the capability it checks and the inputs it needs.

  /** socket(domain, type, protocol); success is ret 0 standing for a new descriptor. */
  socket(tid: number, domain: number, type: number, protocol = 0): SyscallResult {
    return sysSocket(this, this.caller(tid), domain, type, protocol);
  }
  /** bind() of an inet socket: family and type of the socket, and the port. */
  bind(tid: number, b: BindInput): SyscallResult {
    return sysBind(this, this.caller(tid), b);
  }
  /** mknod/mknodat. */
  mknod(tid: number, m: MknodInput): SyscallResult {
    return sysMknod(this, this.caller(tid), m);
  }
  chroot(tid: number, p: { exists?: boolean; searchable?: boolean } = {}): SyscallResult {
    return sysChroot(this, this.caller(tid), p);
  }
  kill(tid: number, pid: number, sig: number, opts: { sameSession?: boolean } = {}): SyscallResult {
    return sysKill(this, this.caller(tid), pid, sig, opts);
  }
  tgkill(
    tid: number,
    tgid: number,
    targetTid: number,
    sig: number,
    opts: { sameSession?: boolean } = {},
  ): SyscallResult {
    return sysTgkill(this, this.caller(tid), tgid, targetTid, sig, opts);
  }
  sethostname(tid: number, len: number, nameReadable = true): SyscallResult {
    return sysSethostname(this, this.caller(tid), 'sethostname', len, nameReadable);
  }
  setdomainname(tid: number, len: number, nameReadable = true): SyscallResult {
    return sysSethostname(this, this.caller(tid), 'setdomainname', len, nameReadable);
  }
  mount(tid: number, m: { flags: number; targetExists?: boolean }): SyscallResult {
    return sysMount(this, this.caller(tid), m);
  }
  umount2(tid: number, m: { flags: number; targetExists?: boolean }): SyscallResult {
    return sysUmount(this, this.caller(tid), m);
  }
  /** ptrace(PTRACE_ATTACH or PTRACE_SEIZE, pid). */
  ptraceAttach(tid: number, pid: number): SyscallResult {
    return sysPtraceAttach(this, this.caller(tid), pid);
  }
  setpriority(
    tid: number,
    which: number,
    who: number,
    niceval: number,
    opts: { rlimitNice?: number } = {},
  ): SyscallResult {
    return sysSetpriority(this, this.caller(tid), which, who, niceval, opts);
  }
  /** chown/fchown/lchown/fchownat: the file's owner and group plus the requested ones. */
  chown(tid: number, ch: ChownInput): SyscallResult {
    return sysChown(this, this.caller(tid), ch);
  }
  /** acct(path): `pathGiven` false for acct(NULL). */
  acct(tid: number, pathGiven: boolean): SyscallResult {
    return sysAcct(this, this.caller(tid), pathGiven);
  }
  reboot(tid: number, magic1: number, magic2: number, cmd: number): SyscallResult {
    return sysReboot(this, this.caller(tid), magic1, magic2, cmd);
  }
  settimeofday(
    tid: number,
    tv: { sec: number; usec: number } | null,
    tz: { minuteswest: number } | null = null,
  ): SyscallResult {
    return sysSettimeofday(this, this.caller(tid), tv, tz);
  }
  clockSettime(tid: number, clockid: number, tp: { sec: number; nsec: number }): SyscallResult {
    return sysClockSettime(this, this.caller(tid), clockid, tp);
  }
  iopl(tid: number, level: number): SyscallResult {
    return sysIopl(this, this.caller(tid), level);
  }
  ioperm(tid: number, from: number, num: number, turnOn: number): SyscallResult {
    return sysIoperm(this, this.caller(tid), from, num, turnOn);
  }
  swapon(tid: number, flags: number): SyscallResult {
    return sysSwapon(this, this.caller(tid), flags);
  }
  swapoff(tid: number): SyscallResult {
    return sysSwapoff(this, this.caller(tid));
  }
  /** setrlimit/prlimit64 on the caller; `oldMax` is the current hard limit. */
  setrlimit(tid: number, resource: number, lim: Rlimit, oldMax: bigint | number): SyscallResult {
    return sysSetrlimit(this, this.caller(tid), resource, lim, oldMax);
  }
  mlock(
    tid: number,
    addr: number,
    len: number,
    m: { memlockLimit: bigint | number; lockedPages?: number },
  ): SyscallResult {
    return sysMlock(this, this.caller(tid), addr, len, m);
  }
  unshare(tid: number, flags: number, opts: { chrooted?: boolean } = {}): SyscallResult {
    return sysUnshare(this, this.caller(tid), flags, opts);
  }
  /** setns(fd, nstype) where the fd names `target.kind` namespace of thread `target.ofTid`. */
  setns(tid: number, target: SetnsTarget, nstype = 0): SyscallResult {
    return sysSetns(this, this.caller(tid), target, nstype);
  }
  /** write(2) of `extents` to /proc/TARGET/uid_map or gid_map by thread `tid`. */
  writeIdMap(tid: number, targetTid: number, kind: 'uid' | 'gid', extents: readonly IdExtent[]): SyscallResult {
    return sysWriteIdMap(this, this.caller(tid), targetTid, kind, extents);
  }
  /** write(2) of "allow"/"deny" to /proc/TARGET/setgroups by thread `tid`. */
  writeSetgroups(tid: number, targetTid: number, value: string): SyscallResult {
    return sysWriteSetgroups(this, this.caller(tid), targetTid, value);
  }
  /** setxattr of security.capability with `value` (the raw bytes). */
  setxattrCaps(tid: number, value: Uint8Array, opts: { fileWritable?: boolean } = {}): SyscallResult {
    return sysSetxattrCaps(this, this.caller(tid), value, opts);
  }
  removexattrCaps(tid: number, opts: { fileWritable?: boolean; present?: boolean } = {}): SyscallResult {
    return sysRemovexattrCaps(this, this.caller(tid), opts);
  }
}

export function createRuntime(opts: RuntimeOptions = {}): Runtime {
  return new Runtime(opts);
}
