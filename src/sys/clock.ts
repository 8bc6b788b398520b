/**
 * clock_adjtime(2) for the seccomp supervisor: a read-only adjtimex/clock_adjtime of the
 * supervised program (modes 0) is made by capctl and its answer copied back, instead of being
 * continued, because the kernel would read the modes word again and another thread could turn
 * the read into a clock change after the check.
 */
import { lastErrno, libcFunc } from './libc.js';

/** sizeof(struct __kernel_timex) on x86-64. */
export const TIMEX_SIZE = 208;

const clockAdjtimeFn = libcFunc<(clock: number, tx: Buffer) => number>('int clock_adjtime(int clk, _Inout_ void *tx)');

/** clock_adjtime(clock, tx) on a TIMEX_SIZE buffer; returns the clock state or -errno. */
export function clockAdjtime(clock: number, tx: Buffer): number {
  const r = clockAdjtimeFn(clock, tx);
  return r < 0 ? -lastErrno() : r;
}
