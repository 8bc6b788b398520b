/**
 * Privileged operations: each names the capability Linux checks, asks the host through
 * Runtime.privileged() (contract 1, reported as a decision, contract 2), and returns the errno
 * the kernel returns in the kernel's order. Only the checks that depend on credentials (and on
 * the inputs named in each signature) are modelled; the path lookup, the file system and the
 * network stack are assumed to succeed unless an input says otherwise. Where the outcome of an
 * allowed call depends on something the model does not know (whether a mount succeeds), the
 * result is `unmodelled`.
 */

import {
  AF_INET,
  AF_INET6,
  AF_PACKET,
  AF_UNIX,
  CLOCK_REALTIME,
  CLONE_FILES,
  CLONE_FS,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWTIME,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
  CLONE_SIGHAND,
  CLONE_SYSVSEM,
  CLONE_THREAD,
  CLONE_VM,
  IO_BITMAP_BITS,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_MAX,
  IPPROTO_TCP,
  IPPROTO_UDP,
  LINUX_REBOOT_CMD_CAD_OFF,
  LINUX_REBOOT_CMD_CAD_ON,
  LINUX_REBOOT_MAGIC1,
  LINUX_REBOOT_MAGIC2,
  LINUX_REBOOT_MAGIC2A,
  LINUX_REBOOT_MAGIC2B,
  LINUX_REBOOT_MAGIC2C,
  NEW_UTS_LEN,
  NSIG,
  RLIM_NLIMITS,
  RLIMIT_NOFILE,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
  SIGCONT,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_PACKET,
  SOCK_RAW,
  SOCK_RDM,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOCK_TYPE_MASK,
  VALID_HI,
  VALID_LO,
} from './abi.js';
import {
  CAP_CHOWN,
  CAP_IPC_LOCK,
  CAP_KILL,
  CAP_MKNOD,
  CAP_NET_BIND_SERVICE,
  CAP_NET_RAW,
  CAP_SETFCAP,
  CAP_SETGID,
  CAP_SETUID,
  CAP_SYS_ADMIN,
  CAP_SYS_BOOT,
  CAP_SYS_CHROOT,
  CAP_SYS_NICE,
  CAP_SYS_PACCT,
  CAP_SYS_PTRACE,
  CAP_SYS_RAWIO,
  CAP_SYS_RESOURCE,
  CAP_SYS_TIME,
} from './caps-const.js';
import { type Credential, type IdExtent, UserNamespace } from './credential.js';
import {
  EACCES,
  EAFNOSUPPORT,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSYS,
  EPERM,
  EPROTONOSUPPORT,
  ESOCKTNOSUPPORT,
  ESRCH,
} from './errno.js';
import { fail, OK, type SyscallResult, unmodelled } from './result.js';
import type { Runtime } from './runtime.js';
import type { NamespaceOwners, Thread } from './task.js';

const NPROTO = 46;
const SOCK_MAX = 11;

/** gid_lte range test of ping_init_sock(): the egid or a supplementary group in ping_group_range. */
function inPingRange(c: Credential, range: readonly [number, number]): boolean {
  const [lo, hi] = range;
  if (lo <= c.egid && c.egid <= hi) return true;
  for (const g of c.groups) if (lo <= g && g <= hi) return true;
  return false;
}

/**
 * socket(domain, type, protocol) — net/socket.c __sys_socket/__sock_create, then the family's
 * create(): inet_create/inet6_create (raw: CAP_NET_RAW in the net ns owner, EPERM; ICMP
 * datagram "ping" sockets: egid or a group in net.ipv4.ping_group_range, else EACCES — no
 * capability helps), packet_create (CAP_NET_RAW first, then the type: ESOCKTNOSUPPORT),
 * unix_create. Modelled: AF_UNIX; AF_INET/AF_INET6 with SOCK_STREAM (0/TCP, and UDP/ICMP
 * → EPROTONOSUPPORT), SOCK_DGRAM (0/UDP/ICMP[v6], TCP → EPROTONOSUPPORT), SOCK_RAW (protocol
 * 0 → EPROTONOSUPPORT before the capability check), SOCK_RDM; AF_PACKET. Other families,
 * SOCK_SEQPACKET (SCTP) and other protocols depend on loaded modules: unmodelled. Success
 * returns ret 0 standing for "a new descriptor". (Checked against the live 6.18 kernel.)
 */
