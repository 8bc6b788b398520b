/**
 * The seccomp front end's decoder: a trapped call's registers and the caller's memory → a typed
 * call in the runtime's own terms (user pointers become CapUserHeader / CapUserData / null /
 * BAD_ADDRESS exactly as the strace reader expresses them). It decides nothing: the supervisor
 * (supervisor.ts) gives the call to the runtime and answers.
 *
 * Memory is read once, here, before the supervisor checks that the notification is still valid;
 * nothing read here is trusted for a CONTINUE unless the kernel re-checks it against the real
 * credential (see docs/live.md, "What the kernel still decides").
 */
import type { Listener, Notification } from '../sys/seccomp.js';
import { SYSCALL_NAME_BY_NR, type TrappableSyscall } from '../sys/seccomp.js';
import {
  _LINUX_CAPABILITY_VERSION_1,
  _LINUX_CAPABILITY_VERSION_2,
  _LINUX_CAPABILITY_VERSION_3,
} from '../runtime/abi.js';
import { BAD_ADDRESS, type BadAddress, type CapUserData, type CapUserHeader } from '../runtime/result.js';

export type ULong = number | bigint;

export type LiveCall =
  | {
      name: 'capget' | 'capset';
      hdrAddr: bigint;
      hdr: CapUserHeader | BadAddress | null;
      /** The version as read, to see whether the runtime wrote v3 back. */
      version: number;
      dataAddr: bigint;
      data: CapUserData | BadAddress | null;
    }
  | { name: 'prctl'; option: number; args: [ULong, ULong, ULong, ULong] }
  | { name: 'setuid' | 'setgid' | 'setfsuid' | 'setfsgid'; ids: [number] }
  | { name: 'setreuid' | 'setregid'; ids: [number, number] }
  | { name: 'setresuid' | 'setresgid'; ids: [number, number, number] }
  | { name: 'setgroups'; size: number; list: number[] | BadAddress | null }
  | { name: 'execve' | 'execveat' }
  | { name: 'clone' | 'clone3' | 'fork' | 'vfork' }
  | { name: 'socket'; domain: number; type: number; protocol: number }
  | { name: 'kill'; pid: number; sig: number }
  | { name: 'tgkill'; tgid: number; tid: number; sig: number }
  | { name: 'tkill'; tid: number; sig: number }
  | { name: 'mknod'; mode: number; dev: number }
  | { name: 'chroot' }
  | { name: 'sethostname' | 'setdomainname'; len: number }
  | { name: 'setpriority'; which: number; who: number; nice: number }
  | { name: 'other'; syscall: TrappableSyscall | number };

const u32 = (v: bigint) => Number(v & 0xffffffffn);
const i32 = (v: bigint) => u32(v) | 0;
/** An unsigned long argument: a number when exact, else the bigint. */
const ulong = (v: bigint): ULong => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

// One scratch CapUserData per decoder: capget fills it, the supervisor copies it out.
const capData: CapUserData = { words: new Uint32Array(6) };

function elementsFor(version: number): number {
  if (version === _LINUX_CAPABILITY_VERSION_1) return 1;
  if (version === _LINUX_CAPABILITY_VERSION_2 || version === _LINUX_CAPABILITY_VERSION_3) return 2;
  return 0;
}

function decodeCap(l: Listener, n: Notification, name: 'capget' | 'capset'): LiveCall {
  const hdrAddr = n.args[0]!;
  const dataAddr = n.args[1]!;
  let hdr: CapUserHeader | BadAddress | null = null;
  let version = 0;
  if (hdrAddr !== 0n) {
    const got = l.read(n.pid, hdrAddr, 8);
    if (got < 4) hdr = BAD_ADDRESS;
    else {
      const dv = new DataView(l.mem.buffer, l.mem.byteOffset, 8);
      version = dv.getUint32(0, true);
      hdr = got < 8 ? { version, pid: 0, pidReadable: false } : { version, pid: dv.getInt32(4, true) };
    }
  }
  let data: CapUserData | BadAddress | null = null;
  if (dataAddr !== 0n) {
    if (name === 'capget') {
      capData.words.fill(0);
      capData.accessibleBytes = undefined;
      data = capData;
    } else {
      const elements = elementsFor(version);
      // capset reads the data only after a valid version (copy_from_user of 12 or 24 bytes).
      if (elements === 0) data = { words: new Uint32Array(6) };
      else {
        const bytes = elements * 12;
        const got = l.read(n.pid, dataAddr, bytes);
        if (got < bytes) data = BAD_ADDRESS;
        else {
          const words = new Uint32Array(6);
          const dv = new DataView(l.mem.buffer, l.mem.byteOffset, bytes);
          for (let i = 0; i < elements * 3; i++) words[i] = dv.getUint32(i * 4, true);
          data = { words };
        }
      }
    }
  }
  return { name, hdrAddr, hdr, version, dataAddr, data };
}

