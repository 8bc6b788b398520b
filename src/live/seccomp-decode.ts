/**
 * The seccomp front end's decoder: a trapped call's registers and the caller's memory → the
 * runtime's typed call (src/runtime/call.ts), the same union the strace decoder produces, so
 * both front ends go through one dispatch (src/runtime/dispatch.ts). User pointers become
 * CapUserHeader / CapUserData / null / BAD_ADDRESS exactly as the strace decoder expresses them.
 * It decides nothing.
 *
 * Memory is read once, here, before the supervisor checks that the notification is still valid;
 * nothing read here is trusted for a CONTINUE unless the kernel re-checks it against the real
 * credential (docs/run.md, "What the kernel still decides").
 */
import {
  _LINUX_CAPABILITY_VERSION_1,
  _LINUX_CAPABILITY_VERSION_2,
  _LINUX_CAPABILITY_VERSION_3,
  CLONE_VFORK,
  CLONE_VM,
  SIGCHLD,
} from '../runtime/abi.js';
import { type NotModelled, notModelled, type RuntimeCall } from '../runtime/call.js';
import type { ULong } from '../runtime/prctl.js';
import type { Rlimit } from '../runtime/privileged.js';
import { BAD_ADDRESS, type BadAddress, type CapUserData, type CapUserHeader } from '../runtime/result.js';
import { readLimit } from '../sys/proc.js';
import { type Listener, type Notification, SYSCALL_NAME_BY_NR } from '../sys/seccomp.js';

/** A decoded notification: the call, and where capget/capset's user memory is (for the copy-out). */
export interface LiveCall {
  call: RuntimeCall | NotModelled;
  hdrAddr: bigint;
  dataAddr: bigint;
  /** The header's version as read (0 when unreadable), to see whether the model wrote v3 back. */
  version: number;
}

const u32 = (v: bigint) => Number(v & 0xffffffffn);
const i32 = (v: bigint) => u32(v) | 0;
/** An unsigned long argument: a number when exact, else the bigint. */
const ulong = (v: bigint): ULong => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

function elementsFor(version: number): number {
  if (version === _LINUX_CAPABILITY_VERSION_1) return 1;
  if (version === _LINUX_CAPABILITY_VERSION_2 || version === _LINUX_CAPABILITY_VERSION_3) return 2;
  return 0;
}

/** The number of data bytes capget copies out and capset copies in for a version (0: invalid). */
export function capDataBytes(version: number): number {
  return elementsFor(version) * 12;
}

/** capget's output words, reused: the runtime fills them, the supervisor writes them out. */
const capgetOut: CapUserData = { words: new Uint32Array(6) };

const out: LiveCall = { call: notModelled(''), hdrAddr: 0n, dataAddr: 0n, version: 0 };

function plain(call: RuntimeCall | NotModelled): LiveCall {
  out.call = call;
  out.hdrAddr = 0n;
  out.dataAddr = 0n;
  out.version = 0;
  return out;
}

function decodeCap(l: Listener, n: Notification, sys: 'capget' | 'capset'): LiveCall {
  const hdrAddr = n.arg(0);
  const dataAddr = n.arg(1);
  let header: CapUserHeader | BadAddress | null = null;
  let version = 0;
  if (hdrAddr !== 0n) {
    const got = l.read(n.pid, hdrAddr, 8);
    if (got < 4) header = BAD_ADDRESS;
    else {
      const dv = l.memView;
      version = dv.getUint32(0, true);
      header = got < 8 ? { version, pid: 0, pidReadable: false } : { version, pid: dv.getInt32(4, true) };
    }
  }
  let call: RuntimeCall;
  if (sys === 'capget') {
    // The model writes into capgetOut; the supervisor copies it out (a fault there is EFAULT)
    // before the next notification is decoded.
    let data: CapUserData | null = null;
    if (dataAddr !== 0n) {
      const w = capgetOut.words;
      for (let i = 0; i < 6; i++) w[i] = 0; // nothing of an earlier caller's answer can leak
      data = capgetOut;
    }
    call = { sys, header, data };
  } else {
    let data: CapUserData | BadAddress | null = null;
    if (dataAddr !== 0n) {
      // capset reads the data only after a valid version (copy_from_user of 12 or 24 bytes).
      const bytes = capDataBytes(version);
      const words = new Uint32Array(6);
      if (bytes === 0) data = { words };
      else if (l.read(n.pid, dataAddr, bytes) < bytes) data = BAD_ADDRESS;
      else {
        const dv = l.memView;
        for (let i = 0; i < bytes >>> 2; i++) words[i] = dv.getUint32(i * 4, true);
        data = { words };
      }
    }
    call = { sys, header, data };
  }
  out.call = call;
  out.hdrAddr = hdrAddr;
  out.dataAddr = dataAddr;
  out.version = version;
  return out;
}

