/**
 * One typed call per modelled syscall: what a front end hands to `dispatch` (dispatch.ts).
 *
 * Two front ends decode into this union — the strace reader (recorded calls,
 * strace/decode.ts) and the seccomp supervisor (live calls) — so each kernel rule is written
 * once, in dispatch. A call holds the syscall's inputs as the kernel reads them, already
 * decoded: numbers, decoded structs, `BAD_ADDRESS` for user memory the kernel cannot read,
 * `null` for a NULL pointer. Pid arguments are in the front end's numbering (the trace's pids,
 * or the live pids); the session (dispatch.ts) maps them to runtime tasks.
 *
 * Facts that exist only once the kernel has answered (the child a clone created, the pid a
 * wait reaped, an xattr value read back) are fields of the call where a front end knows them;
 * the kernel's return value itself is passed to dispatch separately as `Observed`.
 */
import type { FileCaps } from '../caps/xattr.js';
import type { ULong } from './prctl.js';
import type { Rlimit, SetnsTarget } from './privileged.js';
import type { BadAddress, CapUserData, CapUserHeader } from './result.js';

export type RuntimeCall =
  /** capget: `data` null = the NULL version probe; otherwise a buffer dispatch writes into. */
  | {
      readonly sys: 'capget';
      readonly header: CapUserHeader | BadAddress | null;
      readonly data: CapUserData | BadAddress | null;
    }
  | {
      readonly sys: 'capset';
      readonly header: CapUserHeader | BadAddress | null;
      readonly data: CapUserData | BadAddress | null;
    }
  /** prctl with a modelled option (isModelledPrctl); unused arguments are 0. */
  | { readonly sys: 'prctl'; readonly option: ULong; readonly args: readonly [ULong, ULong, ULong, ULong] }
  | { readonly sys: 'setuid' | 'setgid' | 'setfsuid' | 'setfsgid'; readonly id: number }
  | { readonly sys: 'setreuid' | 'setregid'; readonly r: number; readonly e: number }
  | { readonly sys: 'setresuid' | 'setresgid'; readonly r: number; readonly e: number; readonly s: number }
  | { readonly sys: 'setgroups'; readonly size: number; readonly list: readonly number[] | BadAddress | null }
  /**
   * execve/execveat: the file as named (`path`, possibly relative), or a descriptor (`fd`:
   * AT_EMPTY_PATH, or the directory a relative execveat name is looked up in). `file`: what a
   * live front end knows of the file the kernel executed (set-id bits, owner, a nosuid mount);
   * a trace does not show it.
   */
  | {
      readonly sys: 'execve';
      readonly name: 'execve' | 'execveat';
      readonly path: string | undefined;
      readonly fd?: number;
      /** The descriptor's path when the front end saw it (strace -y). */
      readonly fdPath?: string;
      readonly file?: { readonly mode: number; readonly uid: number; readonly gid: number; readonly nosuid: boolean };
    }
  /** clone, clone3, fork, vfork: `child` is the new task's pid (front-end numbering), undefined if none was created. */
  | {
      readonly sys: 'clone';
      readonly name: 'clone' | 'clone3' | 'fork' | 'vfork';
      readonly flags: number;
      readonly child: number | undefined;
    }
  /** A thread ended (its exit line, or exit/exit_group seen live). */
  | { readonly sys: 'exit' }
  /** wait4/waitid returned `reaped` (a pid in front-end numbering). */
  | { readonly sys: 'wait'; readonly reaped: number }
  | { readonly sys: 'getpid' | 'gettid' }
  /** getuid/geteuid/getgid/getegid: the answer is the id in the caller's user namespace. */
  | { readonly sys: 'getuid' | 'geteuid' | 'getgid' | 'getegid' }
  /** getresuid/getresgid (three ids written back), getgroups (the list, or its length for size 0). */
  | { readonly sys: 'getresuid' | 'getresgid' }
  | { readonly sys: 'getgroups'; readonly size: number }
  /**
   * setxattr/removexattr of security.capability on `path`, or on descriptor `fd` (the f*
   * variants without the path; both undefined: the file is not known).
   */
  | { readonly sys: 'setxattr-caps'; readonly path?: string; readonly fd?: number; readonly value: Uint8Array }
  | { readonly sys: 'removexattr-caps'; readonly path?: string; readonly fd?: number }
  /** chown family: new owner and group (-1 unchanged) of `path` or descriptor `fd`. */
  | { readonly sys: 'chown'; readonly path?: string; readonly fd?: number; readonly uid: number; readonly gid: number }
  /** A file opened (the descriptor is `Observed.ret`); `write`/`truncate` as in its flags. */
  | {
      readonly sys: 'open';
      readonly path: string;
      readonly write: boolean;
      readonly truncate: boolean;
    }
  | { readonly sys: 'truncate'; readonly path?: string; readonly fd?: number }
  | { readonly sys: 'close'; readonly fd: number }
  /** dup/dup2/dup3/fcntl(F_DUPFD*): the new descriptor is `Observed.ret` (or `to` for dup2/dup3). */
  | { readonly sys: 'dup'; readonly fd: number }
  | { readonly sys: 'chdir'; readonly path: string | undefined; readonly fd?: number }
  /** write(2) to a descriptor: what matters is writes to /proc/PID/{uid_map,gid_map,setgroups}. */
  | {
      readonly sys: 'write';
      readonly fd: number;
      readonly fdPath: string | undefined;
      /** The bytes written, read only when the file matters (undefined: not available). */
      readonly text: () => string | undefined;
    }
  | { readonly sys: 'setpriority'; readonly which: number; readonly who: number; readonly prio: number }
  | { readonly sys: 'settimeofday'; readonly tv: { sec: number; usec: number } | null; readonly tzGiven: boolean }
  | { readonly sys: 'clock_settime'; readonly clock: number; readonly sec: number; readonly nsec: number }
  | { readonly sys: 'adjtimex'; readonly modes: number }
  | { readonly sys: 'mount'; readonly flags: number }
  | { readonly sys: 'umount2'; readonly flags: number }
  /** getxattr of security.capability answered: the file's capabilities (null: ENODATA). */
  | { readonly sys: 'getxattr-caps'; readonly path: string; readonly caps: FileCaps | null }
  | { readonly sys: 'socket'; readonly domain: number; readonly type: number; readonly protocol: number }
  /** bind: `port` of an inet address (undefined: not an inet port); `addrDecoded` false when the address could not be read. */
  | {
      readonly sys: 'bind';
      readonly fd: number | undefined;
      readonly port: number | undefined;
      readonly addrDecoded: boolean;
    }
  | { readonly sys: 'mknod'; readonly mode: number; readonly dev: number }
  | { readonly sys: 'chroot' }
  | { readonly sys: 'kill'; readonly pid: number; readonly sig: number }
  | { readonly sys: 'tgkill'; readonly tgid: number; readonly tid: number; readonly sig: number }
  | { readonly sys: 'sethostname' | 'setdomainname'; readonly len: number; readonly readable: boolean }
  | { readonly sys: 'unshare'; readonly flags: number }
  /**
   * setns(fd, nstype) with a namespace file: `target` names the kind and a task (front-end pid)
   * whose namespace it is; undefined when the front end could not tell (a pidfd, another kind,
   * a namespace of no task it knows). A live front end fills `target` in after decoding.
   */
  | { readonly sys: 'setns'; readonly fd: number; readonly nstype: number; target?: SetnsTarget }
  /** ptrace: `request` and target `pid`; only PTRACE_ATTACH and PTRACE_SEIZE are decided (the others act on a tracee already attached). */
  | { readonly sys: 'ptrace'; readonly request: number; readonly pid: number }
  /**
   * setrlimit, or prlimit64 of process `pid` (0: the caller's; front-end numbering): the new
   * limits (null: none given, BAD_ADDRESS: unreadable) and the current hard limit of `resource`
   * (undefined: not known). Only the caller's own process is modelled.
   */
  | {
      readonly sys: 'setrlimit';
      readonly pid: number;
      readonly resource: number;
      readonly lim: Rlimit | BadAddress | null;
      readonly oldMax: bigint | number | undefined;
    };

export type RuntimeCallName = RuntimeCall['sys'];

/** A call a front end could not turn into a RuntimeCall, and why. */
export interface NotModelled {
  readonly sys: 'not-modelled';
  readonly reason: string;
  /**
   * The call may have changed the caller's credential in a way the front end cannot tell
   * (an ambiguous capset mask): if the kernel accepted it, the caller's sets are unknown.
   */
  readonly taintsCaller?: boolean;
}

export function notModelled(reason: string, taintsCaller?: boolean): NotModelled {
  return taintsCaller ? { sys: 'not-modelled', reason, taintsCaller } : { sys: 'not-modelled', reason };
}

/**
 * The kernel's answer when the front end knows it before the model's state moves on (a
 * replay). Bookkeeping follows it where the model cannot decide: a socket's descriptor number,
 * whether a chroot or unshare really happened, an exec the kernel refused.
 */
export interface Observed {
  /** Return value; undefined when not known (strace's `= ?`). */
  readonly ret: number | undefined;
  /** The call failed (any errno). */
  readonly failed: boolean;
}