export function sysSocket(rt: Runtime, t: Thread, domain: number, type: number, protocol: number): SyscallResult {
  const flags = type & ~SOCK_TYPE_MASK;
  if (flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK)) return fail(EINVAL);
  let ty = type & SOCK_TYPE_MASK;
  if (domain < 0 || domain >= NPROTO) return fail(EAFNOSUPPORT);
  if (ty < 0 || ty >= SOCK_MAX) return fail(EINVAL);
  let fam = domain;
  // __sock_create(): the obsolete SOCK_PACKET on PF_INET is a packet socket.
  if (fam === AF_INET && ty === SOCK_PACKET) fam = AF_PACKET;
  const netOwner = t.ns.net;
  const detail = `${familyName(fam)} ${typeName(ty)} ${protocol}`;
  switch (fam) {
    case AF_UNIX:
      if (protocol !== 0 && protocol !== AF_UNIX) return fail(EPROTONOSUPPORT);
      if (ty === SOCK_RAW) ty = SOCK_DGRAM;
      return ty === SOCK_STREAM || ty === SOCK_DGRAM || ty === SOCK_SEQPACKET ? OK : fail(ESOCKTNOSUPPORT);
    case AF_PACKET: {
      const e = rt.privileged(t, CAP_NET_RAW, { syscall: 'socket', detail }, EPERM, netOwner);
      if (e) return fail(e);
      return ty === SOCK_DGRAM || ty === SOCK_RAW || ty === SOCK_PACKET ? OK : fail(ESOCKTNOSUPPORT);
    }
    case AF_INET:
    case AF_INET6: {
      if (protocol < 0 || protocol >= IPPROTO_MAX) return fail(EINVAL);
      const icmp = fam === AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
      const otherIcmp = fam === AF_INET ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
      // inet_create()'s lookup in inetsw[type] comes before the capability check:
      //   SOCK_RAW: one wildcard entry; protocol 0 matches nothing → EPROTONOSUPPORT
      //   a type with no entries → ESOCKTNOSUPPORT; a protocol foreign to the type →
      //   EPROTONOSUPPORT (after a module load that finds nothing)
      if (ty === SOCK_RAW) {
        if (protocol === IPPROTO_IP) return fail(EPROTONOSUPPORT);
        const e = rt.privileged(t, CAP_NET_RAW, { syscall: 'socket', detail }, EPERM, netOwner);
        return e ? fail(e) : OK;
      }
      if (ty === SOCK_STREAM) {
        if (protocol === IPPROTO_IP || protocol === IPPROTO_TCP) return OK;
        if (protocol === IPPROTO_UDP || protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) {
          return fail(EPROTONOSUPPORT);
        }
      }
      if (ty === SOCK_DGRAM) {
        if (protocol === IPPROTO_IP || protocol === IPPROTO_UDP) return OK;
        // ping_init_sock(): the egid or a supplementary group in ping_group_range; no capability helps.
        if (protocol === icmp) return inPingRange(t.cred, rt.sysctl.pingGroupRange) ? OK : fail(EACCES);
        if (protocol === IPPROTO_TCP || protocol === otherIcmp) return fail(EPROTONOSUPPORT);
      }
      // No inet protocol registers SOCK_RDM, nor SOCK_PACKET for inet6 (inet's is a packet socket).
      if (ty === SOCK_RDM || ty === SOCK_PACKET) return fail(ESOCKTNOSUPPORT);
      return unmodelled(`socket ${detail}: depends on the protocols the kernel has loaded`);
    }
    default:
      return unmodelled(`socket family ${domain}: not modelled`);
  }
}

function familyName(f: number): string {
  return f === AF_INET ? 'AF_INET' : f === AF_INET6 ? 'AF_INET6' : f === AF_PACKET ? 'AF_PACKET' : `AF_${f}`;
}
function typeName(t: number): string {
  return (['0', 'SOCK_STREAM', 'SOCK_DGRAM', 'SOCK_RAW'][t] ??
    (t === SOCK_PACKET ? 'SOCK_PACKET' : `type ${t}`)) as string;
}

/** What bind() needs to know about the socket and the address. */
export interface BindInput {
  /** Socket family (AF_INET or AF_INET6) and type (from the socket() call that made the fd). */
  family: number;
  sockType: number;
  port: number;
}

/**
 * bind() on an inet socket — __inet_bind/__inet6_bind: a non-zero port below
 * net.ipv4.ip_unprivileged_port_start needs CAP_NET_BIND_SERVICE in the net ns owner (EACCES).
 * Raw sockets bind without a port check. Assumed: the address is local and valid, the socket
 * is unbound and the port is free (EADDRINUSE, EADDRNOTAVAIL and EINVAL for those are not
 * predicted). Other families: unmodelled.
 */
export function sysBind(rt: Runtime, t: Thread, b: BindInput): SyscallResult {
  if (b.family !== AF_INET && b.family !== AF_INET6) return unmodelled(`bind on family ${b.family}: not modelled`);
  if (b.sockType === SOCK_RAW) return OK;
  if (b.sockType !== SOCK_STREAM && b.sockType !== SOCK_DGRAM) return unmodelled(`bind on socket type ${b.sockType}`);
  const port = b.port & 0xffff;
  if (port !== 0 && port < rt.sysctl.ipUnprivilegedPortStart) {
    const e = rt.privileged(
      t,
      CAP_NET_BIND_SERVICE,
      { syscall: 'bind', detail: `port ${port} < ip_unprivileged_port_start ${rt.sysctl.ipUnprivilegedPortStart}` },
      EACCES,
      t.ns.net,
    );
    if (e) return fail(e);
  }
  return OK;
}

/** Inputs mknod needs besides mode and dev. */
export interface MknodInput {
  mode: number;
  dev?: number;
  /** The parent directory exists (default true); false → ENOENT. */
  parentExists?: boolean;
  /** The caller may write and search the parent directory (default true); false → EACCES. */
  dirWritable?: boolean;
}

/**
 * mknod/mknodat — fs/namei.c may_mknod, filename_create, vfs_mknod:
 *   type not in {0, REG, CHR, BLK, FIFO, SOCK} → EINVAL; S_IFDIR → EPERM
 *   parent missing → ENOENT; directory not writable (may_create) → EACCES
 *   S_IFCHR/S_IFBLK other than the 0:0 whiteout → CAP_MKNOD (capable, initial ns), EPERM
 * FIFOs, sockets and regular files need no capability. Assumed: the name does not exist yet
 * (else EEXIST) and the device cgroup allows the node.
 */
export function sysMknod(rt: Runtime, t: Thread, m: MknodInput): SyscallResult {
  const type = m.mode & S_IFMT;
  if (type === S_IFDIR) return fail(EPERM);
  if (type !== 0 && type !== S_IFREG && type !== S_IFCHR && type !== S_IFBLK && type !== S_IFIFO && type !== S_IFSOCK) {
    return fail(EINVAL);
  }
  if (m.parentExists === false) return fail(ENOENT);
  if (m.dirWritable === false) return fail(EACCES);
  const whiteout = type === S_IFCHR && (m.dev ?? 0) === 0;
  if ((type === S_IFCHR || type === S_IFBLK) && !whiteout) {
    const detail = type === S_IFCHR ? 'character device' : 'block device';
    const e = rt.privileged(t, CAP_MKNOD, { syscall: 'mknod', detail }, EPERM);
    if (e) return fail(e);
  }
  return OK;
}

/**
 * chroot(path) — fs/open.c: lookup (ENOENT), search permission (EACCES), then CAP_SYS_CHROOT
 * in the caller's own user namespace (EPERM). Inputs: whether the path exists and is searchable.
 */
