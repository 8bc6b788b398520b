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
import type { BadAddress, CapUserData, CapUserHeader } from './result.js';

export type RuntimeCall =
  /** capget: `data` null = the NULL version probe; otherwise a buffer dispatch writes into. */
  | { readonly sys: 'capget'; readonly header: CapUserHeader | BadAddress | null; readonly data: CapUserData | null }
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
  /** execve/execveat: `path` undefined when the file cannot be named (a descriptor-relative execveat). */
  | { readonly sys: 'execve'; readonly name: 'execve' | 'execveat'; readonly path: string | undefined }
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
  /** A successful open of /proc/PID/uid_map or gid_map for writing: a user namespace gets its id mapping. */
  | { readonly sys: 'idmap-open' };

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
