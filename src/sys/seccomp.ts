/**
 * seccomp user notification, as OS calls (x86_64): a BPF filter built from data, its
 * installation with a listener fd, the listener's ioctls, pidfds and the caller's memory.
 * The layers above see numbers and typed results, never ioctl codes or struct layouts.
 *
 * Hot path: `Listener` keeps one native buffer per struct (koffi.alloc + koffi.view), so a
 * notification round trip allocates no JS objects beyond the id and the pointers it decodes.
 *
 * ioctl(2) and syscall(2) are variadic in C; they are declared here with fixed integer/pointer
 * parameters, which on x86_64 is the same calling convention (no vector registers involved),
 * and lets koffi bind them without per-call type annotations.
 */
import { syscallNumber } from '../caps/syscall-names.js';
import { lastErrno, libcFunc, libcFuncNow, koffi as loadKoffi, OsError, strerror } from './libc.js';

// ---------------------------------------------------------------- ABI constants (x86_64)

export const AUDIT_ARCH_X86_64 = 0xc000003e;
/** x32 syscalls carry this bit in nr with the x86_64 audit arch. */
export const X32_SYSCALL_BIT = 0x40000000;

export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_GET_NOTIF_SIZES = 3;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

export const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;

// _IOWR('!', 0, struct seccomp_notif) etc.: dir << 30 | size << 16 | '!' << 8 | nr.
const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
const SECCOMP_IOCTL_NOTIF_ID_VALID = 0x40082102;
const SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104;
/** Wake the caller on the supervisor's CPU (6.6+): halves the round trip of a notification. */
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;

const SYS_SECCOMP = syscallNumber('seccomp');
const SYS_PIDFD_OPEN = syscallNumber('pidfd_open');
const SYS_PIDFD_GETFD = syscallNumber('pidfd_getfd');

/** The calls capctl can trap. */
const TRAPPABLE = [
  'socket',
  'bind',
  'clone',
  'fork',
  'vfork',
  'execve',
  'kill',
  'ptrace',
  'setuid',
  'setgid',
  'setreuid',
  'setregid',
  'setgroups',
  'setresuid',
  'setresgid',
  'setfsuid',
  'setfsgid',
  'capget',
  'capset',
  'mknod',
  'setpriority',
  'prctl',
  'adjtimex',
  'setrlimit',
  'chroot',
  'settimeofday',
  'mount',
  'umount2',
  'sethostname',
  'setdomainname',
  'tkill',
  'clock_settime',
  'tgkill',
  'mknodat',
  'unshare',
  'prlimit64',
  'clock_adjtime',
  'setns',
  'execveat',
  'clone3',
] as const;

export type TrappableSyscall = (typeof TRAPPABLE)[number];

/** Their x86_64 numbers, from the one syscall table (src/caps/syscalls-x86_64.ts). */
export const X86_64_SYSCALLS: Readonly<Record<TrappableSyscall, number>> = Object.fromEntries(
  TRAPPABLE.map((name) => [name, syscallNumber(name)]),
) as Record<TrappableSyscall, number>;

export const SYSCALL_NAME_BY_NR: ReadonlyMap<number, TrappableSyscall> = new Map(
  TRAPPABLE.map((name) => [X86_64_SYSCALLS[name], name]),
);

// ---------------------------------------------------------------- the BPF program

// Classic BPF opcodes (linux/filter.h).
const BPF_LD_W_ABS = 0x20;
const BPF_JEQ_K = 0x15;
const BPF_JGE_K = 0x35;
const BPF_RET_K = 0x06;
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LO = 16; // args[0], low word (little-endian)

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export interface FilterSpec {
  /** Syscalls handed to the supervisor. */
  trap: readonly TrappableSyscall[];
  /**
   * prctl options (args[0]) handed to the supervisor; other options run in the kernel without
   * a round trip. Only used when 'prctl' is not in `trap`.
   */
  prctlOptions?: readonly number[];
}

/**
 * The filter, instruction by instruction:
 *   1. arch != x86_64 (an int 0x80 call from a 64-bit program) → ENOSYS, and an x32 nr → ENOSYS:
 *      both would reach the kernel under numbers the supervisor does not decode.
 *   2. nr in `trap` → USER_NOTIF.
 *   3. nr == prctl and option in `prctlOptions` → USER_NOTIF (the option is a C int: low word).
 *   4. everything else → ALLOW. Every result depends on nr and arch only except the prctl
 *      branch, so the kernel's action cache (5.11+) lets untrapped calls skip the program.
 */