export function sysChroot(rt: Runtime, t: Thread, p: { exists?: boolean; searchable?: boolean } = {}): SyscallResult {
  if (p.exists === false) return fail(ENOENT);
  if (p.searchable === false) return fail(EACCES);
  const e = rt.privileged(t, CAP_SYS_CHROOT, { syscall: 'chroot' }, EPERM, t.cred.userns);
  return e ? fail(e) : OK;
}

/**
 * kill(pid, sig) for pid > 0 — kernel/signal.c kill_pid_info, check_kill_permission,
 * kill_ok_by_cred:
 *   no task with that id → ESRCH; sig not 0..64 → EINVAL
 *   same thread group → allowed
 *   sender euid or ruid equals target ruid or suid → allowed
 *   CAP_KILL in the target's user namespace → allowed
 *   SIGCONT to a task in the sender's session → allowed (input `sameSession`; unknown → unmodelled)
 *   else EPERM. Signal 0 is checked the same way.
 * pid 0, -1 and process groups (pid < -1) are not modelled (they need process-group state).
 * The signal's effect (termination) is not applied: the replay sees the exit in the trace.
 */
export function sysKill(
  rt: Runtime,
  t: Thread,
  pid: number,
  sig: number,
  opts: { sameSession?: boolean } = {},
): SyscallResult {
  if (pid <= 0) return unmodelled(`kill(${pid}, ...): process groups and broadcast are not modelled`);
  const target = rt.findThread(pid);
  if (target === undefined) return fail(ESRCH);
  return checkKillPermission(rt, t, target, sig, opts.sameSession, 'kill');
}

/** tgkill(tgid, tid, sig) — do_tkill: ids <= 0 → EINVAL; tid missing or not in tgid → ESRCH; then check_kill_permission. */
export function sysTgkill(
  rt: Runtime,
  t: Thread,
  tgid: number,
  tid: number,
  sig: number,
  opts: { sameSession?: boolean } = {},
): SyscallResult {
  if (tid <= 0 || tgid <= 0) return fail(EINVAL);
  const target = rt.findThread(tid);
  if (target === undefined || target.tgid !== tgid) return fail(ESRCH);
  return checkKillPermission(rt, t, target, sig, opts.sameSession, 'tgkill');
}

function checkKillPermission(
  rt: Runtime,
  t: Thread,
  target: Thread,
  sig: number,
  sameSession: boolean | undefined,
  syscall: string,
): SyscallResult {
  if (!Number.isInteger(sig) || sig < 0 || sig > NSIG) return fail(EINVAL);
  if (target.process === t.process) return OK;
  const c = t.cred;
  const tc = target.cred;
  if (c.euid === tc.suid || c.euid === tc.ruid || c.ruid === tc.suid || c.ruid === tc.ruid) return OK;
  const e = rt.privileged(t, CAP_KILL, { syscall, detail: `signal ${sig} to ${target.tid}` }, EPERM, tc.userns);
  if (e === 0) return OK;
  if (sig === SIGCONT) {
    if (sameSession === undefined) return unmodelled('SIGCONT across uids depends on the session, which is not known');
    if (sameSession) return OK;
  }
  return fail(EPERM);
}

/**
 * sethostname/setdomainname(name, len) — kernel/sys.c: CAP_SYS_ADMIN in the UTS namespace's
 * owner first (EPERM), then len < 0 || len > 64 → EINVAL, then the name copy (EFAULT).
 */
export function sysSethostname(
  rt: Runtime,
  t: Thread,
  syscall: 'sethostname' | 'setdomainname',
  len: number,
  nameReadable = true,
): SyscallResult {
  const e = rt.privileged(t, CAP_SYS_ADMIN, { syscall }, EPERM, t.ns.uts);
  if (e) return fail(e);
  const l = len | 0;
  if (l < 0 || l > NEW_UTS_LEN) return fail(EINVAL);
  if (!nameReadable && l > 0) return fail(EFAULT);
  return OK;
}

const MS_NOUSER = 0x80000000;
const MS_MGC_MSK = 0xffff0000;
const MS_MGC_VAL = 0xc0ed0000;

/**
 * mount(source, target, type, flags, data) — fs/namespace.c do_mount → path_mount:
 *   target lookup (input `targetExists`, default true) → ENOENT
 *   MS_NOUSER → EINVAL
 *   may_mount(): CAP_SYS_ADMIN in the mount namespace's owner → EPERM
 * An allowed mount's outcome depends on the file system and source: unmodelled.
 */
export function sysMount(rt: Runtime, t: Thread, m: { flags: number; targetExists?: boolean }): SyscallResult {
  if (m.targetExists === false) return fail(ENOENT);
  let flags = m.flags >>> 0;
  if ((flags & MS_MGC_MSK) >>> 0 === MS_MGC_VAL) flags = (flags & ~MS_MGC_MSK) >>> 0;
  if (flags & MS_NOUSER) return fail(EINVAL);
  const e = rt.privileged(t, CAP_SYS_ADMIN, { syscall: 'mount' }, EPERM, t.ns.mnt);
  if (e) return fail(e);
  return unmodelled('mount allowed; whether it succeeds depends on the file system');
}

const UMOUNT_VALID = 0x1 | 0x2 | 0x4 | 0x8; // MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW

/** umount2(target, flags) — ksys_umount: unknown flags → EINVAL; lookup → ENOENT; may_mount() → EPERM; allowed: unmodelled. */
export function sysUmount(rt: Runtime, t: Thread, m: { flags: number; targetExists?: boolean }): SyscallResult {
  if ((m.flags >>> 0) & ~UMOUNT_VALID) return fail(EINVAL);
  if (m.targetExists === false) return fail(ENOENT);
  const e = rt.privileged(t, CAP_SYS_ADMIN, { syscall: 'umount2' }, EPERM, t.ns.mnt);
  if (e) return fail(e);
  return unmodelled('umount allowed; whether it succeeds depends on the mount table');
}

