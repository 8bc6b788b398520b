/**
 * Which FreeBSD privilege a Linux capability check stands for, per operation. Linux asks
 * capable(CAP_NET_RAW) for a raw socket; the same syscall through the Linuxulator ends in a
 * native kern_* path that calls priv_check(PRIV_NETINET_RAW). This table names that privilege
 * for the operations the runtime reports (`{ syscall, detail }`), so the FreeBSD host checks
 * what the FreeBSD kernel would check rather than every privilege of a broad capability.
 *
 * A rule matches when the syscall is in `syscalls`, the capability is `cap`, and `detail`
 * (a regular expression, tested against the op's detail) matches if given. The first match wins.
 */
import { capByName } from '../caps/catalog.js';
import type { CallerContext } from './caller.js';
import { privByName } from './catalog.js';

export interface OpRuleSpec {
  readonly syscalls: readonly string[];
  readonly cap: string;
  readonly detail?: RegExp;
  readonly priv: string;
  /** The native path the Linuxulator ends in, for the reason chain. */
  readonly path: string;
  /** Caller context derived from the detail (mount's fstype, hostname writes). */
  readonly caller?: (detail: string) => CallerContext;
}

const fstypeOf = (d: string): CallerContext => {
  const m =
    /\b(?:fstype=|type=|-t\s*)?(devfs|fdescfs|fusefs|nullfs|procfs|tmpfs|zfs|linprocfs|linsysfs|lindebugfs|p9fs|[a-z0-9]+fs|proc|sysfs|overlay|ext[234]|xfs|btrfs|nfs)\b/.exec(
      d,
    );
  if (!m) return {};
  // Linux names of the filesystems the Linuxulator mounts under their FreeBSD names.
  const alias: Record<string, string> = { proc: 'linprocfs', sysfs: 'linsysfs', tmpfs: 'tmpfs' };
  return { fstype: alias[m[1]!] ?? m[1]! };
};

