/**
 * Syscall results and user-memory pointers.
 *
 * A result is what libc would report: `ret` (-1 on failure) and `errno` (0 on success). The
 * common results are preallocated and frozen so hot paths (capset, capget, prctl reads) return
 * them without allocating. A result with `unmodelled` set means the model cannot predict the
 * outcome from the inputs it was given (e.g. whether a privileged mount succeeds depends on
 * the device); a replay reports such calls as "not modeled".
 */

export interface SyscallResult {
  readonly ret: number;
  readonly errno: number;
  /** Set when the model cannot predict this call; `ret`/`errno` are then meaningless. */
  readonly unmodelled?: string;
}

const OK_CACHE: SyscallResult[] = [];
for (let i = 0; i < 64; i++) OK_CACHE.push(Object.freeze({ ret: i, errno: 0 }));
const ERR_CACHE: SyscallResult[] = [];
for (let i = 0; i < 134; i++) ERR_CACHE.push(Object.freeze({ ret: -1, errno: i }));

/** Success with return value `ret` (small values come from a frozen cache). */
export function ok(ret = 0): SyscallResult {
  return ret >= 0 && ret < 64 && Number.isInteger(ret) ? OK_CACHE[ret]! : Object.freeze({ ret, errno: 0 });
}

/** Failure: ret -1 and `errno`. */
export function fail(errno: number): SyscallResult {
  return ERR_CACHE[errno] ?? Object.freeze({ ret: -1, errno });
}

export function unmodelled(reason: string): SyscallResult {
  return Object.freeze({ ret: 0, errno: 0, unmodelled: reason });
}

export const OK: SyscallResult = OK_CACHE[0]!;

/**
 * A user pointer that faults on every access (an unmapped or kernel address such as `1`), as
 * opposed to `null`, which is the NULL pointer (some syscalls treat NULL specially, e.g. the
 * capget version probe).
 */
export const BAD_ADDRESS: unique symbol = Symbol('bad address');
export type BadAddress = typeof BAD_ADDRESS;

/**
 * `struct __user_cap_header_struct` in user memory: u32 version @0, s32 pid @4. The model
 * mutates `version` in place when the kernel writes the preferred version back, as the real
 * call does to the caller's memory.
 */
export interface CapUserHeader {
  version: number;
  pid: number;
  /** false: the pid word is unreadable (header at the end of a mapping). Default true. */
  pidReadable?: boolean;
  /** false: the header is read-only, so the version write-back faults. Default true. */
  writable?: boolean;
}

/**
 * `struct __user_cap_data_struct[]` in user memory, as u32 words
 * `[effective0, permitted0, inheritable0, effective1, permitted1, inheritable1]` (element 0 =
 * caps 0..31, element 1 = caps 32..63). capget writes into `words`; capset reads from it.
 */
export interface CapUserData {
  words: Uint32Array | number[];
  /** Bytes accessible from the start of the buffer; default `words.length * 4`. */
  accessibleBytes?: number;
}
