/**
 * Linux x86-64 ABI constants the runtime models (include/uapi/linux/capability.h, prctl.h,
 * securebits.h, sched.h, socket.h, reboot.h). One place for numbers, as gVisor's
 * pkg/abi/linux does; the syscall code refers to these names only.
 */

/**
 * PID_MAX_LIMIT on 64-bit kernels (include/linux/threads.h: 4 * 1024 * 1024): no pid, in any
 * pid namespace, is larger, whatever /proc/sys/kernel/pid_max says. A bigger one in a trace
 * is a malformed line; on the command line, a bad argument.
 */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;

// --- capget/capset (include/uapi/linux/capability.h) ---
export const _LINUX_CAPABILITY_VERSION_1 = 0x19980330;
export const _LINUX_CAPABILITY_VERSION_2 = 0x20071026;
export const _LINUX_CAPABILITY_VERSION_3 = 0x20080522;
/** u32 words per version: v1 copies 1 data element (3 words), v2/v3 copy 2 (6 words). */
export const _LINUX_CAPABILITY_U32S_1 = 1;
export const _LINUX_CAPABILITY_U32S_3 = 2;

/** Valid capability bits, caps 0..40, as two u32 words (CAP_VALID_MASK). */
export const VALID_LO = 0xffffffff;
export const VALID_HI = 0x1ff;

/**
 * The filesystem set, CAP_FS_MASK plus CAP_LINUX_IMMUTABLE and CAP_MKNOD as cap_drop_fs_set()
 * uses it: CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID, LINUX_IMMUTABLE, MKNOD,
 * MAC_OVERRIDE = 0x1_0800_021f.
 */
export const FS_SET_LO = 0x0800021f;
export const FS_SET_HI = 0x1;

// --- securebits (include/uapi/linux/securebits.h) ---
export const SECURE_NOROOT = 0;
export const SECURE_NOROOT_LOCKED = 1;
export const SECURE_NO_SETUID_FIXUP = 2;
export const SECURE_NO_SETUID_FIXUP_LOCKED = 3;
export const SECURE_KEEP_CAPS = 4;
export const SECURE_KEEP_CAPS_LOCKED = 5;
export const SECURE_NO_CAP_AMBIENT_RAISE = 6;
export const SECURE_NO_CAP_AMBIENT_RAISE_LOCKED = 7;
export const SECURE_EXEC_RESTRICT_FILE = 8;
export const SECURE_EXEC_RESTRICT_FILE_LOCKED = 9;
export const SECURE_EXEC_DENY_INTERACTIVE = 10;
export const SECURE_EXEC_DENY_INTERACTIVE_LOCKED = 11;

export const SECBIT_NOROOT = 1 << SECURE_NOROOT;
export const SECBIT_NOROOT_LOCKED = 1 << SECURE_NOROOT_LOCKED;
export const SECBIT_NO_SETUID_FIXUP = 1 << SECURE_NO_SETUID_FIXUP;
export const SECBIT_NO_SETUID_FIXUP_LOCKED = 1 << SECURE_NO_SETUID_FIXUP_LOCKED;
export const SECBIT_KEEP_CAPS = 1 << SECURE_KEEP_CAPS;
export const SECBIT_KEEP_CAPS_LOCKED = 1 << SECURE_KEEP_CAPS_LOCKED;
export const SECBIT_NO_CAP_AMBIENT_RAISE = 1 << SECURE_NO_CAP_AMBIENT_RAISE;
export const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 1 << SECURE_NO_CAP_AMBIENT_RAISE_LOCKED;
export const SECBIT_EXEC_RESTRICT_FILE = 1 << SECURE_EXEC_RESTRICT_FILE;
export const SECBIT_EXEC_RESTRICT_FILE_LOCKED = 1 << SECURE_EXEC_RESTRICT_FILE_LOCKED;
export const SECBIT_EXEC_DENY_INTERACTIVE = 1 << SECURE_EXEC_DENY_INTERACTIVE;
export const SECBIT_EXEC_DENY_INTERACTIVE_LOCKED = 1 << SECURE_EXEC_DENY_INTERACTIVE_LOCKED;
export const SECURE_ALL_BITS = 0x555;
export const SECURE_ALL_LOCKS = 0xaaa;
/** The EXEC_* bits: settable without CAP_SETPCAP since 6.14 (with their locks: 0xf00). */
export const SECURE_ALL_UNPRIVILEGED = 0x500;

