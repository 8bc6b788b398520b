/**
 * The calling process's securebits (prctl(PR_GET_SECUREBITS)): not in /proc/PID/status, so a
 * recording asks the kernel directly.
 */
import { lastErrno, libcFunc, OsError, strerror } from './libc.js';

const PR_GET_SECUREBITS = 27;

const prctl = libcFunc<(option: number, a2: number, a3: number, a4: number, a5: number) => number>(
  'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
);

export function getSecurebits(): number {
  const r = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
  if (r < 0) {
    const e = lastErrno();
    throw new OsError('prctl', e, `PR_GET_SECUREBITS: ${strerror(e)}`);
  }
  return r;
}
