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
import { posix } from 'node:path';
import { decodeFileCaps, type FileCaps } from '../caps/xattr.js';
import type { NotModelled, Observed, RuntimeCall } from './call.js';
import { CAP_SYS_TIME } from './caps-const.js';
import type { Credential, IdExtent } from './credential.js';
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
import type { ExecFile } from './exec.js';
import { BAD_ADDRESS, type CapUserHeader, fail, ok, type SyscallResult } from './result.js';
import type { Runtime } from './runtime.js';
import { CLONE_FILES, CLONE_NEWPID, CLONE_NEWUSER, CLONE_THREAD } from './strace/constants.js';

export type Dispatched =
  | {
      readonly kind: 'result';
      readonly result: SyscallResult;
      readonly decides: readonly number[] | null;
      /** Ids the call writes back (getresuid, getresgid, getgroups), for comparison. */
      readonly ids?: readonly number[];
    }
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
  if (result.unmodelled) return notModelledResult(result.unmodelled);
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
const DECIDES_EPERM_EINVAL = [EPERM, EINVAL];
const DECIDES_SETPRIORITY = [EPERM, EACCES, ESRCH, EINVAL];
const DECIDES_EPERM = [EPERM];
const DECIDES_PTRACE = [EPERM, ESRCH];
const PTRACE_ATTACH = 16;
const PTRACE_SEIZE = 0x4206;

/** Calls about bookkeeping that do not depend on the caller's credential. */
const CRED_FREE: ReadonlySet<RuntimeCall['sys']> = new Set<RuntimeCall['sys']>([
  'wait',
  'getxattr-caps',
  'exit',
  'open',
  'close',
  'dup',
  'chdir',
  'truncate',
]);
/** Calls by a task outside the front end's view that are still not worth counting. */
const FEED_ONLY: ReadonlySet<RuntimeCall['sys']> = new Set<RuntimeCall['sys']>([
  'clone',
  'getpid',
  'gettid',
  'getxattr-caps',
  'exit',
  'wait',
  'open',
  'close',
  'dup',
  'chdir',
  'truncate',
  'write',
]);

/** What a recording knows about a file the program executes (src/live/record.ts gathers it). */
export interface FileFacts {
  uid?: number;
  gid?: number;
  /** st_mode (S_ISUID, S_ISGID, S_IXGRP matter). */
  mode?: number;
  /** security.capability, null: none. */
  caps?: FileCaps | null;
  /** The `#!` interpreter when the file is a script: the interpreter's set-id bits and capabilities count. */
  interpreter?: string;
  /** The file's mount is nosuid. */
  nosuid?: boolean;
}

export interface SessionOptions {
  /** File capabilities by path (flags): used when the front end has not seen the file's xattr itself. */
  fileCaps?: ReadonlyMap<string, FileCaps>;
  /** Recorded facts about files, by absolute path. */
  files?: ReadonlyMap<string, FileFacts>;
  /** Working directory the program starts in (relative paths are resolved against it). */
  cwd?: string;
  /** RLIMIT_NICE of the starting process (setpriority). */
  rlimitNice?: number;
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

  /** Recorded file facts, updated as the trace changes owners and xattrs. */
  private readonly files: Map<string, FileFacts>;
  /** Files opened for writing in the trace: a write may have removed their capabilities. */
  private readonly written = new Set<string>();
  /** Working directory per process (runtime tgid); the starting one for processes not listed. */
  private readonly cwds = new Map<number, string>();
  private readonly startCwd: string | undefined;
  /** Descriptor table per process (runtime tgid): fd -> path. */
  private readonly fds = new Map<number, Map<number, string>>();
  /** RLIMIT_NICE's soft limit (a live front end sets it from the target before each setpriority). */
  rlimitNice: number;

  constructor(rt: Runtime, opts: SessionOptions = {}) {
    this.rt = rt;
    this.fileCaps = opts.fileCaps;
    this.files = new Map(opts.files ?? []);
    this.startCwd = opts.cwd;
    this.rlimitNice = opts.rlimitNice ?? 0;
  }

