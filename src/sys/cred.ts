/**
 * Credential system calls on the calling thread, as raw syscall(2)s: glibc's wrappers would
 * broadcast set*id to every thread of the process (Node has several), while the launcher only
 * needs the thread that is about to execve. Failures throw OsError.
 */
import { lastErrno, libcFunc, koffi as loadKoffi, OsError, strerror } from './libc.js';

const syscall3 = libcFunc<(nr: number, a: number, b: number, c: number) => number>(
  'long syscall(long nr, long a, long b, long c)',
);
const syscallPtr = libcFunc<(nr: number, a: number, b: Buffer) => number>('long syscall(long nr, long a, void *b)');
const chrootFn = libcFunc<(path: string) => number>('int chroot(const char *path)');

const SYS_SETRESUID = 117;
const SYS_SETRESGID = 119;
const SYS_SETGROUPS = 116;

function check(r: number, what: string): void {
  if (r >= 0) return;
  const e = lastErrno();
  throw new OsError(what.split('(')[0]!, e, `${what}: ${strerror(e)}`);
}

export function setresuidSelf(r: number, e: number, s: number): void {
  check(syscall3(SYS_SETRESUID, r, e, s), `setresuid(${r}, ${e}, ${s})`);
}

export function setresgidSelf(r: number, e: number, s: number): void {
  check(syscall3(SYS_SETRESGID, r, e, s), `setresgid(${r}, ${e}, ${s})`);
}

export function setgroupsSelf(groups: readonly number[]): void {
  loadKoffi();
  const buf = Buffer.alloc(Math.max(4, groups.length * 4));
  groups.forEach((g, i) => {
    buf.writeUInt32LE(g >>> 0, i * 4);
  });
  check(syscallPtr(SYS_SETGROUPS, groups.length, buf), `setgroups(${groups.length})`);
}

export function chrootSelf(path: string): void {
  check(chrootFn(path), `chroot(${path})`);
}