/**
 * ptrace(PTRACE_ATTACH/PTRACE_SEIZE, pid) — kernel/ptrace.c ptrace_attach, __ptrace_may_access,
 * security/commoncap.c cap_ptrace_access_check, and Yama when configured:
 *   no such task → ESRCH; same thread group → EPERM
 *   caller ruid == target ruid, euid, suid and caller rgid == target rgid, egid, sgid, or
 *     CAP_SYS_PTRACE over the target's user ns → else EPERM
 *   target not dumpable (set-id transition, PR_SET_DUMPABLE 0) → CAP_SYS_PTRACE, else EPERM
 *   commoncap: same user ns and target P ⊆ caller P, or CAP_SYS_PTRACE → else EPERM
 *   Yama scope 1: tracee must be a descendant (or CAP_SYS_PTRACE); 2: CAP_SYS_PTRACE; 3: never
 *   target exited or already traced → EPERM
 * On success the target process is marked traced by the caller's process.
 */
export function sysPtraceAttach(rt: Runtime, t: Thread, pid: number): SyscallResult {
  const target = rt.findThread(pid);
  if (target === undefined) return fail(ESRCH);
  if (target.process === t.process) return fail(EPERM);
  const c = t.cred;
  const tc = target.cred;
  const op = { syscall: 'ptrace', detail: `attach ${pid}` };
  let capChecked = -1;
  const hasPtraceCap = (): boolean => {
    if (capChecked < 0) capChecked = rt.privileged(t, CAP_SYS_PTRACE, op, EPERM, tc.userns) === 0 ? 1 : 0;
    return capChecked === 1;
  };
  const sameIds =
    c.ruid === tc.euid &&
    c.ruid === tc.suid &&
    c.ruid === tc.ruid &&
    c.rgid === tc.egid &&
    c.rgid === tc.sgid &&
    c.rgid === tc.rgid;
  if (!sameIds && !hasPtraceCap()) return fail(EPERM);
  if (target.process.dumpable !== 1 && !hasPtraceCap()) return fail(EPERM);
  const subset = (tc.prmLo & ~c.prmLo) === 0 && (tc.prmHi & ~c.prmHi) === 0;
  if (!(c.userns === tc.userns && subset) && !hasPtraceCap()) return fail(EPERM);
  const scope = rt.sysctl.yamaPtraceScope;
  if (scope === 3) return fail(EPERM);
  if (scope === 2 && !hasPtraceCap()) return fail(EPERM);
  if (scope === 1 && !isDescendant(rt, target.process.tgid, t.tgid) && !hasPtraceCap()) return fail(EPERM);
  if (target.process.zombie || target.exited || target.process.tracerTgid !== 0) return fail(EPERM);
  target.process.tracerTgid = t.tgid;
  return OK;
}

function isDescendant(rt: Runtime, tgid: number, ancestor: number): boolean {
  for (let p = rt.process(tgid), n = 0; p && n < 10000; p = rt.process(p.ppid), n++) {
    if (p.tgid === ancestor) return true;
    if (p.ppid === 0) return false;
  }
  return false;
}

/**
 * setpriority(which, who, niceval) for PRIO_PROCESS (0) — kernel/sys.c:
 *   which not 0..2 → EINVAL; niceval clamped to -20..19; who 0 = caller, else that thread (ESRCH)
 *   set_one_prio: target ruid != caller euid && target euid != caller euid && no CAP_SYS_NICE → EPERM
 *   lowering the nice value beyond RLIMIT_NICE (20 - nice > rlim) without CAP_SYS_NICE → EACCES
 * Input: the target's RLIMIT_NICE soft limit (default 0, the usual default). PRIO_PGRP and
 * PRIO_USER are not modelled.
 */
export function sysSetpriority(
  rt: Runtime,
  t: Thread,
  which: number,
  who: number,
  niceval: number,
  opts: { rlimitNice?: number } = {},
): SyscallResult {
  if (which < 0 || which > 2) return fail(EINVAL);
  const nice = Math.max(-20, Math.min(19, niceval | 0));
  if (which !== 0) return unmodelled('setpriority PRIO_PGRP/PRIO_USER: not modelled');
  const target = who === 0 ? t : rt.findThread(who);
  if (target === undefined || target.exited) return fail(ESRCH);
  const c = t.cred;
  const tc = target.cred;
  const op = { syscall: 'setpriority', detail: `nice ${nice} for ${target.tid}` };
  if (tc.ruid !== c.euid && tc.euid !== c.euid && rt.privileged(t, CAP_SYS_NICE, op, EPERM, tc.userns) !== 0) {
    return fail(EPERM);
  }
  if (nice < target.nice) {
    const rlim = opts.rlimitNice ?? 0;
    if (20 - nice > rlim && rt.privileged(t, CAP_SYS_NICE, op, EACCES) !== 0) return fail(EACCES);
  }
  target.nice = nice;
  return OK;
}

/** The file a chown targets. */
export interface ChownInput {
  /** Current owner and group of the file. */
  fileUid: number;
  fileGid: number;
  /** New owner / group; -1 leaves it unchanged. */
  uid: number;
  gid: number;
}

/**
 * chown/fchown/lchown/fchownat — fs/open.c chown_common, fs/attr.c chown_ok/chgrp_ok:
 *   new uid: allowed if fsuid == file uid and the uid stays the same, or CAP_CHOWN → else EPERM
 *   new gid: allowed if fsuid == file uid and (gid stays, or gid is the fsgid or a
 *     supplementary group), or CAP_CHOWN → else EPERM
 * Inputs: the file's owner and group. Assumed: path found, writable fs, not immutable.
 */
export function sysChown(rt: Runtime, t: Thread, ch: ChownInput): SyscallResult {
  const c = t.cred;
  const uid = ch.uid >>> 0;
  const gid = ch.gid >>> 0;
  const op = { syscall: 'chown', detail: `${ch.fileUid}:${ch.fileGid} -> ${ch.uid}:${ch.gid}` };
  if (uid !== 0xffffffff) {
    if (c.userns.toKuid(uid) < 0) return fail(EINVAL); // make_kuid fails for an unmapped id
    const owner = c.fsuid === ch.fileUid && uid === ch.fileUid;
    if (!owner && rt.privileged(t, CAP_CHOWN, op, EPERM, c.userns) !== 0) return fail(EPERM);
  }
  if (gid !== 0xffffffff) {
    if (c.userns.toKgid(gid) < 0) return fail(EINVAL);
    const owner = c.fsuid === ch.fileUid && (gid === ch.fileGid || c.inGroup(gid));
    if (!owner && rt.privileged(t, CAP_CHOWN, op, EPERM, c.userns) !== 0) return fail(EPERM);
  }
  return OK;
}