export function buildFilter(spec: FilterSpec): Buffer {
  const prog: Insn[] = [];
  const ld = (k: number) => prog.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k });
  const ret = (k: number) => prog.push({ code: BPF_RET_K, jt: 0, jf: 0, k });
  const nrs = [...new Set(spec.trap.map((s) => X86_64_SYSCALLS[s]))].sort((a, b) => a - b);
  const opts = spec.trap.includes('prctl') ? [] : [...new Set(spec.prctlOptions ?? [])];
  if (nrs.length + opts.length > 200) throw new Error('seccomp filter: too many trapped calls');
  const ENOSYS = 38;

  ld(OFF_ARCH);
  prog.push({ code: BPF_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 });
  ret(SECCOMP_RET_ERRNO | ENOSYS);
  ld(OFF_NR);
  prog.push({ code: BPF_JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT });
  ret(SECCOMP_RET_ERRNO | ENOSYS);
  // nr list: each JEQ jumps to the shared NOTIF return placed after the list.
  const listStart = prog.length;
  for (const _ of nrs) prog.push({ code: BPF_JEQ_K, jt: 0, jf: 0, k: 0 });
  let prctlStart = -1;
  if (opts.length > 0) {
    prctlStart = prog.length;
    // nr == prctl ? fall through to the option checks : ALLOW
    prog.push({ code: BPF_JEQ_K, jt: 0, jf: 0, k: X86_64_SYSCALLS.prctl });
    ld(OFF_ARG0_LO);
    for (const _ of opts) prog.push({ code: BPF_JEQ_K, jt: 0, jf: 0, k: 0 });
  }
  const allowAt = prog.length;
  ret(SECCOMP_RET_ALLOW);
  const notifAt = prog.length;
  ret(SECCOMP_RET_USER_NOTIF);
  nrs.forEach((nr, i) => {
    const at = listStart + i;
    prog[at] = { code: BPF_JEQ_K, jt: notifAt - at - 1, jf: 0, k: nr };
  });
  if (prctlStart >= 0) {
    prog[prctlStart] = { code: BPF_JEQ_K, jt: 0, jf: allowAt - prctlStart - 1, k: X86_64_SYSCALLS.prctl };
    opts.forEach((o, i) => {
      const at = prctlStart + 2 + i;
      prog[at] = { code: BPF_JEQ_K, jt: notifAt - at - 1, jf: 0, k: o >>> 0 };
    });
  }
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((p, i) => {
    buf.writeUInt16LE(p.code, i * 8);
    buf.writeUInt8(p.jt, i * 8 + 2);
    buf.writeUInt8(p.jf, i * 8 + 3);
    buf.writeUInt32LE(p.k >>> 0, i * 8 + 4);
  });
  return buf;
}

// ---------------------------------------------------------------- libc bindings

type Ptr = unknown;
const syscall3 = libcFunc<(nr: number, a: number, b: number, c: Ptr) => number>(
  'long syscall(long nr, long a, long b, void *c)',
);
const syscall6 = libcFunc<(nr: number, a: number, b: number, c: number, d: number, e: number, f: number) => number>(
  'long syscall(long nr, long a, long b, long c, long d, long e, long f)',
);
const IOCTL_PROTO = 'int ioctl(int fd, unsigned long req, void *arg)';
const PROCESS_VM_READV_PROTO =
  'long process_vm_readv(int pid, void *local, unsigned long liovcnt, void *remote, unsigned long riovcnt, unsigned long flags)';
const PROCESS_VM_WRITEV_PROTO =
  'long process_vm_writev(int pid, void *local, unsigned long liovcnt, void *remote, unsigned long riovcnt, unsigned long flags)';
const closeFn = libcFunc<(fd: number) => number>('int close(int fd)');
const getsockoptFn = libcFunc<(fd: number, level: number, name: number, val: Buffer, len: Buffer) => number>(
  'int getsockopt(int fd, int level, int name, _Out_ void *val, _Inout_ void *len)',
);

function fail(syscall: string, what: string): never {
  const e = lastErrno();
  throw new OsError(syscall, e, `${what}: ${strerror(e)}`);
}

/**
 * Install `filter` on the calling thread with SECCOMP_FILTER_FLAG_NEW_LISTENER; returns the
 * listener fd (close-on-exec). Needs no_new_privs or CAP_SYS_ADMIN.
 */
export function installListenerFilter(filter: Buffer): number {
  const k = loadKoffi();
  const insns = filter.length / 8;
  const prog = k.alloc('uint8_t', filter.length);
  new Uint8Array(k.view(prog, filter.length) as ArrayBuffer).set(filter);
  const fprog = k.alloc('uint8_t', 16);
  const fv = new DataView(k.view(fprog, 16) as ArrayBuffer);
  fv.setUint16(0, insns, true);
  fv.setBigUint64(8, BigInt(k.address(prog) as bigint), true);
  try {
    const fd = syscall3(SYS_SECCOMP, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, fprog);
    if (fd < 0) fail('seccomp', 'seccomp(SET_MODE_FILTER, NEW_LISTENER)');
    return fd;
  } finally {
    k.free(prog);
    k.free(fprog);
  }
}