function decodeGroups(l: Listener, n: Notification): RuntimeCall {
  const size = i32(n.args[0]!);
  const addr = n.args[1]!;
  if (addr === 0n) return { sys: 'setgroups', size, list: null };
  if (size <= 0 || size > 65536) return { sys: 'setgroups', size, list: [] };
  const list: number[] = [];
  const perRead = l.mem.length >>> 2;
  for (let done = 0; done < size; ) {
    const count = Math.min(perRead, size - done);
    const got = l.read(n.pid, addr + BigInt(done * 4), count * 4);
    const dv = new DataView(l.mem.buffer, l.mem.byteOffset, Math.max(got, 0));
    for (let i = 0; i < got >>> 2; i++) list.push(dv.getUint32(i * 4, true));
    // groups_from_user: a fault part-way is EFAULT for the whole call.
    if (got < count * 4) return { sys: 'setgroups', size, list: BAD_ADDRESS };
    done += count;
  }
  return { sys: 'setgroups', size, list };
}

/** clone flags: a register for clone, the first u64 of struct clone_args for clone3. */
function cloneFlags(l: Listener, n: Notification, name: 'clone' | 'clone3' | 'fork' | 'vfork'): number {
  if (name === 'fork') return SIGCHLD;
  if (name === 'vfork') return CLONE_VM | CLONE_VFORK | SIGCHLD;
  if (name === 'clone') return u32(n.args[0]!);
  return l.read(n.pid, n.args[0]!, 8) === 8 ? new DataView(l.mem.buffer).getUint32(0, true) : 0;
}

/** The last bind's socket address as read (up to sizeof(struct sockaddr_storage)): made by capctl, never re-read. */
export const lastSockaddr = { bytes: new Uint8Array(128), len: 0 };

/**
 * bind(fd, addr, len): the port (network byte order at offset 2). The family that counts is
 * the socket's (the supervisor asks it); the address is copied to `lastSockaddr` for the bind
 * capctl makes itself.
 */
function decodeBind(l: Listener, n: Notification): RuntimeCall | NotModelled {
  const fd = i32(n.args[0]!);
  const len = i32(n.args[2]!);
  // The kernel refuses these before reading anything (move_addr_to_kernel): its answer, no privilege involved.
  if (len < 0 || len > 128) return notModelled('bind: address length out of range');
  if (l.read(n.pid, n.args[1]!, len) < len) return { sys: 'bind', fd, port: undefined, addrDecoded: false };
  lastSockaddr.bytes.set(l.mem.subarray(0, len));
  lastSockaddr.len = len;
  // sin_port and sin6_port are both at offset 2; an inet socket also takes AF_UNSPEC (with
  // INADDR_ANY) as AF_INET, so the address's own family does not decide whether a port counts.
  return { sys: 'bind', fd, port: len >= 4 ? (l.mem[2]! << 8) | l.mem[3]! : undefined, addrDecoded: true };
}

/** Two signed 64-bit words (struct timeval / timespec) from the caller, as numbers. */
function readPair(l: Listener, pid: number, addr: bigint): [number, number] | BadAddress {
  if (addr === 0n || l.read(pid, addr, 16) < 16) return BAD_ADDRESS;
  const dv = new DataView(l.mem.buffer, l.mem.byteOffset, 16);
  return [Number(dv.getBigInt64(0, true)), Number(dv.getBigInt64(8, true))];
}

/**
 * setrlimit(resource, new) and prlimit64(pid, resource, new, old): struct rlimit64 read once
 * (two u64), and the target's current hard limit from /proc/PID/limits.
 */
function decodeRlimit(l: Listener, caller: number, pid: number, resource: number, addr: bigint): RuntimeCall {
  let lim: Rlimit | BadAddress | null = null;
  if (addr !== 0n) {
    if (l.read(caller, addr, 16) < 16) lim = BAD_ADDRESS;
    else {
      const dv = new DataView(l.mem.buffer, l.mem.byteOffset, 16);
      lim = { cur: dv.getBigUint64(0, true), max: dv.getBigUint64(8, true) };
    }
  }
  const now = lim === null || lim === BAD_ADDRESS ? null : readLimit(pid === 0 ? caller : pid, resource);
  return { sys: 'setrlimit', pid, resource, lim, oldMax: now?.hard };
}

/**
 * Decode the notification in `l.notif` (memory read through `l`). The result is reused by the
 * next call: consume it before decoding again.
 */
