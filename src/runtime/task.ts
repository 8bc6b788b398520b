/**
 * Tasks: processes (thread groups) and their threads. Each thread owns its credential, as in
 * Linux, where task->cred is per-thread and the raw set*id/capset syscalls change only the
 * calling thread.
 */
import { type Credential, INIT_USER_NS, type UserNamespace } from './credential.js';

/**
 * The non-user namespaces a thread lives in (its nsproxy), each reduced to the user namespace
 * that owns it: ns_capable(owner, cap) is what privileged operations on that namespace check.
 */
export interface NamespaceOwners {
  readonly net: UserNamespace;
  readonly uts: UserNamespace;
  readonly mnt: UserNamespace;
  readonly ipc: UserNamespace;
  readonly pid: UserNamespace;
  readonly cgroup: UserNamespace;
  readonly time: UserNamespace;
}

export const INIT_NAMESPACES: NamespaceOwners = Object.freeze({
  net: INIT_USER_NS,
  uts: INIT_USER_NS,
  mnt: INIT_USER_NS,
  ipc: INIT_USER_NS,
  pid: INIT_USER_NS,
  cgroup: INIT_USER_NS,
  time: INIT_USER_NS,
});

/** mm dumpability: SUID_DUMP_DISABLE 0, SUID_DUMP_USER 1, SUID_DUMP_ROOT 2 (fs.suid_dumpable). */
export type Dumpable = 0 | 1 | 2;

export class Process {
  /** Thread-group id (the leader's tid, what getpid() returns). */
  tgid: number;
  /** Parent's tgid (getppid()); 0 for a process spawned without a parent in the model. */
  ppid: number;
  readonly threads = new Set<Thread>();
  /** get_dumpable(mm): reset to fs.suid_dumpable by credential changes and set-id exec. */
  dumpable: Dumpable = 1;
  /** True once every thread has exited; the process stays visible (a zombie) until reaped. */
  zombie = false;
  /** Set when the process is being ptrace()d (a second attach fails with EPERM). */
  tracerTgid = 0;
  constructor(tgid: number, ppid: number) {
    this.tgid = tgid;
    this.ppid = ppid;
  }
}

/** A task's fs_struct (cwd, root, umask): shared by clone(CLONE_FS), counted by users. */
export class FsStruct {
  users = 1;
}

export class Thread {
  tid: number;
  readonly process: Process;
  cred: Credential;
  /** Nice value, -20..19 (per thread in Linux; setpriority(PRIO_PROCESS, tid) sets one thread). */
  nice = 0;
  /** iopl level 0..3 (x86 I/O privilege, per thread). */
  iopl = 0;
  /** The fs_struct; sharing it with another process makes exec "unsafe" (LSM_UNSAFE_SHARE). */
  fs: FsStruct = new FsStruct();
  /** Owners of the thread's namespaces (shared with the parent until unshare()). */
  ns: NamespaceOwners = INIT_NAMESPACES;
  /** Exited but not yet released (a leader waits for its thread group and its parent). */
  exited = false;
  constructor(tid: number, process: Process, cred: Credential) {
    this.tid = tid;
    this.process = process;
    this.cred = cred;
  }
  get tgid(): number {
    return this.process.tgid;
  }
  get isLeader(): boolean {
    return this.tid === this.process.tgid;
  }
}
