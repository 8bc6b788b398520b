/**
 * The credential system calls a launcher makes before execve(2), and execve itself, through
 * libc (koffi). Each wrapper throws OsError naming the call and its errno; callers decide the
 * order (src/runtime/launch.ts plans it, src/live/exec.ts runs the plan).
 *
 * Threads. Node runs several threads (libuv's pool, V8's workers). Linux credentials are per
 * thread, so which call reaches which thread matters:
 *  - setresuid/setresgid/setgroups go through glibc's wrappers, which broadcast the change to
 *    every thread of the process (the SIGSETXID handshake), as POSIX requires. A raw syscall()
 *    would change only the calling thread and leave the pool threads root.
 *  - prctl (bounding drops, keepcaps, securebits, ambient, no_new_privs) and capset act on the
 *    calling thread only. That is enough: koffi calls run on Node's main thread, the thread
 *    group leader, and execve from it replaces the whole process with a single thread whose
 *    credential is the caller's (de_thread() kills the others first).
 */
import { syscallNumber } from '../caps/syscall-names.js';
import { errnoNameOf, lastErrno, libcFunc, OsError, strerror } from './libc.js';

export { OsError };

const prctlFn = libcFunc<(...args: unknown[]) => number>('int prctl(int option, ...)');
const capsetFn = libcFunc<(hdr: Buffer, data: Buffer) => number>('int capset(void *hdrp, const void *datap)');
const capgetFn = libcFunc<(hdr: Buffer, data: Buffer) => number>('int capget(void *hdrp, _Out_ void *datap)');
const setresuidFn = libcFunc<(r: number, e: number, s: number) => number>(
  'int setresuid(uint32_t ruid, uint32_t euid, uint32_t suid)',
);
const setresgidFn = libcFunc<(r: number, e: number, s: number) => number>(
  'int setresgid(uint32_t rgid, uint32_t egid, uint32_t sgid)',
);
const setgroupsFn = libcFunc<(n: number, list: Uint32Array | null) => number>(
  'int setgroups(size_t size, const uint32_t *list)',
);
const syscall3 = libcFunc<(nr: number, a: number, b: number, c: number) => number>(
  'long syscall(long nr, long a, long b, long c)',
);
const syscallList = libcFunc<(nr: number, n: number, list: Uint32Array | null) => number>(
  'long syscall(long nr, long n, const uint32_t *list)',
);
const chrootFn = libcFunc<(path: string) => number>('int chroot(const char *path)');
const chdirFn = libcFunc<(path: string) => number>('int chdir(const char *path)');
const execveFn = libcFunc<(path: string, argv: (string | null)[], envp: (string | null)[]) => number>(
  'int execve(const char *path, const char **argv, const char **envp)',
);
const fcntlFn = libcFunc<(...args: unknown[]) => number>('int fcntl(int fd, int cmd, ...)');
const signalFn = libcFunc<(sig: number, handler: number) => number>('intptr_t signal(int sig, intptr_t handler)');
const sigprocmaskFn = libcFunc<(how: number, set: Buffer, old: null) => number>(
  'int sigprocmask(int how, const void *set, void *oldset)',
);

function check(call: string, ret: number, what = ''): void {
  if (ret < 0) {
    const e = lastErrno();
    throw new OsError(call, e, `${call}${what ? ` ${what}` : ''}: ${errnoNameOf(e)} (${strerror(e)})`);
  }
}

/** prctl(option, arg2, arg3, 0, 0); returns prctl's (non-negative) result. */
export function prctl(option: number, arg2 = 0, arg3 = 0): number {
  const r = prctlFn(option, 'unsigned long', arg2, 'unsigned long', arg3, 'unsigned long', 0, 'unsigned long', 0);
  check('prctl', r, `(${option}, ${arg2}, ${arg3})`);
  return r;
}

const CAP_V3 = 0x20080522;

/** capset(2) on the calling thread: user data words e, p, i low then high (v3 layout). */
export function capset(words: Uint32Array): void {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32LE(CAP_V3, 0);
  const data = Buffer.alloc(24);
  // struct __user_cap_data_struct { effective, permitted, inheritable } [2]
  for (let half = 0; half < 2; half++) {
    for (let k = 0; k < 3; k++) data.writeUInt32LE(words[half * 3 + k]! >>> 0, (half * 3 + k) * 4);
  }
  check('capset', capsetFn(hdr, data));
}

