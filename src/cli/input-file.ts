/**
 * Small input files a command reads whole (replay --status): a regular file or stdin, never
 * more than a limit. readFileSync on /dev/zero grows without end and on a FIFO with no writer
 * blocks forever; a /proc file reports size 0, so the limit is enforced while reading.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { CapctlError } from '../caps/errors.js';

const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export function readSmallInput(path: string, what: string, maxBytes: number): string {
  let fd: number;
  const stdin = path === '-';
  try {
    fd = stdin ? 0 : openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new CapctlError('io', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, 'io');
  }
  try {
    const st = fstatSync(fd);
    if (!stdin && !st.isFile()) throw new CapctlError('io', `cannot read ${what} ${path}: not a regular file`, 'io');
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (;;) {
      let k: number;
      try {
        k = readSync(fd, buf, n, buf.length - n, null);
      } catch (e) {
        // A non-blocking stdin with nothing written yet: wait for the writer, as cat does.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
          Atomics.wait(PAUSE, 0, 0, 10);
          continue;
        }
        throw new CapctlError('io', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code}`, 'io');
      }
      if (k === 0) break;
      n += k;
      if (n > maxBytes) throw new CapctlError('io', `${what} ${path} is larger than ${maxBytes} bytes`, 'io');
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    if (!stdin) closeSync(fd);
  }
}