export function pidfdOpen(pid: number): number {
  const fd = syscall6(SYS_PIDFD_OPEN, pid, 0, 0, 0, 0, 0);
  if (fd < 0) fail('pidfd_open', `pidfd_open(${pid})`);
  return fd;
}

/** A duplicate of fd `targetFd` of the process behind `pidfd` (needs ptrace rights over it). */
export function pidfdGetfd(pidfd: number, targetFd: number): number {
  const fd = syscall6(SYS_PIDFD_GETFD, pidfd, targetFd, 0, 0, 0, 0);
  if (fd < 0) fail('pidfd_getfd', `pidfd_getfd(fd ${targetFd})`);
  return fd;
}

export function closeFd(fd: number): void {
  closeFn(fd);
}

const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SO_DOMAIN = 39;

/** A socket's family and type (SO_DOMAIN, SO_TYPE), or null when `fd` is not a socket. */
export function socketKind(fd: number): { family: number; type: number } | null {
  const v = Buffer.alloc(4);
  const l = Buffer.alloc(4);
  l.writeUInt32LE(4);
  if (getsockoptFn(fd, SOL_SOCKET, SO_DOMAIN, v, l) < 0) return null;
  const family = v.readInt32LE(0);
  l.writeUInt32LE(4);
  if (getsockoptFn(fd, SOL_SOCKET, SO_TYPE, v, l) < 0) return null;
  return { family, type: v.readInt32LE(0) };
}

// ---------------------------------------------------------------- the listener

/** One notification as NOTIF_RECV fills it (struct seccomp_notif). Reused between calls. */
export interface Notification {
  id: bigint;
  /** The caller's tid, in the listener's pid namespace. */
  pid: number;
  nr: number;
  arch: number;
  /** args[0..5] as unsigned 64-bit values (decoded on first use: see `arg`). */
  readonly args: readonly bigint[];
  /** args[i] alone, as an unsigned 64-bit value. */
  arg(i: number): bigint;
}

/**
 * struct seccomp_notif in the listener's native buffer. id, pid, nr and arch are copied out at
 * each receive; the six arguments stay in the buffer until asked for, so a call that needs two
 * of them (capget) makes two BigInts, not six.
 */
class NotificationBuffer implements Notification {
  id = 0n;
  pid = 0;
  nr = 0;
  arch = 0;
  private readonly decoded: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n];
  private fresh = false;
  constructor(private readonly v: DataView) {}

  /** NOTIF_RECV has just filled the buffer. */
  received(): void {
    const v = this.v;
    this.id = v.getBigUint64(0, true);
    this.pid = v.getUint32(8, true);
    this.nr = v.getInt32(16, true);
    this.arch = v.getUint32(20, true);
    this.fresh = false;
  }

  get args(): readonly bigint[] {
    if (!this.fresh) {
      for (let i = 0; i < 6; i++) this.decoded[i] = this.v.getBigUint64(32 + i * 8, true);
      this.fresh = true;
    }
    return this.decoded;
  }

  arg(i: number): bigint {
    return this.v.getBigUint64(32 + i * 8, true);
  }
}

/** Memory transfer buffer size: the largest read a decoder asks for at once. */
export const MEM_MAX = 4096;

type IoctlFn = (fd: number, req: number, arg: Ptr) => number;
type VmFn = (pid: number, l: Ptr, ln: number, r: Ptr, rn: number, f: number) => number;

/**
 * The supervisor's side of a listener fd. Not thread-safe: one receive loop per listener.
 * All buffers are native (koffi.alloc) so ioctls and process_vm_* read and write them in place.
 *
 * Hot path (one notification = receive, read, idValid, write, respond): the libc functions are
 * bound once (no trampoline), struct fields are set through preallocated views, and no BigInt
 * is made beyond the notification id and the pointer arguments a decoder asks for.
 */
export class Listener {
  readonly fd: number;
  readonly notif: Notification;
  /** The last memory read or to be written, MEM_MAX bytes. */
  readonly mem: Uint8Array;
  /** `mem` as a little-endian DataView (decoders read and write words through it). */
  readonly memView: DataView;
  private readonly k = loadKoffi();
  private readonly nb: NotificationBuffer;
  private readonly notifPtr: unknown;
  /** The notification buffer as 20 words: zeroed before each receive (the kernel insists). */
  private readonly notifWords: Uint32Array;
  private readonly respPtr: unknown;
  private readonly respView: DataView;
  private readonly idPtr: unknown;
  private readonly idView: DataView;
  private readonly memPtr: unknown;
  private readonly localIov: unknown;
  private readonly localView: DataView;
  private readonly remoteIov: unknown;
  private readonly remoteView: DataView;
  private readonly ioctl: IoctlFn;
  private readonly vmRead: VmFn;
  private readonly vmWrite: VmFn;

