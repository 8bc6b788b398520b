/**
 * The uid/gid family: kernel/sys.c (__sys_setuid, __sys_setreuid, __sys_setresuid,
 * __sys_setfsuid and the gid twins), kernel/groups.c (setgroups) and the capability fix-ups of
 * security/commoncap.c (cap_task_fix_setuid, cap_emulate_setxuid). Raw syscall semantics: only
 * the calling thread's credential changes (glibc's wrappers broadcast to every thread; a trace
 * shows one raw call per thread).
 *
 * Ids are modelled in the initial user namespace, where every uid but (uid_t)-1 is mapped. A
 * credential in a child user namespace has no uid map in this model, so make_kuid() fails
 * for every id there (EINVAL), as it does in an unmapped namespace.
 */

import { FS_SET_HI, FS_SET_LO, ID_UNCHANGED, NGROUPS_MAX, SECURE_KEEP_CAPS, SECURE_NO_SETUID_FIXUP } from './abi.js';
import { CAP_SETGID, CAP_SETUID } from './caps-const.js';
import { type Credential, sortedGroups } from './credential.js';
import { EFAULT, EINVAL, EPERM } from './errno.js';
import type { HostDecision } from './host.js';
import { BAD_ADDRESS, type BadAddress, fail, OK, ok, type SyscallResult } from './result.js';
import type { Runtime } from './runtime.js';
import type { Thread } from './task.js';

/** INVALID_UID / INVALID_GID. Never equal to a valid id (ids are 0..0xfffffffe). */
const INVALID = -1;

const R_EINVAL = fail(EINVAL);
const R_EPERM = fail(EPERM);
const R_EFAULT = fail(EFAULT);

/** make_kuid()/make_kgid() in the credential's user namespace. */
export function makeKid(c: Credential, id: number): number {
  return c.userns.toKuid(id);
}

/** make_kgid() in the credential's user namespace. */
export function makeKgid(c: Credential, id: number): number {
  return c.userns.toKgid(id);
}

/** from_kuid_munged(): what a getter reports for a kid; an unmapped id reads as overflowuid 65534. */
function munged(c: Credential, kid: number): number {
  const v = c.userns.fromKuid(kid);
  return v < 0 ? 65534 : v;
}

function mungedGid(c: Credential, kid: number): number {
  const v = c.userns.fromKgid(kid);
  return v < 0 ? 65534 : v;
}

/** make_kuid(cred->user_ns, 0): the kuid that counts as root for commoncap, or INVALID. */
export function rootUid(c: Credential): number {
  return c.userns.toKuid(0);
}

/** LSM_SETID_* flags of security_task_fix_setuid(). */
enum SetId {
  ID = 1,
  RE = 2,
  RES = 4,
  FS = 8,
}

/**
 * ns_capable_setid(old->user_ns, cap): the capability in the caller's effective set (in its
 * own user namespace). Reported as a decision; callers ask only when the capability decides
 * the outcome (a missing capability then means EPERM, or for setfs*id an unchanged id).
 */
function setidCapable(rt: Runtime, t: Thread, syscall: string, cap: number): boolean {
  return rt.ruleCapable(
    t,
    syscall,
    cap,
    'capability in effective set',
    'id not among the caller\u2019s own ids and capability not in effective set',
  );
}

/** Report a decision asked with rt.capableFor (setuid/setgid ask first, report only when it decides). */
function reportSetid(rt: Runtime, t: Thread, syscall: string, cap: number, d: HostDecision): void {
  if (rt.listening) {
    rt.reportCapable(
      t,
      syscall,
      cap,
      d,
      'capability in effective set',
      'id not among the caller\u2019s own ids and capability not in effective set',
    );
  }
}

/**
 * cap_emulate_setxuid() (ID, RE, RES), unless SECBIT_NO_SETUID_FIXUP:
 *   old has root in {r,e,s}uid && new has none: A := 0; P := E := 0 unless SECBIT_KEEP_CAPS
 *   old euid == 0 && new euid != 0: E := 0
 *   old euid != 0 && new euid == 0: E := P
 * cap_task_fix_setuid() for FS (setfsuid), unless SECBIT_NO_SETUID_FIXUP:
 *   old fsuid == 0 && new fsuid != 0: E &= ~FS_SET
 *   old fsuid != 0 && new fsuid == 0: E |= P & FS_SET
 */