  // ------------------------------------------------------------------ paths and descriptors

  private tgidOf(tid: number): number {
    return this.rt.findThread(tid)?.tgid ?? tid;
  }

  cwdOf(tid: number): string | undefined {
    return this.cwds.get(this.tgidOf(tid)) ?? this.startCwd;
  }

  /** An absolute, normalised path for `p` as `tid` names it; relative paths need a known cwd. */
  resolve(tid: number, p: string): string {
    if (p.charCodeAt(0) === 47 /* / */) return p.includes('/.') || p.includes('//') ? posix.normalize(p) : p;
    const cwd = this.cwdOf(tid);
    return cwd === undefined ? p : posix.join(cwd, p);
  }

  fdPath(tid: number, fd: number): string | undefined {
    return this.fds.get(this.tgidOf(tid))?.get(fd);
  }

  private fdTable(tid: number): Map<number, string> {
    const tgid = this.tgidOf(tid);
    let m = this.fds.get(tgid);
    if (m === undefined) this.fds.set(tgid, (m = new Map()));
    return m;
  }

  /** The file a path-or-descriptor call names, if known. */
  fileOf(tid: number, path: string | undefined, fd: number | undefined): string | undefined {
    if (path !== undefined) return this.resolve(tid, path);
    return fd === undefined ? undefined : this.fdPath(tid, fd);
  }

  facts(path: string): FileFacts | undefined {
    return this.files.get(path);
  }

  private updateFacts(path: string, change: FileFacts): void {
    this.files.set(path, { ...this.files.get(path), ...change });
  }

  /** The file's capabilities were removed (chown, truncate, a write, removexattr). */
  capsRemoved(path: string): void {
    this.rememberFileCaps(path, null);
    this.written.delete(path);
    if (this.files.has(path)) this.updateFacts(path, { caps: null });
  }

