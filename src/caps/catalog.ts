/**
 * The Linux capability catalog: numbers and names as in include/uapi/linux/capability.h
 * (kernel 6.18), with a one-line meaning each. This table is the single source of truth for
 * capability numbers in capctl; everything else derives from it.
 */
// Did-you-mean distance: fastest-levenshtein (pure, 4 KB, no dependencies) rather than our own DP.
import { distance as levenshtein } from 'fastest-levenshtein';

export const CAP_LAST_CAP = 40;
/** Number of capabilities the modelled kernel knows (cap_last_cap + 1). */
export const CAP_COUNT = CAP_LAST_CAP + 1;

export interface CapabilityInfo {
  readonly number: number;
  /** Kernel name, e.g. `CAP_NET_RAW`. */
  readonly name: string;
  /** libcap's spelling, e.g. `cap_net_raw`. */
  readonly libcapName: string;
  readonly meaning: string;
}

const RAW = [
  ['CHOWN', 'change a file owner or group arbitrarily'],
  ['DAC_OVERRIDE', 'bypass file read, write and execute permission checks'],
  ['DAC_READ_SEARCH', 'bypass file read and directory read/search checks; open_by_handle_at'],
  ['FOWNER', 'pass "caller owns the file" checks (chmod, utimes, sticky-directory delete)'],
  ['FSETID', 'keep set-id bits when a file is modified; set SGID for a non-member group'],
  ['KILL', 'send signals to any process'],
  ['SETGID', 'set arbitrary gids and supplementary groups; write gid_map'],
  ['SETUID', 'set arbitrary uids; write uid_map'],
  ['SETPCAP', 'add bounding-set caps to the inheritable set; drop from bounding; change securebits'],
  ['LINUX_IMMUTABLE', 'set and clear the immutable and append-only inode flags'],
  ['NET_BIND_SERVICE', 'bind sockets to privileged ports (below 1024)'],
  ['NET_BROADCAST', 'socket broadcasting and multicast listening (historical)'],
  ['NET_ADMIN', 'network administration: interfaces, routes, firewall'],
  ['NET_RAW', 'use RAW and PACKET sockets; bind to any address for transparent proxying'],
  ['IPC_LOCK', 'lock memory (mlock, mlockall, SHM_LOCK)'],
  ['IPC_OWNER', 'bypass System V IPC permission checks'],
  ['SYS_MODULE', 'load and unload kernel modules'],
  ['SYS_RAWIO', 'raw I/O: ioperm/iopl, /dev/mem, /proc/kcore'],
  ['SYS_CHROOT', 'chroot; setns into mount namespaces'],
  ['SYS_PTRACE', 'trace and inspect any process (ptrace, process_vm_*, kcmp)'],
  ['SYS_PACCT', 'switch process accounting on and off (acct)'],
  ['SYS_ADMIN', 'catch-all system administration (mount, sethostname, ...)'],
  ['SYS_BOOT', 'reboot and kexec_load'],
  ['SYS_NICE', "raise process priority; real-time scheduling; other processes' nice values"],
  ['SYS_RESOURCE', 'exceed or raise resource limits and quotas'],
  ['SYS_TIME', 'set the system clock and the hardware clock'],
  ['SYS_TTY_CONFIG', 'vhangup and privileged terminal configuration'],
  ['MKNOD', 'create device special files with mknod'],
  ['LEASE', 'take leases on files the caller does not own'],
  ['AUDIT_WRITE', 'write records to the kernel audit log'],
  ['AUDIT_CONTROL', 'configure the audit subsystem'],
  ['SETFCAP', 'set file capabilities (security.capability)'],
  ['MAC_OVERRIDE', 'override mandatory access control (e.g. Smack)'],
  ['MAC_ADMIN', 'change MAC configuration or state'],
  ['SYSLOG', 'privileged syslog operations; see kernel addresses'],
  ['WAKE_ALARM', 'set timers that wake the system (CLOCK_*_ALARM)'],
  ['BLOCK_SUSPEND', 'block system suspend (EPOLLWAKEUP, wake locks)'],
  ['AUDIT_READ', 'read the audit log through a multicast netlink socket'],
  ['PERFMON', 'performance monitoring (perf_event_open and friends)'],
  ['BPF', 'privileged BPF operations'],
  ['CHECKPOINT_RESTORE', 'checkpoint/restore helpers (clone3 set_tid, ns_last_pid, ...)'],
] as const;

export const CAPABILITIES: readonly CapabilityInfo[] = RAW.map(([short, meaning], number) => ({
  number,
  name: `CAP_${short}`,
  libcapName: `cap_${short.toLowerCase()}`,
  meaning,
}));

const byLowerName = new Map<string, number>();
for (const c of CAPABILITIES) {
  byLowerName.set(c.libcapName, c.number);
  byLowerName.set(c.libcapName.slice(4), c.number); // libcap-ng / Docker style without prefix
}

/** Capability number for a name in any case, with or without the `cap_` prefix; else undefined. */
export function capByName(name: string): number | undefined {
  return byLowerName.get(name.toLowerCase());
}

export function capInfo(n: number): CapabilityInfo | undefined {
  return CAPABILITIES[n];
}

/** libcap's name for a capability number; unknown numbers print as the number (as libcap does). */
export function capTextName(n: number): string {
  return CAPABILITIES[n]?.libcapName ?? String(n);
}

/** The closest name among `candidates` (compared in lower case), or undefined if none is near. */
export function closestName(input: string, candidates: Iterable<string>): string | undefined {
  // Edit distance is quadratic: a megabyte of hostile input would stall every lookup, and no
  // misspelling of a short name is that long.
  if (input.length > 64) return undefined;
  const lower = input.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = levenshtein(lower, c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(lower.length / 3)) ? best : undefined;
}

/** Did-you-mean for a capability name, answered in the same style the user wrote. */
export function suggestCapName(input: string): string | undefined {
  const upper = /^[A-Z_0-9]+$/.test(input);
  const bare = !/^cap_/i.test(input);
  const names = CAPABILITIES.map((c) => (bare ? c.libcapName.slice(4) : c.libcapName));
  const hit = closestName(input, names);
  return hit === undefined ? undefined : upper ? hit.toUpperCase() : hit;
}