export function decodeNotification(l: Listener): LiveCall {
  const n = l.notif;
  const name = SYSCALL_NAME_BY_NR.get(n.nr);
  // The hot path first: capget and capset read their two pointers only (n.args makes six BigInts).
  if (name === 'capget' || name === 'capset') return decodeCap(l, n, name);
  const a = n.args;
  switch (name) {
    case 'prctl':
      return plain({ sys: name, option: i32(a[0]!), args: [ulong(a[1]!), ulong(a[2]!), ulong(a[3]!), ulong(a[4]!)] });
    case 'setuid':
    case 'setgid':
    case 'setfsuid':
    case 'setfsgid':
      return plain({ sys: name, id: u32(a[0]!) });
    case 'setreuid':
    case 'setregid':
      return plain({ sys: name, r: u32(a[0]!), e: u32(a[1]!) });
    case 'setresuid':
    case 'setresgid':
      return plain({ sys: name, r: u32(a[0]!), e: u32(a[1]!), s: u32(a[2]!) });
    case 'setgroups':
      return plain(decodeGroups(l, n));
    case 'execve':
    case 'execveat':
      // The file is learnt once the kernel has run the exec (/proc/PID/exe): see the supervisor.
      return plain({ sys: 'execve', name, path: undefined });
    case 'clone':
    case 'clone3':
    case 'fork':
    case 'vfork':
      // The child's pid is the kernel's answer, learnt at the child's first trapped call.
      return plain({ sys: 'clone', name, flags: cloneFlags(l, n, name), child: undefined });
    case 'socket':
      return plain({ sys: name, domain: i32(a[0]!), type: i32(a[1]!), protocol: i32(a[2]!) });
    case 'kill':
      return plain({ sys: name, pid: i32(a[0]!), sig: i32(a[1]!) });
    case 'tgkill':
      return plain({ sys: name, tgid: i32(a[0]!), tid: i32(a[1]!), sig: i32(a[2]!) });
    case 'mknod':
      return plain({ sys: name, mode: u32(a[1]!), dev: u32(a[2]!) });
    case 'mknodat':
      return plain({ sys: 'mknod', mode: u32(a[2]!), dev: u32(a[3]!) });
    case 'chroot':
      return plain({ sys: name });
    case 'sethostname':
    case 'setdomainname':
      // The name's readability is the kernel's last check (after EPERM and EINVAL): it re-reads it.
      return plain({ sys: name, len: i32(a[1]!), readable: true });
    case 'unshare':
      return plain({ sys: name, flags: i32(a[0]!) });
    case 'bind':
      return plain(decodeBind(l, n));
    case 'setpriority':
      return plain({ sys: name, which: i32(a[0]!), who: i32(a[1]!), prio: i32(a[2]!) });
    case 'mount':
      return plain({ sys: name, flags: u32(a[3]!) });
    case 'umount2':
      return plain({ sys: name, flags: i32(a[1]!) });
    case 'ptrace':
      return plain({ sys: name, request: i32(a[0]!), pid: i32(a[1]!) });
    case 'adjtimex':
    case 'clock_adjtime': {
      // struct timex's first word is `modes` (0: read only). Unreadable: -1, decided as a write
      // (CAP_SYS_TIME; the kernel's EFAULT when allowed).
      const addr = name === 'adjtimex' ? a[0]! : a[1]!;
      const modes =
        l.read(n.pid, addr, 4) === 4 ? new DataView(l.mem.buffer, l.mem.byteOffset, 4).getUint32(0, true) : -1;
      return plain({ sys: 'adjtimex', modes });
    }
    case 'setns':
      // Which namespace the fd names is looked up by the supervisor (it knows the supervised tasks).
      return plain({ sys: name, fd: i32(a[0]!), nstype: i32(a[1]!) });
    case 'setrlimit':
      return plain(decodeRlimit(l, n.pid, 0, u32(a[0]!), a[1]!));
    case 'prlimit64':
      return plain(decodeRlimit(l, n.pid, i32(a[0]!), u32(a[1]!), a[2]!));
    case 'settimeofday': {
      // The time's value is re-read by the kernel; only its validity and CAP_SYS_TIME are decided.
      const tv = a[0]! === 0n ? null : readPair(l, n.pid, a[0]!);
      if (tv === BAD_ADDRESS) return plain(notModelled('settimeofday: timeval unreadable'));
      return plain({ sys: name, tv: tv && { sec: tv[0], usec: tv[1] }, tzGiven: a[1]! !== 0n });
    }
    case 'clock_settime': {
      const tp = readPair(l, n.pid, a[1]!);
      if (tp === BAD_ADDRESS) return plain(notModelled('clock_settime: timespec unreadable'));
      return plain({ sys: name, clock: i32(a[0]!), sec: tp[0], nsec: tp[1] });
    }
    default:
      return plain(notModelled(`${name ?? `syscall ${n.nr}`} is not decoded live`));
  }
}
