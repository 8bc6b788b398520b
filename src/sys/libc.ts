/**
 * The one libc handle for every OS call capctl makes through koffi (xattrs today; exec,
 * credentials, seccomp and tracefs helpers build on it). Each module in src/sys declares the
 * functions it needs with `libcFunc` and turns failures into OsError values, so the layers above
 * see typed results and errno names, never raw return codes.
 *
 * libc is loaded on first use so that commands which make no OS calls never load koffi.
 */
import type Koffi from 'koffi';
import { EOPNOTSUPP, errnoName } from '../caps/errno.js';
import { CapctlError } from '../caps/errors.js';
import { lazyRequire } from '../util/lazy.js';

export const koffi = lazyRequire<typeof Koffi>('koffi');

/** An OS call that failed: the call's name, its errno and a message a person can act on. */
export class OsError extends CapctlError {
  readonly errno: number;
  readonly errnoName: string;
  readonly syscall: string;
  constructor(syscall: string, errno: number, message: string) {
    super(`os-${errnoNameOf(errno).toLowerCase()}`, message, 'io');
    this.errno = errno;
    this.errnoName = errnoNameOf(errno);
    this.syscall = syscall;
  }
}

export function errnoNameOf(errno: number): string {
  // ENOTSUP and EOPNOTSUPP share 95 on Linux; prefer the name the man pages use for xattrs.
  if (errno === EOPNOTSUPP) return 'ENOTSUP';
  return errnoName(errno);
}

let lib: ReturnType<typeof Koffi.load> | undefined;

/** The loaded libc.so.6; a machine without it is an 'io' error naming what was being done. */
export function libc(): ReturnType<typeof Koffi.load> {
  if (lib) return lib;
  try {
    lib = koffi().load('libc.so.6');
  } catch (err) {
    throw new CapctlError('no-libc', `cannot load libc.so.6: ${(err as Error).message}`, 'io');
  }
  return lib;
}

/**
 * Declare a libc function from its C prototype, bound on first call (so declaring is free).
 * The returned function has koffi's calling convention: plain numbers, strings and Buffers.
 */
export function libcFunc<F extends (...args: never[]) => unknown>(prototype: string): F {
  let fn: F | undefined;
  return ((...args: never[]) => {
    if (fn === undefined) fn = libc().func(prototype) as unknown as F;
    return fn(...args);
  }) as F;
}

/**
 * Declare and bind a libc function now (loading libc if needed): koffi's own function, with no
 * wrapper in between. For hot paths only (the seccomp supervisor's per-notification calls),
 * where `libcFunc`'s rest-arguments trampoline is one more frame per call; elsewhere prefer
 * `libcFunc`, which costs nothing until first used.
 */
export function libcFuncNow<F extends (...args: never[]) => unknown>(prototype: string): F {
  return libc().func(prototype) as unknown as F;
}

/** errno as left by the last koffi call on this thread. */
export function lastErrno(): number {
  return koffi().errno();
}

const strerrorFn = libcFunc<(errnum: number) => string>('const char *strerror(int errnum)');

/** strerror(3) text, as the C tools print it ("No such file or directory"). */
export function strerror(errno: number): string {
  return strerrorFn(errno);
}