/** acct(path) — kernel/acct.c: CAP_SYS_PACCT first (EPERM); acct(NULL) then succeeds; a file: unmodelled. */
export function sysAcct(rt: Runtime, t: Thread, pathGiven: boolean): SyscallResult {
  const e = rt.privileged(t, CAP_SYS_PACCT, { syscall: 'acct' }, EPERM);
  if (e) return fail(e);
  return pathGiven ? unmodelled('acct on a file depends on the file') : OK;
}

/**
 * reboot(magic1, magic2, cmd) — kernel/reboot.c: CAP_SYS_BOOT in the pid ns owner first
 * (EPERM), then the magic numbers (EINVAL); CAD_ON/CAD_OFF succeed; the commands that stop or
 * restart the machine are unmodelled; unknown commands → EINVAL.
 */
export function sysReboot(rt: Runtime, t: Thread, magic1: number, magic2: number, cmd: number): SyscallResult {
  const e = rt.privileged(t, CAP_SYS_BOOT, { syscall: 'reboot' }, EPERM, t.ns.pid);
  if (e) return fail(e);
  const m2 = magic2 >>> 0;
  if (
    magic1 >>> 0 !== LINUX_REBOOT_MAGIC1 ||
    (m2 !== LINUX_REBOOT_MAGIC2 &&
      m2 !== LINUX_REBOOT_MAGIC2A &&
      m2 !== LINUX_REBOOT_MAGIC2B &&
      m2 !== LINUX_REBOOT_MAGIC2C)
  ) {
    return fail(EINVAL);
  }
  const c = cmd >>> 0;
  if (c === LINUX_REBOOT_CMD_CAD_ON || c === LINUX_REBOOT_CMD_CAD_OFF) return OK;
  const known = [0x01234567, 0xcdef0123, 0x4321fedc, 0xa1b2c3d4, 0xd000fce2, 0x45584543];
  if (known.includes(c)) return unmodelled('reboot command stops or restarts the machine');
  return fail(EINVAL);
}

/** TIME_SETTOD_SEC_MAX: KTIME_SEC_MAX - TIME_UPTIME_SEC_MAX. */
const TIME_SETTOD_SEC_MAX = 9223372036 - 946080000;

/**
 * settimeofday(tv, tz) — kernel/time/time.c: tv_usec outside 0..1000000 → EINVAL; then
 * do_sys_settimeofday64: invalid timespec (sec < 0, too large) → EINVAL; CAP_SYS_TIME
 * (cap_settime, EPERM); tz_minuteswest beyond ±15 h → EINVAL. `tv`/`tz` null = NULL.
 */
export function sysSettimeofday(
  rt: Runtime,
  t: Thread,
  tv: { sec: number; usec: number } | null,
  tz: { minuteswest: number } | null = null,
): SyscallResult {
  if (tv && (tv.usec > 1000000 || tv.usec < 0)) return fail(EINVAL);
  if (tv && !validSettod(tv.sec, tv.usec * 1000)) return fail(EINVAL);
  const e = rt.privileged(t, CAP_SYS_TIME, { syscall: 'settimeofday' }, EPERM);
  if (e) return fail(e);
  if (tz && (tz.minuteswest > 15 * 60 || tz.minuteswest < -15 * 60)) return fail(EINVAL);
  return OK;
}

function validSettod(sec: number, nsec: number): boolean {
  return sec >= 0 && nsec >= 0 && nsec < 1e9 && sec < TIME_SETTOD_SEC_MAX;
}

/**
 * clock_settime(clockid, tp) — kernel/time/posix-timers.c: only CLOCK_REALTIME has clock_set
 * among the static clocks (others and ids >= 16 → EINVAL); then as settimeofday: invalid
 * timespec → EINVAL, CAP_SYS_TIME → EPERM. Dynamic (negative, PTP/fd) clocks: unmodelled.
 */
export function sysClockSettime(
  rt: Runtime,
  t: Thread,
  clockid: number,
  tp: { sec: number; nsec: number },
): SyscallResult {
  if (clockid < 0) return unmodelled('dynamic posix clocks are not modelled');
  if (clockid !== CLOCK_REALTIME) return fail(EINVAL);
  if (!validSettod(tp.sec, tp.nsec)) return fail(EINVAL);
  const e = rt.privileged(t, CAP_SYS_TIME, { syscall: 'clock_settime' }, EPERM);
  return e ? fail(e) : OK;
}

/**
 * iopl(level) — arch/x86/kernel/ioport.c, only with CONFIG_X86_IOPL_IOPERM (else ENOSYS; the
 * 6.18 reference host lacks it): level > 3 → EINVAL; same level → 0; raising needs
 * CAP_SYS_RAWIO (EPERM); lowering is free.
 */
export function sysIopl(rt: Runtime, t: Thread, level: number): SyscallResult {
  if (!rt.kernelConfig.x86IoplIoperm) return fail(ENOSYS);
  const l = level >>> 0;
  if (l > 3) return fail(EINVAL);
  if (l === t.iopl) return OK;
  if (l > t.iopl && rt.privileged(t, CAP_SYS_RAWIO, { syscall: 'iopl', detail: `level ${l}` }, EPERM) !== 0) {
    return fail(EPERM);
  }
  t.iopl = l;
  return OK;
}

/** ioperm(from, num, on) — from + num wraps or exceeds 65536 → EINVAL; turning on needs CAP_SYS_RAWIO (EPERM); ENOSYS without CONFIG_X86_IOPL_IOPERM. */
export function sysIoperm(rt: Runtime, t: Thread, from: number, num: number, turnOn: number): SyscallResult {
  if (!rt.kernelConfig.x86IoplIoperm) return fail(ENOSYS);
  const f = BigInt(from >>> 0);
  const n = BigInt(num >>> 0);
  if (f + n <= f || f + n > BigInt(IO_BITMAP_BITS)) return fail(EINVAL);
  if (turnOn !== 0 && rt.privileged(t, CAP_SYS_RAWIO, { syscall: 'ioperm' }, EPERM) !== 0) return fail(EPERM);
  return OK;
}