function fixSetuid(n: Credential, old: Credential, flags: SetId): void {
  if (old.secure(SECURE_NO_SETUID_FIXUP)) return;
  const root = rootUid(old);
  if (flags === SetId.FS) {
    if (old.fsuid === root && n.fsuid !== root) {
      n.effLo = (n.effLo & ~FS_SET_LO) >>> 0;
      n.effHi = (n.effHi & ~FS_SET_HI) >>> 0;
    }
    if (old.fsuid !== root && n.fsuid === root) {
      n.effLo = (n.effLo | (n.prmLo & FS_SET_LO)) >>> 0;
      n.effHi = (n.effHi | (n.prmHi & FS_SET_HI)) >>> 0;
    }
    return;
  }
  if (
    (old.ruid === root || old.euid === root || old.suid === root) &&
    n.ruid !== root &&
    n.euid !== root &&
    n.suid !== root
  ) {
    if (!old.secure(SECURE_KEEP_CAPS)) {
      n.prmLo = n.prmHi = 0;
      n.effLo = n.effHi = 0;
    }
    n.ambLo = n.ambHi = 0;
  }
  if (old.euid === root && n.euid !== root) n.effLo = n.effHi = 0;
  if (old.euid !== root && n.euid === root) {
    n.effLo = n.prmLo;
    n.effHi = n.prmHi;
  }
}

/**
 * commit_creds(): install `n` on the thread. When euid, egid, fsuid or fsgid change, or the
 * permitted set grows, the process's mm becomes dumpable = fs.suid_dumpable.
 */
export function commitCreds(rt: Runtime, t: Thread, old: Credential, n: Credential): void {
  if (
    old.euid !== n.euid ||
    old.egid !== n.egid ||
    old.fsuid !== n.fsuid ||
    old.fsgid !== n.fsgid ||
    (n.prmLo & ~old.prmLo) !== 0 ||
    (n.prmHi & ~old.prmHi) !== 0
  ) {
    t.process.dumpable = rt.sysctl.suidDumpable;
  }
  t.cred.copyFrom(n);
}

/**
 * setuid(uid) — __sys_setuid:
 *   invalid uid → EINVAL
 *   CAP_SETUID: ruid = suid = uid; else uid must equal ruid or suid (EPERM)
 *   euid = fsuid = uid; fix-up ID
 */
export function sysSetuid(rt: Runtime, t: Thread, uid: number): SyscallResult {
  const old = t.cred;
  const kuid = makeKid(old, uid);
  if (kuid === INVALID) return R_EINVAL;
  const n = old.clone();
  // The kernel asks for CAP_SETUID first; without it the unprivileged rule may still allow the
  // call, so the decision is reported only when the capability decides.
  const d = rt.capableFor(t, 'setuid', CAP_SETUID);
  if (d.errno === 0) {
    reportSetid(rt, t, 'setuid', CAP_SETUID, d);
    n.ruid = n.suid = kuid;
  } else if (kuid !== old.ruid && kuid !== n.suid) {
    reportSetid(rt, t, 'setuid', CAP_SETUID, d);
    return R_EPERM;
  }
  n.fsuid = n.euid = kuid;
  fixSetuid(n, old, SetId.ID);
  commitCreds(rt, t, old, n);
  return OK;
}

/**
 * setreuid(ruid, euid) — __sys_setreuid; -1 leaves an id unchanged:
 *   ruid: must be old ruid or old euid, or CAP_SETUID (EPERM)
 *   euid: must be old ruid, euid or suid, or CAP_SETUID (EPERM)
 *   suid := new euid if ruid was given or the new euid differs from the old ruid
 *   fsuid := euid; fix-up RE
 */
export function sysSetreuid(rt: Runtime, t: Thread, ruid: number, euid: number): SyscallResult {
  const old = t.cred;
  const r = ruid >>> 0;
  const e = euid >>> 0;
  const kr = makeKid(old, r);
  const ke = makeKid(old, e);
  if (r !== ID_UNCHANGED && kr === INVALID) return R_EINVAL;
  if (e !== ID_UNCHANGED && ke === INVALID) return R_EINVAL;
  const n = old.clone();
  if (r !== ID_UNCHANGED) {
    n.ruid = kr;
    if (old.ruid !== kr && old.euid !== kr && !setidCapable(rt, t, 'setreuid', CAP_SETUID)) return R_EPERM;
  }
  if (e !== ID_UNCHANGED) {
    n.euid = ke;
    if (old.ruid !== ke && old.euid !== ke && old.suid !== ke && !setidCapable(rt, t, 'setreuid', CAP_SETUID)) {
      return R_EPERM;
    }
  }
  if (r !== ID_UNCHANGED || (e !== ID_UNCHANGED && ke !== old.ruid)) n.suid = n.euid;
  n.fsuid = n.euid;
  fixSetuid(n, old, SetId.RE);
  commitCreds(rt, t, old, n);
  return OK;
}

/**
 * setresuid(ruid, euid, suid) — __sys_setresuid; -1 leaves an id unchanged:
 *   invalid id → EINVAL
 *   no-op (every given id equals the current one, and euid == fsuid) → 0 at once
 *   any given id not among old {ruid, euid, suid} needs CAP_SETUID (EPERM)
 *   fsuid := euid; fix-up RES
 */