export const OP_RULE_SPECS: readonly OpRuleSpec[] = [
  // Networking
  {
    syscalls: ['socket'],
    cap: 'CAP_NET_RAW',
    detail: /AF_INET6?\b.*SOCK_RAW|SOCK_RAW.*AF_INET6?\b/,
    priv: 'PRIV_NETINET_RAW',
    path: 'rip_attach()/rip6_attach()',
  },
  { syscalls: ['socket'], cap: 'CAP_NET_ADMIN', detail: /AF_KEY|PF_KEY/, priv: 'PRIV_NET_RAW', path: 'key_attach()' },
  { syscalls: ['bind'], cap: 'CAP_NET_BIND_SERVICE', priv: 'PRIV_NETINET_RESERVEDPORT', path: 'in_pcbbind_setup()' },
  {
    syscalls: ['setsockopt'],
    cap: 'CAP_NET_RAW',
    detail: /IP_TRANSPARENT|IPV6_TRANSPARENT|IP_BINDANY/,
    priv: 'PRIV_NETINET_BINDANY',
    path: 'ip_ctloutput(IP_BINDANY)',
  },
  {
    syscalls: ['setsockopt'],
    cap: 'CAP_NET_ADMIN',
    detail: /IP_TRANSPARENT|IPV6_TRANSPARENT|IP_BINDANY/,
    priv: 'PRIV_NETINET_BINDANY',
    path: 'ip_ctloutput(IP_BINDANY)',
  },
  {
    syscalls: ['setsockopt'],
    cap: 'CAP_NET_RAW',
    detail: /IPV6_(HOPOPTS|DSTOPTS|RTHDRDSTOPTS)/,
    priv: 'PRIV_NETINET_SETHDROPTS',
    path: 'ip6_setpktopt()',
  },
  {
    syscalls: ['ioctl', 'sendmsg', 'sendto'],
    cap: 'CAP_NET_ADMIN',
    detail: /ROUTE|RTM_/,
    priv: 'PRIV_NET_ROUTE',
    path: 'route_output()',
  },
  { syscalls: ['ioctl'], cap: 'CAP_NET_ADMIN', detail: /SIOCSIFMTU/, priv: 'PRIV_NET_SETIFMTU', path: 'ifhwioctl()' },
  {
    syscalls: ['ioctl'],
    cap: 'CAP_NET_ADMIN',
    detail: /SIOCSIFFLAGS/,
    priv: 'PRIV_NET_SETIFFLAGS',
    path: 'ifhwioctl()',
  },
  { syscalls: ['ioctl'], cap: 'CAP_NET_ADMIN', detail: /SIOCSIFNAME/, priv: 'PRIV_NET_SETIFNAME', path: 'ifhwioctl()' },
  {
    syscalls: ['ioctl'],
    cap: 'CAP_NET_ADMIN',
    detail: /SIOCSIFHWADDR/,
    priv: 'PRIV_NET_SETLLADDR',
    path: 'ifhwioctl()',
  },
  {
    syscalls: ['ioctl'],
    cap: 'CAP_NET_ADMIN',
    detail: /SIOC(ADD|DEL)MULTI/,
    priv: 'PRIV_NET_ADDMULTI',
    path: 'ifioctl()',
  },
  {
    syscalls: ['ioctl'],
    cap: 'CAP_NET_ADMIN',
    detail: /SIOCSIFADDR|SIOCDIFADDR/,
    priv: 'PRIV_NET_ADDIFADDR',
    path: 'in_control()',
  },
  {
    syscalls: ['ioctl', 'socket', 'setsockopt', 'sendmsg', 'sendto'],
    cap: 'CAP_NET_ADMIN',
    priv: 'PRIV_NET_SETIFFLAGS',
    path: 'ifioctl() (generic interface configuration)',
  },
  // Files
  {
    syscalls: ['mknod', 'mknodat'],
    cap: 'CAP_MKNOD',
    detail: /S_IFWHT/,
    priv: 'PRIV_VFS_MKNOD_WHT',
    path: 'kern_mknodat()',
  },
  { syscalls: ['mknod', 'mknodat'], cap: 'CAP_MKNOD', priv: 'PRIV_VFS_MKNOD_DEV', path: 'kern_mknodat()' },
  {
    syscalls: ['chown', 'fchown', 'lchown', 'fchownat'],
    cap: 'CAP_CHOWN',
    priv: 'PRIV_VFS_CHOWN',
    path: 'ufs_chown()',
  },
  {
    syscalls: ['open', 'openat', 'openat2', 'creat', 'execve', 'execveat', 'access', 'faccessat', 'faccessat2'],
    cap: 'CAP_DAC_OVERRIDE',
    detail: /W_OK|O_WRONLY|O_RDWR|write/,
    priv: 'PRIV_VFS_WRITE',
    path: 'vaccess()',
  },
  { syscalls: ['execve', 'execveat'], cap: 'CAP_DAC_OVERRIDE', priv: 'PRIV_VFS_EXEC', path: 'vaccess()' },
  {
    syscalls: [
      'open',
      'openat',
      'openat2',
      'creat',
      'access',
      'faccessat',
      'faccessat2',
      'stat',
      'lstat',
      'newfstatat',
      'statx',
    ],
    cap: 'CAP_DAC_OVERRIDE',
    detail: /search|lookup|X_OK/,
    priv: 'PRIV_VFS_LOOKUP',
    path: 'vaccess() (directory search)',
  },
  {
    syscalls: ['open', 'openat', 'openat2', 'creat', 'access', 'faccessat', 'faccessat2', 'getdents', 'getdents64'],
    cap: 'CAP_DAC_OVERRIDE',
    priv: 'PRIV_VFS_READ',
    path: 'vaccess()',
  },
  {
    syscalls: [
      'open',
      'openat',
      'openat2',
      'stat',
      'lstat',
      'newfstatat',
      'statx',
      'access',
      'faccessat',
      'faccessat2',
      'chdir',
    ],
    cap: 'CAP_DAC_READ_SEARCH',
    detail: /search|lookup|X_OK/,
    priv: 'PRIV_VFS_LOOKUP',
    path: 'vaccess() (directory search)',
  },
  { syscalls: ['open_by_handle_at'], cap: 'CAP_DAC_READ_SEARCH', priv: 'PRIV_VFS_FHOPEN', path: 'kern_fhopen()' },
  {
    syscalls: ['open', 'openat', 'openat2', 'getdents', 'getdents64', 'access', 'faccessat', 'faccessat2'],
    cap: 'CAP_DAC_READ_SEARCH',
    priv: 'PRIV_VFS_READ',
    path: 'vaccess()',
  },
  { syscalls: ['chmod', 'fchmod', 'fchmodat'], cap: 'CAP_FSETID', priv: 'PRIV_VFS_SETGID', path: 'ufs_chmod()' },
  {
    syscalls: ['write', 'pwrite64', 'truncate', 'ftruncate', 'chown', 'fchown', 'lchown', 'fchownat'],
    cap: 'CAP_FSETID',
    priv: 'PRIV_VFS_RETAINSUGID',
    path: 'ufs_write()/ufs_chown()',
  },
  { syscalls: ['link', 'linkat'], cap: 'CAP_FOWNER', priv: 'PRIV_VFS_LINK', path: 'kern_linkat() hardlink_check_uid' },
  {
    syscalls: [
      'chmod',
      'fchmod',
      'fchmodat',
      'utime',
      'utimes',
      'utimensat',
      'futimesat',
      'setxattr',
      'lsetxattr',
      'fsetxattr',
      'unlink',
      'unlinkat',
      'rename',
      'renameat',
      'renameat2',
      'rmdir',
      'ioctl',
    ],
    cap: 'CAP_FOWNER',
    priv: 'PRIV_VFS_ADMIN',
    path: 'vaccess(VADMIN)',
  },
  {
    syscalls: ['ioctl', 'chattr'],
    cap: 'CAP_LINUX_IMMUTABLE',
    priv: 'PRIV_VFS_SYSFLAGS',
    path: 'ufs_setattr() system flags',
  },
  {
    syscalls: ['setxattr', 'lsetxattr', 'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr'],
    cap: 'CAP_SYS_ADMIN',
    priv: 'PRIV_VFS_EXTATTR_SYSTEM',
    path: 'extattr_check_cred(EXTATTR_NAMESPACE_SYSTEM)',
  },
  {
    syscalls: ['setxattr', 'lsetxattr', 'fsetxattr', 'removexattr', 'lremovexattr', 'fremovexattr'],
    cap: 'CAP_SETFCAP',
    priv: 'PRIV_VFS_EXTATTR_SYSTEM',
    path: 'extattr_check_cred(EXTATTR_NAMESPACE_SYSTEM)',
  },
  { syscalls: ['chroot'], cap: 'CAP_SYS_CHROOT', priv: 'PRIV_VFS_CHROOT', path: 'sys_chroot()' },
  {
    syscalls: ['mount', 'fsmount', 'fsopen', 'move_mount', 'mount_setattr'],
    cap: 'CAP_SYS_ADMIN',
    priv: 'PRIV_VFS_MOUNT',
    path: 'vfs_domount()',
    caller: fstypeOf,
  },
  { syscalls: ['umount', 'umount2'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_VFS_UNMOUNT', path: 'kern_unmount()' },
  { syscalls: ['swapon'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_SWAPON', path: 'sys_swapon()' },
  { syscalls: ['swapoff'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_SWAPOFF', path: 'sys_swapoff()' },
  { syscalls: ['quotactl', 'quotactl_fd'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_VFS_SETQUOTA', path: 'ufs quotactl' },
  // Credentials and processes
  { syscalls: ['setuid', 'setuid32'], cap: 'CAP_SETUID', priv: 'PRIV_CRED_SETUID', path: 'sys_setuid()' },
  { syscalls: ['setreuid', 'setreuid32'], cap: 'CAP_SETUID', priv: 'PRIV_CRED_SETREUID', path: 'sys_setreuid()' },
  { syscalls: ['setresuid', 'setresuid32'], cap: 'CAP_SETUID', priv: 'PRIV_CRED_SETRESUID', path: 'sys_setresuid()' },
  {
    syscalls: ['setfsuid', 'setfsuid32'],
    cap: 'CAP_SETUID',
    priv: 'PRIV_CRED_SETEUID',
    path: 'linux_setfsuid() -> seteuid',
  },
  { syscalls: ['setgid', 'setgid32'], cap: 'CAP_SETGID', priv: 'PRIV_CRED_SETGID', path: 'sys_setgid()' },
  { syscalls: ['setregid', 'setregid32'], cap: 'CAP_SETGID', priv: 'PRIV_CRED_SETREGID', path: 'sys_setregid()' },
  { syscalls: ['setresgid', 'setresgid32'], cap: 'CAP_SETGID', priv: 'PRIV_CRED_SETRESGID', path: 'sys_setresgid()' },
  {
    syscalls: ['setfsgid', 'setfsgid32'],
    cap: 'CAP_SETGID',
    priv: 'PRIV_CRED_SETEGID',
    path: 'linux_setfsgid() -> setegid',
  },
  { syscalls: ['setgroups', 'setgroups32'], cap: 'CAP_SETGID', priv: 'PRIV_CRED_SETGROUPS', path: 'linux_setgroups()' },
  {
    syscalls: ['kill', 'tkill', 'tgkill', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'pidfd_send_signal'],
    cap: 'CAP_KILL',
    priv: 'PRIV_SIGNAL_DIFFCRED',
    path: 'cr_cansignal()',
  },
  {
    syscalls: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp', 'pidfd_getfd'],
    cap: 'CAP_SYS_PTRACE',
    priv: 'PRIV_DEBUG_DIFFCRED',
    path: 'p_candebug()',
  },
  { syscalls: ['setpriority', 'nice'], cap: 'CAP_SYS_NICE', priv: 'PRIV_SCHED_SETPRIORITY', path: 'donice()' },
  {
    syscalls: ['sched_setscheduler', 'sched_setparam', 'sched_setattr'],
    cap: 'CAP_SYS_NICE',
    priv: 'PRIV_SCHED_SET',
    path: 'kern_sched_setscheduler()',
  },
  {
    syscalls: ['sched_setaffinity'],
    cap: 'CAP_SYS_NICE',
    priv: 'PRIV_SCHED_CPUSET',
    path: 'kern_cpuset_setaffinity()',
  },
  {
    syscalls: ['setrlimit', 'prlimit64'],
    cap: 'CAP_SYS_RESOURCE',
    priv: 'PRIV_PROC_SETRLIMIT',
    path: 'kern_proc_setrlimit()',
  },
  {
    syscalls: ['fork', 'vfork', 'clone', 'clone3'],
    cap: 'CAP_SYS_RESOURCE',
    priv: 'PRIV_PROC_LIMIT',
    path: 'fork1() RLIMIT_NPROC',
  },
  {
    syscalls: ['fork', 'vfork', 'clone', 'clone3'],
    cap: 'CAP_SYS_ADMIN',
    detail: /NPROC|RLIMIT/,
    priv: 'PRIV_PROC_LIMIT',
    path: 'fork1() RLIMIT_NPROC',
  },
  {
    syscalls: ['clone', 'clone3', 'unshare'],
    cap: 'CAP_SYS_ADMIN',
    priv: 'PRIV_JAIL_SET',
    path: 'kern_jail_set() (new namespace ~ child jail)',
  },
  { syscalls: ['setns'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_JAIL_ATTACH', path: 'kern_jail_attach()' },
  { syscalls: ['setns'], cap: 'CAP_SYS_CHROOT', priv: 'PRIV_JAIL_ATTACH', path: 'kern_jail_attach()' },
  {
    syscalls: ['mlock', 'mlock2', 'mlockall', 'shmctl', 'mmap'],
    cap: 'CAP_IPC_LOCK',
    priv: 'PRIV_VM_MLOCK',
    path: 'kern_mlock()',
  },
  { syscalls: ['msgctl'], cap: 'CAP_SYS_RESOURCE', priv: 'PRIV_IPC_MSGSIZE', path: 'kern_msgctl(IPC_SET)' },
  { syscalls: ['msgctl', 'semctl', 'shmctl'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_IPC_ADMIN', path: 'ipcperm(IPC_M)' },
  {
    syscalls: ['msgrcv', 'msgsnd', 'semop', 'semtimedop', 'shmat', 'msgctl', 'semctl', 'shmctl'],
    cap: 'CAP_IPC_OWNER',
    detail: /IPC_W\b|write|msgsnd|semop/,
    priv: 'PRIV_IPC_WRITE',
    path: 'ipcperm(IPC_W)',
  },
  {
    syscalls: ['msgrcv', 'msgsnd', 'semop', 'semtimedop', 'shmat', 'msgctl', 'semctl', 'shmctl'],
    cap: 'CAP_IPC_OWNER',
    priv: 'PRIV_IPC_READ',
    path: 'ipcperm(IPC_R)',
  },
  // System
  {
    syscalls: ['sethostname', 'setdomainname'],
    cap: 'CAP_SYS_ADMIN',
    priv: 'PRIV_SYSCTL_WRITEJAIL',
    path: 'sysctl kern.hostname',
    caller: () => ({ hostname: true }),
  },
  { syscalls: ['settimeofday', 'stime'], cap: 'CAP_SYS_TIME', priv: 'PRIV_SETTIMEOFDAY', path: 'kern_settimeofday()' },
  { syscalls: ['clock_settime'], cap: 'CAP_SYS_TIME', priv: 'PRIV_CLOCK_SETTIME', path: 'kern_clock_settime()' },
  { syscalls: ['adjtimex', 'clock_adjtime'], cap: 'CAP_SYS_TIME', priv: 'PRIV_NTP_ADJTIME', path: 'sys_ntp_adjtime()' },
  { syscalls: ['reboot'], cap: 'CAP_SYS_BOOT', priv: 'PRIV_REBOOT', path: 'linux_reboot() priv_check(PRIV_REBOOT)' },
  { syscalls: ['init_module', 'finit_module'], cap: 'CAP_SYS_MODULE', priv: 'PRIV_KLD_LOAD', path: 'kern_kldload()' },
  { syscalls: ['delete_module'], cap: 'CAP_SYS_MODULE', priv: 'PRIV_KLD_UNLOAD', path: 'kern_kldunload()' },
  { syscalls: ['iopl', 'ioperm'], cap: 'CAP_SYS_RAWIO', priv: 'PRIV_IO', path: 'iopl/ioperm (i386_set_ioperm)' },
  {
    syscalls: ['open', 'openat'],
    cap: 'CAP_SYS_RAWIO',
    detail: /\/dev\/(k?mem|port)/,
    priv: 'PRIV_KMEM_WRITE',
    path: 'memopen()',
  },
  { syscalls: ['acct'], cap: 'CAP_SYS_PACCT', priv: 'PRIV_ACCT', path: 'sys_acct()' },
  { syscalls: ['syslog'], cap: 'CAP_SYSLOG', priv: 'PRIV_MSGBUF', path: 'sysctl kern.msgbuf' },
  { syscalls: ['syslog'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_MSGBUF', path: 'sysctl kern.msgbuf' },
  { syscalls: ['perf_event_open'], cap: 'CAP_PERFMON', priv: 'PRIV_PMC_SYSTEM', path: 'hwpmc system-mode PMC' },
  { syscalls: ['perf_event_open'], cap: 'CAP_SYS_ADMIN', priv: 'PRIV_PMC_SYSTEM', path: 'hwpmc system-mode PMC' },
  { syscalls: ['ioctl'], cap: 'CAP_SYS_TTY_CONFIG', priv: 'PRIV_KEYBOARD', path: 'kbd ioctls' },
  {
    syscalls: ['ioctl'],
    cap: 'CAP_SYS_ADMIN',
    detail: /TIOCSTI/,
    priv: 'PRIV_TTY_STI',
    path: 'tty_generic_ioctl(TIOCSTI)',
  },
  {
    syscalls: ['ioctl'],
    cap: 'CAP_SYS_ADMIN',
    detail: /TIOCCONS/,
    priv: 'PRIV_TTY_CONSOLE',
    path: 'tty_generic_ioctl(TIOCCONS)',
  },
];

/**
 * Operations the Linuxulator cannot perform at all, whatever the privileges: the host answers
 * them with the errno the Linuxulator returns (stage 'linuxulator') instead of a privilege.
 */
export const UNSUPPORTED_OPS: readonly {
  syscalls: readonly string[];
  detail: RegExp;
  errno: number;
  reason: string;
}[] = [
  {
    syscalls: ['socket'],
    detail: /AF_PACKET|PF_PACKET/,
    errno: 97, // EAFNOSUPPORT
    reason: 'the Linuxulator has no AF_PACKET sockets (linux_to_bsd_domain() knows no such family): EAFNOSUPPORT',
  },
];

export function unsupportedOp(syscall: string, detail: string | undefined) {
  for (const u of UNSUPPORTED_OPS) if (u.syscalls.includes(syscall) && u.detail.test(detail ?? '')) return u;
  return undefined;
}

export interface OpRule {
  readonly syscalls: ReadonlySet<string>;
  readonly cap: number;
  readonly detail: RegExp | undefined;
  readonly priv: number;
  readonly privName: string;
  readonly path: string;
  readonly caller: ((detail: string) => CallerContext) | undefined;
}

export const OP_RULES: readonly OpRule[] = OP_RULE_SPECS.map((s) => {
  const cap = capByName(s.cap);
  const p = privByName(s.priv);
  if (cap === undefined || !p) throw new Error(`ops.ts: bad rule ${s.cap} -> ${s.priv}`);
  return {
    syscalls: new Set(s.syscalls),
    cap,
    detail: s.detail,
    priv: p.number,
    privName: p.name,
    path: s.path,
    caller: s.caller,
  };
});

/** The rule for (syscall, cap, detail), or undefined when no operation rule applies. */
export function opRuleFor(syscall: string, cap: number, detail: string | undefined): OpRule | undefined {
  for (const r of OP_RULES) {
    if (r.cap !== cap || !r.syscalls.has(syscall)) continue;
    if (r.detail && !r.detail.test(detail ?? '')) continue;
    return r;
  }
  return undefined;
}