function decodeGroups(l: Listener, n: Notification): LiveCall {
  const size = i32(n.args[0]!);
  const addr = n.args[1]!;
  if (size <= 0 || size > 65536) return { name: 'setgroups', size, list: addr === 0n ? null : [] };
  if (addr === 0n) return { name: 'setgroups', size, list: null };
  const list: number[] = [];
  const perRead = l.mem.length >>> 2;
  for (let done = 0; done < size; ) {
    const count = Math.min(perRead, size - done);
    const got = l.read(n.pid, addr + BigInt(done * 4), count * 4);
    const dv = new DataView(l.mem.buffer, l.mem.byteOffset, Math.max(got, 0));
    for (let i = 0; i < got >>> 2; i++) list.push(dv.getUint32(i * 4, true));
    // groups_from_user: a fault part-way is EFAULT for the whole call.
    if (got < count * 4) return { name: 'setgroups', size, list: BAD_ADDRESS };
    done += count;
  }
  return { name: 'setgroups', size, list };
}

/** Decode the notification in `l.notif` (memory read through `l`). */
export function decodeNotification(l: Listener): LiveCall {
  const n = l.notif;
  const a = n.args;
  const name = SYSCALL_NAME_BY_NR.get(n.nr);
  switch (name) {
    case 'capget':
    case 'capset':
      return decodeCap(l, n, name);
    case 'prctl':
      return { name, option: i32(a[0]!), args: [ulong(a[1]!), ulong(a[2]!), ulong(a[3]!), ulong(a[4]!)] };
    case 'setuid':
    case 'setgid':
    case 'setfsuid':
    case 'setfsgid':
      return { name, ids: [u32(a[0]!)] };
    case 'setreuid':
    case 'setregid':
      return { name, ids: [u32(a[0]!), u32(a[1]!)] };
    case 'setresuid':
    case 'setresgid':
      return { name, ids: [u32(a[0]!), u32(a[1]!), u32(a[2]!)] };
    case 'setgroups':
      return decodeGroups(l, n);
    case 'execve':
    case 'execveat':
    case 'clone':
    case 'clone3':
    case 'fork':
    case 'vfork':
    case 'chroot':
      return { name };
    case 'socket':
      return { name, domain: i32(a[0]!), type: i32(a[1]!), protocol: i32(a[2]!) };
    case 'kill':
      return { name, pid: i32(a[0]!), sig: i32(a[1]!) };
    case 'tgkill':
      return { name, tgid: i32(a[0]!), tid: i32(a[1]!), sig: i32(a[2]!) };
    case 'tkill':
      return { name, tid: i32(a[0]!), sig: i32(a[1]!) };
    case 'mknod':
      return { name, mode: u32(a[1]!), dev: u32(a[2]!) };
    case 'mknodat':
      return { name: 'mknod', mode: u32(a[2]!), dev: u32(a[3]!) };
    case 'sethostname':
    case 'setdomainname':
      return { name, len: i32(a[1]!) };
    case 'setpriority':
      return { name, which: i32(a[0]!), who: i32(a[1]!), nice: i32(a[2]!) };
    default:
      return { name: 'other', syscall: name ?? n.nr };
  }
}

/** The number of data bytes capget copies out for a (valid) version. */
export function capDataBytes(version: number): number {
  return elementsFor(version) * 12;
}