export function sysSetresuid(rt: Runtime, t: Thread, ruid: number, euid: number, suid: number): SyscallResult {
  const old = t.cred;
  const r = ruid >>> 0;
  const e = euid >>> 0;
  const s = suid >>> 0;
  const kr = makeKid(old, r);
  const ke = makeKid(old, e);
  const ks = makeKid(old, s);
  if (r !== ID_UNCHANGED && kr === INVALID) return R_EINVAL;
  if (e !== ID_UNCHANGED && ke === INVALID) return R_EINVAL;
  if (s !== ID_UNCHANGED && ks === INVALID) return R_EINVAL;
  if (
    (r === ID_UNCHANGED || kr === old.ruid) &&
    (e === ID_UNCHANGED || (ke === old.euid && ke === old.fsuid)) &&
    (s === ID_UNCHANGED || ks === old.suid)
  ) {
    return OK;
  }
  const isOld = (k: number) => k === old.ruid || k === old.euid || k === old.suid;
  const needs =
    (r !== ID_UNCHANGED && !isOld(kr)) || (e !== ID_UNCHANGED && !isOld(ke)) || (s !== ID_UNCHANGED && !isOld(ks));
  if (needs && !setidCapable(rt, t, 'setresuid', CAP_SETUID)) return R_EPERM;
  const n = old.clone();
  if (r !== ID_UNCHANGED) n.ruid = kr;
  if (e !== ID_UNCHANGED) n.euid = ke;
  if (s !== ID_UNCHANGED) n.suid = ks;
  n.fsuid = n.euid;
  fixSetuid(n, old, SetId.RES);
  commitCreds(rt, t, old, n);
  return OK;
}

/**
 * setfsuid(uid) — __sys_setfsuid; returns the old fsuid, never an errno:
 *   invalid uid (e.g. -1, the query idiom) → no change
 *   uid must be one of ruid, euid, suid, fsuid, or CAP_SETUID; otherwise silently no change
 *   only an actual change runs the FS fix-up
 */
export function sysSetfsuid(rt: Runtime, t: Thread, uid: number): SyscallResult {
  const old = t.cred;
  const oldFsuid = munged(old, old.fsuid);
  const kuid = makeKid(old, uid);
  if (kuid === INVALID) return ok(oldFsuid);
  if (
    kuid === old.ruid ||
    kuid === old.euid ||
    kuid === old.suid ||
    kuid === old.fsuid ||
    setidCapable(rt, t, 'setfsuid', CAP_SETUID)
  ) {
    if (kuid !== old.fsuid) {
      const n = old.clone();
      n.fsuid = kuid;
      fixSetuid(n, old, SetId.FS);
      commitCreds(rt, t, old, n);
    }
  }
  return ok(oldFsuid);
}

/**
 * setgid(gid) — __sys_setgid: CAP_SETGID sets rgid, egid, sgid, fsgid; otherwise gid must be
 * rgid or sgid and sets egid, fsgid (EPERM). No capability fix-ups for gids.
 */
export function sysSetgid(rt: Runtime, t: Thread, gid: number): SyscallResult {
  const old = t.cred;
  const kgid = makeKgid(old, gid);
  if (kgid === INVALID) return R_EINVAL;
  const n = old.clone();
  const d = rt.capableFor(t, 'setgid', CAP_SETGID);
  if (d.errno === 0) {
    reportSetid(rt, t, 'setgid', CAP_SETGID, d);
    n.rgid = n.egid = n.sgid = n.fsgid = kgid;
  } else if (kgid === old.rgid || kgid === old.sgid) {
    n.egid = n.fsgid = kgid;
  } else {
    reportSetid(rt, t, 'setgid', CAP_SETGID, d);
    return R_EPERM;
  }
  commitCreds(rt, t, old, n);
  return OK;
}

/** setregid(rgid, egid) — __sys_setregid, the gid twin of setreuid. */
export function sysSetregid(rt: Runtime, t: Thread, rgid: number, egid: number): SyscallResult {
  const old = t.cred;
  const r = rgid >>> 0;
  const e = egid >>> 0;
  const kr = makeKgid(old, r);
  const ke = makeKgid(old, e);
  if (r !== ID_UNCHANGED && kr === INVALID) return R_EINVAL;
  if (e !== ID_UNCHANGED && ke === INVALID) return R_EINVAL;
  const n = old.clone();
  if (r !== ID_UNCHANGED) {
    if (old.rgid === kr || old.egid === kr || setidCapable(rt, t, 'setregid', CAP_SETGID)) n.rgid = kr;
    else return R_EPERM;
  }
  if (e !== ID_UNCHANGED) {
    if (old.rgid === ke || old.egid === ke || old.sgid === ke || setidCapable(rt, t, 'setregid', CAP_SETGID))
      n.egid = ke;
    else return R_EPERM;
  }
  if (r !== ID_UNCHANGED || (e !== ID_UNCHANGED && ke !== old.rgid)) n.sgid = n.egid;
  n.fsgid = n.egid;
  commitCreds(rt, t, old, n);
  return OK;
}