  constructor(fd: number) {
    this.fd = fd;
    const k = this.k;
    const alloc = (n: number) => {
      const p = k.alloc('uint8_t', n);
      return [p, new DataView(k.view(p, n) as ArrayBuffer)] as const;
    };
    let notifView: DataView;
    [this.notifPtr, notifView] = alloc(80);
    this.notifWords = new Uint32Array(notifView.buffer, notifView.byteOffset, 20);
    this.nb = new NotificationBuffer(notifView);
    this.notif = this.nb;
    [this.respPtr, this.respView] = alloc(24);
    [this.idPtr, this.idView] = alloc(8);
    [this.memPtr, this.memView] = alloc(MEM_MAX);
    this.mem = new Uint8Array(this.memView.buffer, this.memView.byteOffset, MEM_MAX);
    [this.localIov, this.localView] = alloc(16);
    [this.remoteIov, this.remoteView] = alloc(16);
    this.localView.setBigUint64(0, BigInt(k.address(this.memPtr) as bigint), true);
    this.ioctl = libcFuncNow<IoctlFn>(IOCTL_PROTO);
    this.vmRead = libcFuncNow<VmFn>(PROCESS_VM_READV_PROTO);
    this.vmWrite = libcFuncNow<VmFn>(PROCESS_VM_WRITEV_PROTO);
  }

  /** Ask the kernel to wake callers on this CPU (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP); false if unsupported. */
  syncWakeup(): boolean {
    return (
      this.ioctl(this.fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP as unknown as Ptr) === 0
    );
  }

  /**
   * Block until a notification arrives; fills `this.notif`. Returns 0, or an errno: ENOENT
   * (the caller died before we read it) and EINTR are for the loop to retry.
   */
  receive(): number {
    const w = this.notifWords;
    for (let i = 0; i < 20; i++) w[i] = 0; // the kernel refuses a non-zeroed struct (EINVAL)
    if (this.ioctl(this.fd, SECCOMP_IOCTL_NOTIF_RECV, this.notifPtr) !== 0) return lastErrno();
    this.nb.received();
    return 0;
  }

  /** Is the notification still pending (its caller alive and waiting)? */
  idValid(id: bigint): boolean {
    this.idView.setBigUint64(0, id, true);
    return this.ioctl(this.fd, SECCOMP_IOCTL_NOTIF_ID_VALID, this.idPtr) === 0;
  }

  /** Answer: `error` 0 and `val` the return value, or `error` a positive errno. Returns 0 or errno. */
  respond(id: bigint, val: number, error: number): number {
    return this.send(id, val, error, 0);
  }

  /** Let the kernel run the call as if never trapped. Returns 0 or errno. */
  continueCall(id: bigint): number {
    return this.send(id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  }

  private send(id: bigint, val: number, error: number, flags: number): number {
    const v = this.respView;
    v.setBigUint64(0, id, true);
    // val as a 64-bit two's complement integer, without a BigInt: low word, then high word.
    v.setUint32(8, val >>> 0, true);
    v.setInt32(12, Math.floor(val / 0x100000000), true);
    v.setInt32(16, error === 0 ? 0 : -error, true);
    v.setUint32(20, flags, true);
    return this.ioctl(this.fd, SECCOMP_IOCTL_NOTIF_SEND, this.respPtr) === 0 ? 0 : lastErrno();
  }

  /**
   * Read `len` (≤ MEM_MAX) bytes at `addr` of thread `tid` into `this.mem`. Returns the number
   * of bytes read (short at an unmapped page) or -1 when nothing was readable.
   */
  read(tid: number, addr: bigint, len: number): number {
    return this.xfer(this.vmRead, tid, addr, len);
  }

  /** Write the first `len` bytes of `this.mem` to `addr` of `tid`; bytes written or -1. */
  write(tid: number, addr: bigint, len: number): number {
    return this.xfer(this.vmWrite, tid, addr, len);
  }

  private xfer(fn: VmFn, tid: number, addr: bigint, len: number): number {
    if (len > MEM_MAX) throw new Error(`memory transfer of ${len} bytes exceeds ${MEM_MAX}`);
    // iov_len: len < 2^32, so the high words stay 0.
    this.localView.setUint32(8, len, true);
    this.localView.setUint32(12, 0, true);
    this.remoteView.setBigUint64(0, addr, true);
    this.remoteView.setUint32(8, len, true);
    this.remoteView.setUint32(12, 0, true);
    const r = fn(tid, this.localIov, 1, this.remoteIov, 1, 0);
    return r < 0 ? -1 : r;
  }

  close(): void {
    closeFn(this.fd);
  }
}