  /**
   * What exec needs about `path`: the file itself or, for a `#!` script, its interpreter (the
   * kernel computes the credential from the interpreter, binfmt_script). Capabilities: the
   * trace's own xattr answers, else the flags, else the recording.
   */
  execFile(path: string): ExecFile | string {
    let target = path;
    let f = this.files.get(path);
    if (f?.interpreter !== undefined) {
      target = f.interpreter;
      f = this.files.get(target);
    }
    if (this.written.has(target)) return 'executed file was opened for writing in the trace (capabilities unknown)';
    const seen = this.xattrCaps.get(target);
    const caps = seen !== undefined ? seen : (this.fileCaps?.get(target) ?? f?.caps ?? null);
    return { fileCaps: caps, mode: f?.mode, uid: f?.uid, gid: f?.gid, nosuid: f?.nosuid };
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
    if (!(flags & CLONE_THREAD) && parent) {
      const cwd = this.cwds.get(parent.tgid);
      if (cwd !== undefined) this.cwds.set(child.tgid, cwd);
      const fds = this.fds.get(parent.tgid);
      // CLONE_FILES shares the table; otherwise the child gets a copy.
      if (fds !== undefined) this.fds.set(child.tgid, flags & CLONE_FILES ? fds : new Map(fds));
    }
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
    this.cwds.delete(tid);
    this.fds.delete(tid);
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

  /** Every task whose credential lives in a child user namespace becomes unknown (a map write the model could not read). */
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

  setFd(tid: number, fd: number, path: string): void {
    this.fdTable(tid).set(fd, path);
  }

  closeFd(tid: number, fd: number): void {
    this.fds.get(this.tgidOf(tid))?.delete(fd);
  }

  /** chdir/fchdir succeeded; an unknown target makes relative paths unresolvable for the process. */
  setCwd(tid: number, path: string | undefined): void {
    this.cwds.set(this.tgidOf(tid), path ?? '');
  }

  /** A file opened for writing: a later write() removes its capabilities (file_remove_privs). */
  openedForWriting(path: string): void {
    this.written.add(path);
  }

  /** chown succeeded: new owner, set-id bits cleared unless CAP_FSETID, capabilities removed. */
  chowned(path: string, _cred: Credential, uid: number, gid: number): void {
    const f = this.files.get(path);
    this.capsRemoved(path);
    if (f === undefined) return;
    const change: FileFacts = {};
    if (uid !== -1 && uid >>> 0 !== 0xffffffff) change.uid = uid;
    if (gid !== -1 && gid >>> 0 !== 0xffffffff) change.gid = gid;
    // chown_common() sets ATTR_KILL_SUID/SGID; the set-id bits go unless the caller has
    // CAP_FSETID — which the recording cannot replay for every caller: the mode is unknown then.
    if (f.mode !== undefined && f.mode & 0o6000) change.mode = undefined;
    this.updateFacts(path, change);
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
    case 'getuid':
    case 'geteuid':
    case 'getgid':
    case 'getegid':
      return exact(ok(getId(rt.cred(tid), call.sys)));
    case 'getresuid':
    case 'getresgid': {
      const c = rt.cred(tid);
      const ids =
        call.sys === 'getresuid'
          ? [munged(c, c.ruid, 'uid'), munged(c, c.euid, 'uid'), munged(c, c.suid, 'uid')]
          : [munged(c, c.rgid, 'gid'), munged(c, c.egid, 'gid'), munged(c, c.sgid, 'gid')];
      return { kind: 'result', result: ok(0), decides: null, ids };
    }
    case 'getgroups': {
      const c = rt.cred(tid);
      const n = c.groups.length;
      if (call.size < 0) return exact(fail(EINVAL));
      if (call.size === 0) return exact(ok(n));
      if (call.size < n) return exact(fail(EINVAL));
      return { kind: 'result', result: ok(n), decides: null, ids: c.groups.map((g) => munged(c, g, 'gid')) };
    }
    case 'open': {
      const path = s.resolve(tid, call.path);
      const fd = observed?.ret;
      if (fd !== undefined && fd >= 0) s.setFd(tid, fd, path);
      if (call.truncate) s.capsRemoved(path);
      else if (call.write) s.openedForWriting(path);
      return IGNORED;
    }
    case 'close':
      s.closeFd(tid, call.fd);
      return IGNORED;
    case 'dup': {
      const to = observed?.ret;
      const from = s.fdPath(tid, call.fd);
      if (to !== undefined && to >= 0) {
        if (from !== undefined) s.setFd(tid, to, from);
        else s.closeFd(tid, to);
      }
      return IGNORED;
    }
    case 'chdir': {
      const p =
        call.path !== undefined
          ? s.resolve(tid, call.path)
          : call.fd !== undefined
            ? s.fdPath(tid, call.fd)
            : undefined;
      s.setCwd(tid, p);
      return IGNORED;
    }
    case 'truncate': {
      const p = s.fileOf(tid, call.path, call.fd);
      if (p !== undefined) s.capsRemoved(p);
      return IGNORED;
    }
    case 'write':
      return dispatchWrite(s, tid, call, observed);
    case 'setxattr-caps': {
      const p = rt.setxattrCaps(tid, call.value);
      const path = s.fileOf(tid, call.path, call.fd);
      if (path !== undefined && (observed ? !observed.failed : p.errno === 0 && !p.unmodelled)) {
        let caps: FileCaps | null | undefined;
        try {
          caps = decodeFileCaps(call.value);
        } catch {
          caps = undefined;
        }
        if (caps === undefined) s.openedForWriting(path);
        else s.rememberFileCaps(path, caps);
      }
      return privileged(p, DECIDES_EPERM_EINVAL);
    }
    case 'removexattr-caps': {
      const p = rt.removexattrCaps(tid);
      const path = s.fileOf(tid, call.path, call.fd);
      if (path !== undefined && (observed ? !observed.failed : p.errno === 0)) s.capsRemoved(path);
      return privileged(p, DECIDES_EPERM);
    }
    case 'chown': {
      const path = s.fileOf(tid, call.path, call.fd);
      const f = path === undefined ? undefined : s.facts(path);
      let out: Dispatched;
      const keep = call.uid >>> 0 === 0xffffffff && call.gid >>> 0 === 0xffffffff;
      if (keep) out = privileged(rt.chown(tid, { fileUid: 0, fileGid: 0, uid: -1, gid: -1 }), DECIDES_EPERM_EINVAL);
      else if (f?.uid === undefined || f.gid === undefined)
        out = notModelledResult('chown of a file the recording has no owner for');
      else
        out = privileged(
          rt.chown(tid, { fileUid: f.uid, fileGid: f.gid, uid: call.uid, gid: call.gid }),
          DECIDES_EPERM_EINVAL,
        );
      const succeeded = observed ? !observed.failed : out.kind === 'result' && out.result.errno === 0;
      // notify_change(ATTR_KILL_PRIV): any chown of a non-directory removes security.capability.
      if (path !== undefined && succeeded) s.chowned(path, rt.cred(tid), call.uid, call.gid);
      return out;
    }
    case 'setpriority': {
      if (s.otherPidNs.has(tid) && call.who !== 0) return notModelledResult(PIDNS);
      let who = call.who;
      if (call.which === 0 && who !== 0) {
        const t = s.tidOf(who);
        if (t === undefined) return notModelledResult('setpriority of a pid outside the trace');
        who = t;
      }
      return privileged(
        rt.setpriority(tid, call.which, who, call.prio, { rlimitNice: s.rlimitNice }),
        DECIDES_SETPRIORITY,
      );
    }
    case 'settimeofday':
      return privileged(rt.settimeofday(tid, call.tv, call.tzGiven ? { minuteswest: 0 } : null), DECIDES_EPERM_EINVAL);
    case 'clock_settime':
      return privileged(rt.clockSettime(tid, call.clock, { sec: call.sec, nsec: call.nsec }), DECIDES_EPERM_EINVAL);
    case 'adjtimex': {
      // modes 0 (and ADJ_OFFSET_SS_READ) only read the clock: no capability is checked.
      if (call.modes === 0 || call.modes === 0xa001) return IGNORED;
      const th = rt.caller(tid);
      if (rt.privileged(th, CAP_SYS_TIME, { syscall: 'adjtimex' }, EPERM) !== 0) return exact(fail(EPERM));
      return notModelledResult('adjtimex allowed: its answer is the clock state');
    }
    case 'mount':
      return privileged(rt.mount(tid, { flags: call.flags }), DECIDES_EPERM_EINVAL);
    case 'umount2':
      return privileged(rt.umount2(tid, { flags: call.flags }), DECIDES_EPERM_EINVAL);
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
      let path: string | undefined;
      if (call.fd !== undefined || call.fdPath !== undefined) {
        const dir = call.fdPath ?? (call.fd === undefined ? undefined : s.fdPath(tid, call.fd));
        if (dir !== undefined) path = call.path === undefined ? dir : posix.join(dir, call.path);
      } else if (call.path !== undefined) path = s.resolve(tid, call.path);
      if (path === undefined) return notModelledResult('executed file not known (descriptor without a path)');
      const file = s.execFile(path);
      if (typeof file === 'string') return notModelledResult(file);
      const saved = observed?.failed ? th.cred.clone() : undefined;
      // A live front end knows the executed file's mode, owner and mount; they win over recorded facts.
      const p = rt.execve(tid, call.file ? { ...file, ...call.file } : file);
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
    case 'setns': {
      if (call.target === undefined) return notModelledResult('setns into a namespace of no task in the trace');
      if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
      const of = s.tidOf(call.target.ofTid);
      if (of === undefined) return notModelledResult('setns into a namespace of a task outside the trace');
      if (s.credUnknown(of)) return notModelledResult(UNKNOWN_TARGET);
      return privileged(rt.setns(tid, { kind: call.target.kind, ofTid: of }, call.nstype), DECIDES_EPERM_EINVAL);
    }
    case 'ptrace': {
      if (call.request !== PTRACE_ATTACH && call.request !== PTRACE_SEIZE) return IGNORED;
      if (s.otherPidNs.has(tid)) return notModelledResult(PIDNS);
      const target = call.pid > 0 ? s.tidOf(call.pid) : undefined;
      if (target === undefined) return notModelledResult('ptrace of a pid outside the trace');
      if (s.credUnknown(target)) return notModelledResult(UNKNOWN_TARGET);
      return privileged(rt.ptraceAttach(tid, target), DECIDES_PTRACE);
    }
    case 'setrlimit': {
      // No new limits: a read (getrlimit through prlimit64), nothing to decide.
      if (call.lim === null) return IGNORED;
      if (call.lim === BAD_ADDRESS) return exact(fail(EFAULT));
      if (call.pid !== 0) {
        const target = call.pid > 0 ? s.tidOf(call.pid) : undefined;
        const self = rt.findThread(tid)?.tgid;
        if (target === undefined || rt.findThread(target)?.tgid !== self)
          return notModelledResult('prlimit64 of another process');
      }
      if (call.oldMax === undefined) return notModelledResult('current hard limit not known');
      return privileged(rt.setrlimit(tid, call.resource, call.lim, call.oldMax), DECIDES_EPERM_EINVAL);
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

/** from_kuid_munged(): the id as the caller's user namespace sees it; unmapped reads as 65534. */
function munged(c: Credential, kid: number, kind: 'uid' | 'gid'): number {
  const v = kind === 'uid' ? c.userns.fromKuid(kid) : c.userns.fromKgid(kid);
  return v < 0 ? 65534 : v;
}

function getId(c: Credential, which: 'getuid' | 'geteuid' | 'getgid' | 'getegid'): number {
  switch (which) {
    case 'getuid':
      return munged(c, c.ruid, 'uid');
    case 'geteuid':
      return munged(c, c.euid, 'uid');
    case 'getgid':
      return munged(c, c.rgid, 'gid');
    default:
      return munged(c, c.egid, 'gid');
  }
}

const PROC_IDMAP = /^\/proc\/(\d+|self|thread-self)\/(uid_map|gid_map|setgroups)$/;

/**
 * write(2) to /proc/PID/uid_map, gid_map or setgroups: the user namespace's mapping, judged by
 * map_write()'s rules. Any other write is not the model's business.
 */
function dispatchWrite(
  s: RuntimeSession,
  tid: number,
  call: Extract<RuntimeCall, { sys: 'write' }>,
  observed: Observed | undefined,
): Dispatched {
  const path = call.fdPath ?? s.fdPath(tid, call.fd);
  if (path === undefined) return IGNORED;
  const m = PROC_IDMAP.exec(path);
  if (m === null) return IGNORED;
  const who = m[1]!;
  const target = who === 'self' || who === 'thread-self' ? tid : s.tidOf(Number(who));
  if (target === undefined) {
    s.forgetUserNamespaces();
    return notModelledResult('id map of a pid outside the trace');
  }
  const rt = s.rt;
  const text = call.text();
  if (text === undefined) {
    s.forgetUserNamespaces();
    return notModelledResult('id map text not printed');
  }
  if (m[2] === 'setgroups') {
    const v = text.trim();
    if (v !== 'allow' && v !== 'deny') return notModelledResult('setgroups value not decoded');
    return privileged(rt.writeSetgroups(tid, target, v), DECIDES_EPERM_EINVAL);
  }
  const extents: IdExtent[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const f = t.split(/\s+/).map(Number);
    if (f.length !== 3 || f.some((x) => !Number.isInteger(x))) {
      s.forgetUserNamespaces();
      return notModelledResult('id map text not decoded');
    }
    extents.push([f[0]!, f[1]!, f[2]!]);
  }
  const p = rt.writeIdMap(tid, target, m[2] === 'uid_map' ? 'uid' : 'gid', extents);
  // The kernel refused a map the model accepted: the namespace's ids are no longer known.
  if (p.errno === 0 && observed?.failed) s.forgetUserNamespaces();
  return privileged(p.errno === 0 ? ok(text.length) : p, DECIDES_EPERM_EINVAL);
}