/** setresgid(rgid, egid, sgid) — __sys_setresgid, the gid twin of setresuid (no-op fast path included). */
export function sysSetresgid(rt: Runtime, t: Thread, rgid: number, egid: number, sgid: number): SyscallResult {
  const old = t.cred;
  const r = rgid >>> 0;
  const e = egid >>> 0;
  const s = sgid >>> 0;
  const kr = makeKgid(old, r);
  const ke = makeKgid(old, e);
  const ks = makeKgid(old, s);
  if (r !== ID_UNCHANGED && kr === INVALID) return R_EINVAL;
  if (e !== ID_UNCHANGED && ke === INVALID) return R_EINVAL;
  if (s !== ID_UNCHANGED && ks === INVALID) return R_EINVAL;
  if (
    (r === ID_UNCHANGED || kr === old.rgid) &&
    (e === ID_UNCHANGED || (ke === old.egid && ke === old.fsgid)) &&
    (s === ID_UNCHANGED || ks === old.sgid)
  ) {
    return OK;
  }
  const isOld = (k: number) => k === old.rgid || k === old.egid || k === old.sgid;
  const needs =
    (r !== ID_UNCHANGED && !isOld(kr)) || (e !== ID_UNCHANGED && !isOld(ke)) || (s !== ID_UNCHANGED && !isOld(ks));
  if (needs && !setidCapable(rt, t, 'setresgid', CAP_SETGID)) return R_EPERM;
  const n = old.clone();
  if (r !== ID_UNCHANGED) n.rgid = kr;
  if (e !== ID_UNCHANGED) n.egid = ke;
  if (s !== ID_UNCHANGED) n.sgid = ks;
  n.fsgid = n.egid;
  commitCreds(rt, t, old, n);
  return OK;
}

/** setfsgid(gid) — __sys_setfsgid: returns the old fsgid; changes it if gid is one of the caller's gids or with CAP_SETGID. */
export function sysSetfsgid(rt: Runtime, t: Thread, gid: number): SyscallResult {
  const old = t.cred;
  const oldFsgid = mungedGid(old, old.fsgid);
  const kgid = makeKgid(old, gid);
  if (kgid === INVALID) return ok(oldFsgid);
  if (
    kgid === old.rgid ||
    kgid === old.egid ||
    kgid === old.sgid ||
    kgid === old.fsgid ||
    setidCapable(rt, t, 'setfsgid', CAP_SETGID)
  ) {
    if (kgid !== old.fsgid) {
      const n = old.clone();
      n.fsgid = kgid;
      commitCreds(rt, t, old, n);
    }
  }
  return ok(oldFsgid);
}

/**
 * setgroups(size, list) — kernel/groups.c:
 *   !may_setgroups() (CAP_SETGID in E; setgroups allowed in the user ns) → EPERM
 *   (unsigned) size > NGROUPS_MAX → EINVAL
 *   copy the list (size entries) → EFAULT; an unmapped gid → EINVAL
 *   groups := sorted list
 * `list` is the user array: null (NULL: fine for size 0), BAD_ADDRESS, or the readable gids
 * (fewer than `size` readable entries → EFAULT).
 */
export function sysSetgroups(
  rt: Runtime,
  t: Thread,
  size: number,
  list: readonly number[] | BadAddress | null,
): SyscallResult {
  const old = t.cred;
  // may_setgroups(): CAP_SETGID, and userns_may_setgroups(): in a child namespace only once a
  // gid_map is written and /proc/PID/setgroups is not "deny".
  const ns = old.userns;
  const nsAllows = ns.level === 0 || (ns.gidMap !== undefined && ns.setgroupsAllowed);
  if (!setidCapable(rt, t, 'setgroups', CAP_SETGID) || !nsAllows) return R_EPERM;
  const n32 = size >>> 0;
  if (n32 > NGROUPS_MAX) return R_EINVAL;
  if (n32 > 0) {
    if (list === null || list === BAD_ADDRESS || list.length < n32) return R_EFAULT;
  }
  const gids: number[] = [];
  for (let i = 0; i < n32; i++) {
    const k = makeKgid(old, (list as readonly number[])[i]!);
    if (k === INVALID) return R_EINVAL;
    gids.push(k);
  }
  const n = old.clone();
  n.groups = sortedGroups(gids);
  commitCreds(rt, t, old, n);
  return OK;
}