/** capget(2) of the calling thread, in the same word order as capset(). */
export function capget(): Uint32Array {
  const hdr = Buffer.alloc(8);
  hdr.writeUInt32LE(CAP_V3, 0);
  const data = Buffer.alloc(24);
  check('capget', capgetFn(hdr, data));
  return new Uint32Array([0, 1, 2, 3, 4, 5].map((i) => data.readUInt32LE(i * 4)));
}

export function setresuid(id: number): void {
  check('setresuid', setresuidFn(id, id, id), String(id));
}

export function setresgid(id: number): void {
  check('setresgid', setresgidFn(id, id, id), String(id));
}

export function setgroups(groups: readonly number[]): void {
  check('setgroups', setgroupsFn(groups.length, groups.length ? Uint32Array.from(groups) : null));
}

/** chroot(2) then chdir("/"), so that the working directory is not left outside the root. */
export function chroot(path: string): void {
  check('chroot', chrootFn(path), path);
  check('chdir', chdirFn('/'), '/');
}

/*
 * The calling thread only, as raw syscall(2)s: `capctl run`'s launcher runs under a seccomp
 * filter that traps each of these, and the supervisor models the thread that is about to
 * execve; glibc's broadcast would send the same change from every Node thread.
 */
const SYS_SETGROUPS = syscallNumber('setgroups');
const SYS_SETRESUID = syscallNumber('setresuid');
const SYS_SETRESGID = syscallNumber('setresgid');

export function setresuidSelf(r: number, e: number, s: number): void {
  check('setresuid', syscall3(SYS_SETRESUID, r, e, s), `${r} ${e} ${s}`);
}

export function setresgidSelf(r: number, e: number, s: number): void {
  check('setresgid', syscall3(SYS_SETRESGID, r, e, s), `${r} ${e} ${s}`);
}

export function setgroupsSelf(groups: readonly number[]): void {
  check('setgroups', syscallList(SYS_SETGROUPS, groups.length, groups.length ? Uint32Array.from(groups) : null));
}

/** chroot(2) alone (the launcher changes directory itself). */
export function chrootSelf(path: string): void {
  check('chroot', chrootFn(path), path);
}

const F_GETFD = 1;
const F_SETFD = 2;
const F_GETFL = 3;
const F_SETFL = 4;
const FD_CLOEXEC = 1;
const O_NONBLOCK = 0o4000;
const SIG_SETMASK = 2;
const SIGPIPE = 13;
const SIGXFSZ = 25;
const SIG_DFL = 0;

/**
 * Undo what Node did to the process that the new program would otherwise inherit: Node marks
 * stdin/stdout/stderr close-on-exec (measured: the exec'd program's writes fail with EBADF)
 * and may leave them non-blocking, and it ignores SIGPIPE and SIGXFSZ (ignored signals stay
 * ignored across execve). The signal mask is emptied for the same reason.
 */
export function resetInheritedState(): void {
  for (const fd of [0, 1, 2]) {
    const fdFlags = fcntlFn(fd, F_GETFD);
    if (fdFlags < 0) continue; // not open: nothing to keep
    fcntlFn(fd, F_SETFD, 'int', fdFlags & ~FD_CLOEXEC);
    const fl = fcntlFn(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK) !== 0) fcntlFn(fd, F_SETFL, 'int', fl & ~O_NONBLOCK);
  }
  signalFn(SIGPIPE, SIG_DFL);
  signalFn(SIGXFSZ, SIG_DFL);
  sigprocmaskFn(SIG_SETMASK, Buffer.alloc(128), null);
}

/**
 * execve(2). Returns only on failure, by throwing OsError (ENOENT, EACCES, EPERM when the file's
 * capabilities exceed the bounding set, ...). Node marks its stdio close-on-exec; the program
 * inherits 0..2 and `keepFds` (capctl-oci-runtime passes runc's --preserve-fds range on).
 */
export function execve(
  path: string,
  argv: readonly string[],
  env: readonly string[],
  keepFds: readonly number[] = [],
): never {
  for (const fd of [0, 1, 2, ...keepFds]) fcntlFn(fd, F_SETFD, 'int', 0);
  execveFn(path, [...argv, null], [...env, null]);
  const e = lastErrno();
  throw new OsError('execve', e, `execve ${path} failed with ${errnoNameOf(e)} (${strerror(e)})`);
}
