/**
 * Symbolic names strace prints for the arguments capctl decodes, as one name -> value table.
 * Values are the x86-64 UAPI numbers (include/uapi/linux/{capability,prctl,securebits}.h,
 * socket.h, sched.h, signal.h). strace prints a known value by name and an unknown one as hex
 * with a comment (`0x29 /* CAP_??? *\/`), so a reader needs the name -> number direction only.
 */
import { CAPABILITIES } from '../../caps/catalog.js';

const PRCTL = {
  PR_SET_PDEATHSIG: 1,
  PR_GET_PDEATHSIG: 2,
  PR_GET_DUMPABLE: 3,
  PR_SET_DUMPABLE: 4,
  PR_GET_KEEPCAPS: 7,
  PR_SET_KEEPCAPS: 8,
  PR_SET_NAME: 15,
  PR_GET_NAME: 16,
  PR_CAPBSET_READ: 23,
  PR_CAPBSET_DROP: 24,
  PR_GET_SECUREBITS: 27,
  PR_SET_SECUREBITS: 28,
  PR_SET_NO_NEW_PRIVS: 38,
  PR_GET_NO_NEW_PRIVS: 39,
  PR_CAP_AMBIENT: 47,
  PR_CAP_AMBIENT_IS_SET: 1,
  PR_CAP_AMBIENT_RAISE: 2,
  PR_CAP_AMBIENT_LOWER: 3,
  PR_CAP_AMBIENT_CLEAR_ALL: 4,
} as const;

/** include/uapi/linux/securebits.h: the bit masks strace's secbits xlat prints. */
const SECBITS = {
  SECBIT_NOROOT: 0x1,
  SECBIT_NOROOT_LOCKED: 0x2,
  SECBIT_NO_SETUID_FIXUP: 0x4,
  SECBIT_NO_SETUID_FIXUP_LOCKED: 0x8,
  SECBIT_KEEP_CAPS: 0x10,
  SECBIT_KEEP_CAPS_LOCKED: 0x20,
  SECBIT_NO_CAP_AMBIENT_RAISE: 0x40,
  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: 0x80,
  SECBIT_EXEC_RESTRICT_FILE: 0x100,
  SECBIT_EXEC_RESTRICT_FILE_LOCKED: 0x200,
  SECBIT_EXEC_DENY_INTERACTIVE: 0x400,
  SECBIT_EXEC_DENY_INTERACTIVE_LOCKED: 0x800,
} as const;

const CAP_VERSIONS = {
  _LINUX_CAPABILITY_VERSION_1: 0x19980330,
  _LINUX_CAPABILITY_VERSION_2: 0x20071026,
  _LINUX_CAPABILITY_VERSION_3: 0x20080522,
} as const;

const SOCKET = {
  AF_UNSPEC: 0,
  AF_UNIX: 1,
  AF_LOCAL: 1,
  AF_INET: 2,
  AF_INET6: 10,
  AF_NETLINK: 16,
  AF_PACKET: 17,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_RDM: 4,
  SOCK_SEQPACKET: 5,
  SOCK_PACKET: 10,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  IPPROTO_IP: 0,
  IPPROTO_ICMP: 1,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_ICMPV6: 58,
  IPPROTO_RAW: 255,
  ETH_P_ALL: 0x0003,
  ETH_P_IP: 0x0800,
  ETH_P_ARP: 0x0806,
  ETH_P_IPV6: 0x86dd,
} as const;

/** File type and mode bits (mknod), include/uapi/linux/stat.h. */
const MODE = {
  S_IFIFO: 0o010000,
  S_IFCHR: 0o020000,
  S_IFDIR: 0o040000,
  S_IFBLK: 0o060000,
  S_IFREG: 0o100000,
  S_IFLNK: 0o120000,
  S_IFSOCK: 0o140000,
  S_ISUID: 0o4000,
  S_ISGID: 0o2000,
  S_ISVTX: 0o1000,
  AT_FDCWD: -100,
} as const;

const CLONE = {
  CLONE_VM: 0x100,
  CLONE_FS: 0x200,
  CLONE_FILES: 0x400,
  CLONE_SIGHAND: 0x800,
  CLONE_PIDFD: 0x1000,
  CLONE_PTRACE: 0x2000,
  CLONE_VFORK: 0x4000,
  CLONE_PARENT: 0x8000,
  CLONE_THREAD: 0x10000,
  CLONE_NEWNS: 0x20000,
  CLONE_SYSVSEM: 0x40000,
  CLONE_SETTLS: 0x80000,
  CLONE_PARENT_SETTID: 0x100000,
  CLONE_CHILD_CLEARTID: 0x200000,
  CLONE_DETACHED: 0x400000,
  CLONE_UNTRACED: 0x800000,
  CLONE_CHILD_SETTID: 0x1000000,
  CLONE_NEWCGROUP: 0x2000000,
  CLONE_NEWUTS: 0x4000000,
  CLONE_NEWIPC: 0x8000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
  CLONE_IO: 0x80000000,
  CLONE_CLEAR_SIGHAND: 0x100000000,
  CLONE_INTO_CGROUP: 0x200000000,
} as const;

/** x86-64 signal numbers (kill's second argument; clone's exit signal). */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;

/** Every symbolic name the value evaluator understands, mapped to its number. */
export const NAMES: ReadonlyMap<string, number> = new Map<string, number>([
  ...CAPABILITIES.map((c) => [c.name, c.number] as [string, number]),
  ...Object.entries(PRCTL),
  ...Object.entries(SECBITS),
  ...Object.entries(CAP_VERSIONS),
  ...Object.entries(SOCKET),
  ...Object.entries(MODE),
  ...Object.entries(CLONE),
  ...Object.entries(SIGNALS),
  ['NULL', 0],
]);

export const CAP_VERSION_1 = CAP_VERSIONS._LINUX_CAPABILITY_VERSION_1;
export const CAP_VERSION_2 = CAP_VERSIONS._LINUX_CAPABILITY_VERSION_2;
export const CAP_VERSION_3 = CAP_VERSIONS._LINUX_CAPABILITY_VERSION_3;
export const CLONE_THREAD = CLONE.CLONE_THREAD;
export const CLONE_NEWUTS = CLONE.CLONE_NEWUTS;
export const CLONE_NEWUSER = CLONE.CLONE_NEWUSER;
export const CLONE_VFORK = CLONE.CLONE_VFORK;
export const CLONE_NEWPID = CLONE.CLONE_NEWPID;