const SWAP_FLAGS_VALID = 0x7ffff;

/** swapon(path, flags) — mm/swapfile.c: unknown flags → EINVAL, then CAP_SYS_ADMIN (EPERM); allowed: unmodelled. */
export function sysSwapon(rt: Runtime, t: Thread, flags: number): SyscallResult {
  if ((flags >>> 0) & ~SWAP_FLAGS_VALID) return fail(EINVAL);
  const e = rt.privileged(t, CAP_SYS_ADMIN, { syscall: 'swapon' }, EPERM);
  if (e) return fail(e);
  return unmodelled('swapon allowed; the outcome depends on the file');
}

/** swapoff(path) — CAP_SYS_ADMIN first (EPERM); allowed: unmodelled. */
export function sysSwapoff(rt: Runtime, t: Thread): SyscallResult {
  const e = rt.privileged(t, CAP_SYS_ADMIN, { syscall: 'swapoff' }, EPERM);
  if (e) return fail(e);
  return unmodelled('swapoff allowed; the outcome depends on the swap table');
}

/** An rlimit pair; bigint for RLIM_INFINITY (2^64 - 1). */
export interface Rlimit {
  cur: bigint | number;
  max: bigint | number;
}

/**
 * setrlimit/prlimit64 on the caller — kernel/sys.c do_prlimit:
 *   resource >= 16 → EINVAL; cur > max → EINVAL
 *   RLIMIT_NOFILE with max > fs.nr_open → EPERM (no capability helps)
 *   max above the current hard limit → CAP_SYS_RESOURCE (capable, initial ns), EPERM
 * Input: the current hard limit `oldMax` (from /proc/PID/limits or the trace's getrlimit).
 */
export function sysSetrlimit(
  rt: Runtime,
  t: Thread,
  resource: number,
  lim: Rlimit,
  oldMax: bigint | number,
): SyscallResult {
  if (resource >>> 0 >= RLIM_NLIMITS) return fail(EINVAL);
  const cur = BigInt(lim.cur);
  const max = BigInt(lim.max);
  if (cur > max) return fail(EINVAL);
  if (resource === RLIMIT_NOFILE && max > BigInt(rt.sysctl.nrOpen)) return fail(EPERM);
  if (max > BigInt(oldMax)) {
    const e = rt.privileged(
      t,
      CAP_SYS_RESOURCE,
      { syscall: 'setrlimit', detail: `raise hard limit ${resource}` },
      EPERM,
    );
    if (e) return fail(e);
  }
  return OK;
}

const PAGE_SHIFT = 12n;

/**
 * mlock(addr, len) — mm/mlock.c do_mlock, can_do_mlock:
 *   RLIMIT_MEMLOCK == 0 and no CAP_IPC_LOCK → EPERM
 *   pages to lock (len rounded to pages, plus the mm's locked_vm) > RLIMIT_MEMLOCK pages and no
 *     CAP_IPC_LOCK → ENOMEM
 * Inputs: RLIMIT_MEMLOCK soft limit in bytes and the pages the process has locked already
 * (assumed disjoint from the new range).
 */
export function sysMlock(
  rt: Runtime,
  t: Thread,
  addr: number,
  len: number,
  m: { memlockLimit: bigint | number; lockedPages?: number },
): SyscallResult {
  const limit = BigInt(m.memlockLimit);
  const op = { syscall: 'mlock', detail: `${len} bytes, RLIMIT_MEMLOCK ${limit}` };
  if (limit === 0n && rt.privileged(t, CAP_IPC_LOCK, op, EPERM) !== 0) return fail(EPERM);
  const off = BigInt(addr % 4096);
  const pages = (BigInt(len) + off + 4095n) >> PAGE_SHIFT;
  const locked = pages + BigInt(m.lockedPages ?? 0);
  if (locked > limit >> PAGE_SHIFT && rt.privileged(t, CAP_IPC_LOCK, op, ENOMEM) !== 0) return fail(ENOMEM);
  return OK;
}

const UNSHARE_VALID =
  CLONE_THREAD |
  CLONE_FS |
  CLONE_NEWNS |
  CLONE_SIGHAND |
  CLONE_VM |
  CLONE_FILES |
  CLONE_SYSVSEM |
  CLONE_NEWUTS |
  CLONE_NEWIPC |
  CLONE_NEWNET |
  CLONE_NEWUSER |
  CLONE_NEWPID |
  CLONE_NEWCGROUP |
  CLONE_NEWTIME;
const NS_FLAGS =
  CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP | CLONE_NEWTIME;

let nextUserNsId = 1;

/**
 * unshare(flags) — kernel/fork.c ksys_unshare:
 *   NEWUSER implies THREAD|FS; VM implies SIGHAND; SIGHAND implies THREAD; NEWNS implies FS
 *   unknown flags → EINVAL; THREAD/SIGHAND/VM in a multi-threaded process → EINVAL
 *   NEWUSER (create_user_ns): more than 32 levels → ENOSPC; chrooted caller → EPERM (input);
 *     the new credential: E = P = B = all caps, I = A = 0, securebits 0, in the new namespace
 *   other namespaces: CAP_SYS_ADMIN in the (new or current) user namespace → EPERM
 * The new namespaces are owned by that user namespace. No uid map is written (see setid.ts).
 */
