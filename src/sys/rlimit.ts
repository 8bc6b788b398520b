/**
 * prlimit(2) on another process, for the seccomp supervisor: a setrlimit/prlimit64 the engine
 * has allowed is made by capctl with the limits it read and decided on, instead of letting the
 * kernel re-read the program's memory (which another thread could change after the check).
 */
import { lastErrno, libcFunc } from './libc.js';

const prlimitFn = libcFunc<(pid: number, resource: number, newLim: Buffer | null, oldLim: Buffer) => number>(
  'int prlimit(int pid, int resource, const void *new_limit, _Out_ void *old_limit)',
);

export interface PrlimitResult {
  /** 0, or the errno prlimit failed with. */
  errno: number;
  /** The limits before the call (struct rlimit64: cur, max), valid when errno is 0. */
  oldCur: bigint;
  oldMax: bigint;
}

/** prlimit(pid, resource, {cur, max}, &old). */
export function prlimit(pid: number, resource: number, cur: bigint, max: bigint): PrlimitResult {
  const nw = Buffer.alloc(16);
  nw.writeBigUInt64LE(BigInt.asUintN(64, cur), 0);
  nw.writeBigUInt64LE(BigInt.asUintN(64, max), 8);
  const old = Buffer.alloc(16);
  const r = prlimitFn(pid, resource, nw, old);
  if (r !== 0) return { errno: lastErrno(), oldCur: 0n, oldMax: 0n };
  return { errno: 0, oldCur: old.readBigUInt64LE(0), oldMax: old.readBigUInt64LE(8) };
}