/** Names of the 12 securebits, index = bit number. */
export const SECUREBIT_NAMES = [
  'SECBIT_NOROOT',
  'SECBIT_NOROOT_LOCKED',
  'SECBIT_NO_SETUID_FIXUP',
  'SECBIT_NO_SETUID_FIXUP_LOCKED',
  'SECBIT_KEEP_CAPS',
  'SECBIT_KEEP_CAPS_LOCKED',
  'SECBIT_NO_CAP_AMBIENT_RAISE',
  'SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED',
  'SECBIT_EXEC_RESTRICT_FILE',
  'SECBIT_EXEC_RESTRICT_FILE_LOCKED',
  'SECBIT_EXEC_DENY_INTERACTIVE',
  'SECBIT_EXEC_DENY_INTERACTIVE_LOCKED',
] as const;

// --- prctl options (include/uapi/linux/prctl.h) ---
export const PR_GET_DUMPABLE = 3;
export const PR_SET_DUMPABLE = 4;
export const PR_GET_KEEPCAPS = 7;
export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_GET_SECUREBITS = 27;
export const PR_SET_SECUREBITS = 28;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_GET_NO_NEW_PRIVS = 39;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_IS_SET = 1;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_LOWER = 3;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

export const PRCTL_OPTION_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [PR_GET_DUMPABLE]: 'PR_GET_DUMPABLE',
  [PR_SET_DUMPABLE]: 'PR_SET_DUMPABLE',
  [PR_GET_KEEPCAPS]: 'PR_GET_KEEPCAPS',
  [PR_SET_KEEPCAPS]: 'PR_SET_KEEPCAPS',
  [PR_CAPBSET_READ]: 'PR_CAPBSET_READ',
  [PR_CAPBSET_DROP]: 'PR_CAPBSET_DROP',
  [PR_GET_SECUREBITS]: 'PR_GET_SECUREBITS',
  [PR_SET_SECUREBITS]: 'PR_SET_SECUREBITS',
  [PR_SET_NO_NEW_PRIVS]: 'PR_SET_NO_NEW_PRIVS',
  [PR_GET_NO_NEW_PRIVS]: 'PR_GET_NO_NEW_PRIVS',
  [PR_CAP_AMBIENT]: 'PR_CAP_AMBIENT',
});

// --- clone / unshare flags (include/uapi/linux/sched.h) ---
export const CLONE_VM = 0x00000100;
export const CLONE_FS = 0x00000200;
export const CLONE_FILES = 0x00000400;
export const CLONE_SIGHAND = 0x00000800;
export const CLONE_PIDFD = 0x00001000;
export const CLONE_PTRACE = 0x00002000;
export const CLONE_VFORK = 0x00004000;
export const CLONE_PARENT = 0x00008000;
export const CLONE_THREAD = 0x00010000;
export const CLONE_NEWNS = 0x00020000;
export const CLONE_SYSVSEM = 0x00040000;
export const CLONE_SETTLS = 0x00080000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;

// --- sockets (include/linux/socket.h, net.h, in.h) ---
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_RDM = 4;
export const SOCK_SEQPACKET = 5;
export const SOCK_PACKET = 10;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_IP = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_MAX = 263;

// --- file modes (include/uapi/linux/stat.h) ---
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_IXGRP = 0o010;

// --- signals ---
export const SIGKILL = 9;
export const SIGCHLD = 17;
export const SIGCONT = 18;
/** _NSIG on x86-64: valid signals are 0..64. */
export const NSIG = 64;

// --- reboot (include/uapi/linux/reboot.h) ---
export const LINUX_REBOOT_MAGIC1 = 0xfee1dead;
export const LINUX_REBOOT_MAGIC2 = 672274793;
export const LINUX_REBOOT_MAGIC2A = 85072278;
export const LINUX_REBOOT_MAGIC2B = 369367448;
export const LINUX_REBOOT_MAGIC2C = 537993216;
export const LINUX_REBOOT_CMD_CAD_ON = 0x89abcdef;
export const LINUX_REBOOT_CMD_CAD_OFF = 0x00000000;

// --- misc limits ---
/** NGROUPS_MAX (include/uapi/linux/limits.h). */
export const NGROUPS_MAX = 65536;
/** __NEW_UTS_LEN: sethostname/setdomainname length limit. */
export const NEW_UTS_LEN = 64;
/** uid_t/gid_t value -1: "leave unchanged" for setre*id/setres*id, invalid for setuid/setgid. */
export const ID_UNCHANGED = 0xffffffff;
/** RLIM_NLIMITS and the resources whose limits the model names. */
export const RLIM_NLIMITS = 16;
export const RLIMIT_NOFILE = 7;
export const RLIMIT_MEMLOCK = 8;
/** fs.nr_open default: RLIMIT_NOFILE's hard limit may not exceed it (EPERM). */
export const NR_OPEN_DEFAULT = 1048576;
/** IO_BITMAP_BITS: ioperm covers ports 0..65535. */
export const IO_BITMAP_BITS = 65536;
export const CLOCK_REALTIME = 0;