export function sysUnshare(rt: Runtime, t: Thread, flags: number, opts: { chrooted?: boolean } = {}): SyscallResult {
  let f = flags >>> 0;
  if (f & CLONE_NEWUSER) f |= CLONE_THREAD | CLONE_FS;
  if (f & CLONE_VM) f |= CLONE_SIGHAND;
  if (f & CLONE_SIGHAND) f |= CLONE_THREAD;
  if (f & CLONE_NEWNS) f |= CLONE_FS;
  if (f & ~UNSHARE_VALID) return fail(EINVAL);
  if (f & (CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)) {
    let live = 0;
    for (const o of t.process.threads) if (!o.exited) live++;
    if (live > 1) return fail(EINVAL);
  }
  const old = t.cred;
  let userns = old.userns;
  if (f & CLONE_NEWUSER) {
    if (old.userns.level >= 32) return fail(28 /* ENOSPC */);
    if (opts.chrooted) return fail(EPERM);
    userns = newUserNamespace(old);
  }
  if (f & NS_FLAGS && !(f & CLONE_NEWUSER)) {
    const e = rt.privileged(
      t,
      CAP_SYS_ADMIN,
      { syscall: 'unshare', detail: `flags 0x${f.toString(16)}` },
      EPERM,
      userns,
    );
    if (e) return fail(e);
  }
  applyNewNamespaces(t, f, userns, rt.validHi);
  return OK;
}

/** The namespace a setns() file descriptor refers to: kind and the thread whose namespace it is. */
export interface SetnsTarget {
  kind: 'net' | 'uts' | 'ipc' | 'mnt' | 'user';
  /** The thread whose namespace the fd names (e.g. from the fd's /proc/TID/ns/KIND path). */
  ofTid: number;
}

const NS_TYPE: Record<SetnsTarget['kind'], number> = {
  net: CLONE_NEWNET,
  uts: CLONE_NEWUTS,
  ipc: CLONE_NEWIPC,
  mnt: CLONE_NEWNS,
  user: CLONE_NEWUSER,
};

/**
 * setns(fd, nstype) with a namespace fd — kernel/nsproxy.c and each ns's install():
 *   nstype != 0 and not the fd's type → EINVAL
 *   net/uts/ipc: CAP_SYS_ADMIN over the namespace's owner and in the caller's own user ns → EPERM
 *   mnt: CAP_SYS_ADMIN over its owner, CAP_SYS_CHROOT and CAP_SYS_ADMIN in the caller's ns
 *     → EPERM; then a shared fs_struct → EINVAL
 *   user: the same namespace → EINVAL; multi-threaded or shared fs_struct → EINVAL;
 *     CAP_SYS_ADMIN over the target → EPERM; joining gives every capability in it
 * Joining the namespace of a thread that is not in the runtime is unmodelled.
 */
export function sysSetns(rt: Runtime, t: Thread, target: SetnsTarget, nstype: number): SyscallResult {
  const want = NS_TYPE[target.kind];
  if (nstype !== 0 && nstype >>> 0 !== want) return fail(EINVAL);
  const other = rt.findThread(target.ofTid);
  if (other === undefined)
    return unmodelled(`setns into the namespace of ${target.ofTid}, which is not in the runtime`);
  const op = { syscall: 'setns', detail: `${target.kind} of ${target.ofTid}` };
  const own = t.cred.userns;
  if (target.kind === 'user') {
    const ns = other.cred.userns;
    if (ns === own) return fail(EINVAL);
    let live = 0;
    for (const o of t.process.threads) if (!o.exited) live++;
    if (live > 1) return fail(EINVAL);
    if (t.fs.users !== 1) return fail(EINVAL);
    if (rt.privileged(t, CAP_SYS_ADMIN, op, EPERM, ns) !== 0) return fail(EPERM);
    applyNewNamespaces(t, CLONE_NEWUSER, ns, rt.validHi);
    return OK;
  }
  const owner = other.ns[target.kind];
  if (rt.privileged(t, CAP_SYS_ADMIN, op, EPERM, owner) !== 0) return fail(EPERM);
  if (target.kind === 'mnt') {
    if (rt.privileged(t, CAP_SYS_CHROOT, op, EPERM, own) !== 0) return fail(EPERM);
    if (rt.privileged(t, CAP_SYS_ADMIN, op, EPERM, own) !== 0) return fail(EPERM);
    if (t.fs.users !== 1) return fail(EINVAL);
  } else if (rt.privileged(t, CAP_SYS_ADMIN, op, EPERM, own) !== 0) {
    return fail(EPERM);
  }
  t.ns = Object.freeze({ ...t.ns, [target.kind]: owner });
  return OK;
}

/**
 * Install namespaces created by unshare() or clone(CLONE_NEW*) on thread `t`: with NEWUSER the
 * credential moves into `userns` with every capability (set_cred_user_ns()); every new
 * namespace is owned by `userns`.
 */
export function applyNewNamespaces(t: Thread, flags: number, userns: UserNamespace, validHi = VALID_HI): void {
  const f = flags >>> 0;
  if (f & CLONE_NEWUSER) {
    const c = t.cred;
    c.userns = userns;
    c.effLo = c.prmLo = c.bndLo = VALID_LO;
    c.effHi = c.prmHi = c.bndHi = validHi;
    c.inhLo = c.inhHi = c.ambLo = c.ambHi = 0;
    c.securebits = 0;
  }
  if (f & NS_FLAGS) {
    const ns: { -readonly [K in keyof NamespaceOwners]: NamespaceOwners[K] } = { ...t.ns };
    if (f & CLONE_NEWNET) ns.net = userns;
    if (f & CLONE_NEWUTS) ns.uts = userns;
    if (f & CLONE_NEWNS) ns.mnt = userns;
    if (f & CLONE_NEWIPC) ns.ipc = userns;
    if (f & CLONE_NEWCGROUP) ns.cgroup = userns;
    // CLONE_NEWPID and CLONE_NEWTIME take effect for children; the model records the owner alike.
    if (f & CLONE_NEWPID) ns.pid = userns;
    if (f & CLONE_NEWTIME) ns.time = userns;
    t.ns = Object.freeze(ns);
  }
}

/**
 * A write to /proc/TID/uid_map or gid_map — kernel/user_namespace.c map_write and
 * new_idmap_permitted (the writer's credential also stands for the file's opener):
 *   the map is already written → EPERM
 *   empty, zero-length, wrapping, overlapping or more than 340 extents → EINVAL
 *   no CAP_SYS_ADMIN over the target namespace → EPERM
 *   allowed without privilege: one extent of count 1 written by the namespace's creator
 *     (same euid) that maps onto its own euid (uid_map) or, once setgroups is "deny", its own
 *     egid (gid_map); otherwise CAP_SETUID / CAP_SETGID over the parent namespace → else EPERM
 *   an outside id unmapped in the parent → EPERM
 * On success the map is installed: set*id calls, exec's root rules and setgroups follow it.
 */
export function sysWriteIdMap(
  rt: Runtime,
  t: Thread,
  targetTid: number,
  kind: 'uid' | 'gid',
  extents: readonly IdExtent[],
): SyscallResult {
  const target = rt.findThread(targetTid);
  if (target === undefined) return fail(ESRCH);
  const ns = target.cred.userns;
  const parent = ns.parent;
  if (parent === undefined) return fail(EPERM); // the initial namespace's maps are fixed
  if ((kind === 'uid' ? ns.uidMap : ns.gidMap) !== undefined) return fail(EPERM);
  if (extents.length === 0 || extents.length > 340) return fail(EINVAL);
  for (let i = 0; i < extents.length; i++) {
    const [a, b, n] = extents[i]!;
    if (n <= 0 || a < 0 || b < 0 || a + n - 1 > 0xfffffffe || b + n - 1 > 0xfffffffe) return fail(EINVAL);
    for (let j = 0; j < i; j++) {
      const [a2, b2, n2] = extents[j]!;
      if (a < a2 + n2 && a2 < a + n) return fail(EINVAL);
      if (b < b2 + n2 && b2 < b + n) return fail(EINVAL);
    }
  }
  const c = t.cred;
  const op = { syscall: 'write', detail: `/proc/${targetTid}/${kind}_map` };
  if (rt.privileged(t, CAP_SYS_ADMIN, op, EPERM, ns) !== 0) return fail(EPERM);
  let permitted = false;
  if (extents.length === 1 && extents[0]![2] === 1 && ns.ownerUid === c.euid) {
    const outside = extents[0]![1];
    if (kind === 'uid' && parent.toKuid(outside) === c.euid) permitted = true;
    if (kind === 'gid' && !ns.setgroupsAllowed && parent.toKgid(outside) === c.egid) permitted = true;
  }
  if (!permitted) {
    const cap = kind === 'uid' ? CAP_SETUID : CAP_SETGID;
    if (rt.privileged(t, cap, op, EPERM, parent) !== 0) return fail(EPERM);
  }
  for (const [, b, n] of extents) {
    const lo = kind === 'uid' ? parent.toKuid(b) : parent.toKgid(b);
    const hi = kind === 'uid' ? parent.toKuid(b + n - 1) : parent.toKgid(b + n - 1);
    if (lo < 0 || hi < 0) return fail(EPERM);
  }
  if (kind === 'uid') ns.uidMap = Object.freeze([...extents]);
  else ns.gidMap = Object.freeze([...extents]);
  return OK;
}

/**
 * A write to /proc/TID/setgroups — proc_setgroups_write: "allow" or "deny" (else EINVAL);
 * "deny" after the gid_map is written, or "allow" after "deny", → EPERM.
 */
export function sysWriteSetgroups(rt: Runtime, _caller: Thread, targetTid: number, value: string): SyscallResult {
  const target = rt.findThread(targetTid);
  if (target === undefined) return fail(ESRCH);
  const v = value.trim();
  if (v !== 'allow' && v !== 'deny') return fail(EINVAL);
  const ns = target.cred.userns;
  if (!ns.parent) return fail(EPERM);
  const allow = v === 'allow';
  if (allow && !ns.setgroupsAllowed) return fail(EPERM);
  if (!allow && ns.gidMap !== undefined) return fail(EPERM);
  ns.setgroupsAllowed = allow;
  return OK;
}

/** A new user namespace created by `c` (owner: c's euid; no uid map yet). */
export function newUserNamespace(c: Credential): UserNamespace {
  return new UserNamespace(nextUserNsId++, c.userns, c.euid);
}

/**
 * setxattr(path, "security.capability", value) — cap_convert_nscap() runs first:
 *   the value must be exactly 20 bytes of revision 2 or 24 of revision 3 with no flag bits
 *   but VFS_CAP_FLAGS_EFFECTIVE → else EINVAL
 *   CAP_SETFCAP (capable_wrt_inode_uidgid) → EPERM
 *   then write permission on the file (input `fileWritable`) → EACCES
 * Storing the value is not modelled (the replay takes file caps from the trace).
 */
export function sysSetxattrCaps(
  rt: Runtime,
  t: Thread,
  value: Uint8Array,
  opts: { fileWritable?: boolean } = {},
): SyscallResult {
  if (value.length === 0) return unmodelled('empty security.capability value');
  const magic =
    value.length >= 4 ? (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0 : 0xffffffff;
  const sans = (magic & ~1) >>> 0;
  const valid = (value.length === 20 && sans === 0x02000000) || (value.length === 24 && sans === 0x03000000);
  if (!valid) return fail(EINVAL);
  const e = rt.privileged(t, CAP_SETFCAP, { syscall: 'setxattr', detail: 'security.capability' }, EPERM, t.cred.userns);
  if (e) return fail(e);
  if (opts.fileWritable === false) return fail(EACCES);
  return OK;
}

/**
 * removexattr(path, "security.capability") — xattr_permission (write access, EACCES) first,
 * then cap_inode_removexattr: CAP_SETFCAP (EPERM); then ENODATA if the file has none.
 */
export function sysRemovexattrCaps(
  rt: Runtime,
  t: Thread,
  opts: { fileWritable?: boolean; present?: boolean } = {},
): SyscallResult {
  if (opts.fileWritable === false) return fail(EACCES);
  const e = rt.privileged(
    t,
    CAP_SETFCAP,
    { syscall: 'removexattr', detail: 'security.capability' },
    EPERM,
    t.cred.userns,
  );
  if (e) return fail(e);
  if (opts.present === false) return fail(61 /* ENODATA */);
  return OK;
}
