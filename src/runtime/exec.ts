/**
 * execve(2)'s credential transformation, Linux 6.18: fs/exec.c (bprm_fill_uid,
 * begin_new_exec, de_thread) and security/commoncap.c (cap_bprm_creds_from_file,
 * get_file_caps, bprm_caps_from_vfs_caps, handle_privileged_root). Only the credential side is
 * modelled: the file is described by the caller (its capabilities, mode bits and owner, and
 * whether its mount is nosuid), and the exec is assumed to succeed in every other respect.
 */

import { CapctlError } from '../caps/errors.js';
import { decodeFileCaps, type FileCaps } from '../caps/xattr.js';
import { S_ISGID, S_ISUID, S_IXGRP, SECBIT_KEEP_CAPS, SECURE_NOROOT, VALID_HI } from './abi.js';
import { CAP_SETUID } from './caps-const.js';
import type { Credential, UserNamespace } from './credential.js';
import { EINVAL, EPERM, ERANGE } from './errno.js';
import type { SyscallResult } from './result.js';
import type { Runtime } from './runtime.js';
import { commitCreds, rootUid } from './setid.js';
import type { Thread } from './task.js';

/** The executed file, as far as the credential computation needs it. */
export interface ExecFile {
  /**
   * security.capability: the raw xattr bytes (decoded as get_vfs_caps_from_disk() does: a
   * malformed value fails the exec with EINVAL), an already decoded value, or null/undefined
   * for none.
   */
  fileCaps?: Uint8Array | FileCaps | null;
  /** st_mode permission bits; only S_ISUID, S_ISGID and S_IXGRP matter (default 0o755). */
  mode?: number;
  /** File owner uid and gid (default 0, 0). */
  uid?: number;
  gid?: number;
  /** The file's mount has MS_NOSUID: set-id bits and file capabilities are ignored. */
  nosuid?: boolean;
  /** The caller cannot read the file (BINPRM_FLAGS_ENFORCE_NONDUMP): the new mm is not dumpable. */
  unreadable?: boolean;
}

/** Exec-time conditions that are not credentials (check_unsafe_exec()). */
export interface ExecOptions {
  /**
   * The fs_struct is shared with a task outside the thread group (LSM_UNSAFE_SHARE). Default:
   * derived from the runtime's clone(CLONE_FS) history.
   */
  sharedFs?: boolean;
  /** Being ptrace()d by a tracer without CAP_SYS_PTRACE over the new user ns (LSM_UNSAFE_PTRACE). */
  tracedByUnprivileged?: boolean;
  /** The boot option no_file_caps (file_caps_enabled = 0). */
  fileCapsDisabled?: boolean;
}

export interface ExecResult extends SyscallResult {
  /** AT_SECURE in the new program's auxv (bprm->secureexec); undefined when exec failed. */
  readonly atSecure?: boolean;
  /** The caller's tid after exec: a non-leader thread takes over the thread-group id. */
  readonly tid?: number;
}

const FAIL_EPERM: ExecResult = Object.freeze({ ret: -1, errno: EPERM });
const FAIL_EINVAL: ExecResult = Object.freeze({ ret: -1, errno: EINVAL });
const FAIL_ERANGE: ExecResult = Object.freeze({ ret: -1, errno: ERANGE });

interface FileCapWords {
  effective: boolean;
  pLo: number;
  pHi: number;
  iLo: number;
  iHi: number;
  rootid: number;
}

function fileCapWords(fc: Uint8Array | FileCaps): FileCapWords | 'einval' {
  let d: FileCaps;
  if (fc instanceof Uint8Array) {
    try {
      d = decodeFileCaps(fc);
    } catch (e) {
      if (e instanceof CapctlError) return 'einval';
      throw e;
    }
  } else {
    d = fc;
  }
  // cpu_vfs_cap_data: values masked to CAP_VALID_MASK (bits 41..63 stored but ignored).
  return {
    effective: d.effective,
    pLo: d.permitted.lo,
    pHi: d.permitted.hi & VALID_HI,
    iLo: d.inheritable.lo,
    iHi: d.inheritable.hi & VALID_HI,
    rootid: d.rootid,
  };
}

/**
 * execve(file): returns 0 (and AT_SECURE) or the errno; on success the calling thread's
 * credential is the new one and, if the caller was not the thread-group leader, it becomes the
 * leader (its tid becomes the tgid) and every other thread of the process is gone (de_thread()).
 *
 * Formulas (all right-hand sets are the old ones; X' = new):
 *   euid' = S_ISUID ? file uid : euid; egid' = (S_ISGID && S_IXGRP) ? file gid : egid
 *     — both skipped under no_new_privs or a nosuid mount (bprm_fill_uid)
 *   P' = (B & fP) | (I & fI); fE && fP ⊄ P' → EPERM          (bprm_caps_from_vfs_caps)
 *   unless SECBIT_NOROOT (handle_privileged_root):
 *     has_fcap && euid' == 0 && ruid != 0 → keep file caps as they are
 *     else if euid' == 0 || ruid == 0 → P' = B | I; and euid' == 0 → effective
 *   id_changed = euid' != euid || egid' ∉ {fsgid} ∪ groups     (6.18)
 *   (id_changed || P' ⊄ P) && unsafe → (no CAP_SETUID || nnp: euid' = ruid, egid' = rgid); P' &= P
 *   suid' = fsuid' = euid'; sgid' = fsgid' = egid'
 *   A' = (has_fcap || id_changed) ? 0 : A; P' |= A'; E' = effective ? P' : A'
 *   securebits &= ~KEEP_CAPS
 *   AT_SECURE = id_changed || euid' != ruid || egid' != rgid || (ruid != root && (effective || P' ⊄ A'))
 */
export function sysExecve(rt: Runtime, t: Thread, file: ExecFile, opts: ExecOptions = {}): ExecResult {
  const old = t.cred;
  const n: Credential = old.clone();
  const nnp = old.noNewPrivs;
  const mode = file.mode ?? 0o755;
  const suidOk = !file.nosuid;

  // bprm_fill_uid(): set-id bits, skipped on nosuid mounts and under no_new_privs, and when the
  // owner has no mapping in the caller's user namespace (every owner is unmapped in a child ns
  // of this model).
  const fileUid = (file.uid ?? 0) >>> 0;
  const fileGid = (file.gid ?? 0) >>> 0;
  if (
    suidOk &&
    !nnp &&
    (mode & (S_ISUID | S_ISGID)) !== 0 &&
    old.userns.fromKuid(fileUid) >= 0 &&
    old.userns.fromKgid(fileGid) >= 0
  ) {
    if (mode & S_ISUID) n.euid = fileUid;
    if ((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) n.egid = fileGid;
  }

  // get_file_caps(): pP' starts empty.
  n.prmLo = n.prmHi = 0;
  let effective = false;
  let hasFcap = false;
  const root = rootUid(old);
  if (!opts.fileCapsDisabled && suidOk && file.fileCaps) {
    // The kernel reads at most XATTR_CAPS_SZ (24) bytes: a longer value is -ERANGE from
    // __vfs_getxattr(), which fails the exec; a shorter or inconsistent one is -EINVAL.
    if (file.fileCaps instanceof Uint8Array && file.fileCaps.length > 24) return FAIL_ERANGE;
    const fc = fileCapWords(file.fileCaps);
    if (fc === 'einval') return FAIL_EINVAL;
    // get_vfs_caps_from_disk() / rootid_owns_currentns(): the rootid (v1/v2: the fs's root,
    // kuid 0 on the initial-namespace mounts modelled here) must be uid 0 of the caller's user
    // namespace or of an ancestor; otherwise -ENODATA, i.e. no file capabilities.
    let rootidOwns = false;
    for (let ns: UserNamespace | undefined = old.userns; ns; ns = ns.parent) {
      if (ns.toKuid(0) === fc.rootid) rootidOwns = true;
    }
    if (rootidOwns) {
      if (fc.effective) effective = true;
      hasFcap = true;
      n.prmLo = ((old.bndLo & fc.pLo) | (old.inhLo & fc.iLo)) >>> 0;
      n.prmHi = ((old.bndHi & fc.pHi) | (old.inhHi & fc.iHi)) >>> 0;
      // "insufficient to execute correctly": only when the file says effective.
      if (effective && ((fc.pLo & ~n.prmLo) !== 0 || (fc.pHi & ~n.prmHi) !== 0)) {
        if (rt.listening) {
          rt.emitRule(
            t,
            'execve',
            -1,
            EPERM,
            'file-capabilities',
            'file permitted set exceeds (B & fP) | (I & fI) with fE set',
          );
        }
        return FAIL_EPERM;
      }
    }
  }

  // handle_privileged_root()
  if (!old.secure(SECURE_NOROOT)) {
    const euidRoot = n.euid === root;
    const ruidRoot = n.ruid === root;
    if (hasFcap && euidRoot && !ruidRoot) {
      // set-uid-root binary that also has file capabilities: file caps win (kernel warns once).
    } else {
      if (euidRoot || ruidRoot) {
        n.prmLo = (old.bndLo | old.inhLo) >>> 0;
        n.prmHi = (old.bndHi | old.inhHi) >>> 0;
      }
      if (euidRoot) effective = true;
    }
  }

  // 6.18: the ids changed if the new euid differs or the new egid is not one the caller holds.
  const idChanged = n.euid !== old.euid || !old.inGroup(n.egid);
  const capGained = (n.prmLo & ~old.prmLo) !== 0 || (n.prmHi & ~old.prmHi) !== 0;
  // check_unsafe_exec(): the fs_struct is shared with a task outside the thread group.
  let groupFsUsers = 0;
  for (const o of t.process.threads) if (!o.exited && o.fs === t.fs) groupFsUsers++;
  const sharedFs = opts.sharedFs ?? t.fs.users > groupFsUsers;
  const unsafe = nnp || sharedFs || opts.tracedByUnprivileged === true;
  if ((idChanged || capGained) && unsafe) {
    // ns_capable(CAP_SETUID) is asked of the current (old) credential.
    // ns_capable() goes to the host like every other capability use (a profile restricts it).
    if (
      nnp ||
      !rt.ruleCapable(
        t,
        'execve',
        CAP_SETUID,
        'unsafe exec: CAP_SETUID keeps the new ids',
        'unsafe exec: ids not changed without CAP_SETUID',
      )
    ) {
      n.euid = n.ruid;
      n.egid = n.rgid;
    }
    n.prmLo = (n.prmLo & old.prmLo) >>> 0;
    n.prmHi = (n.prmHi & old.prmHi) >>> 0;
  }
  n.suid = n.fsuid = n.euid;
  n.sgid = n.fsgid = n.egid;

  if (hasFcap || idChanged) n.ambLo = n.ambHi = 0;
  n.prmLo = (n.prmLo | n.ambLo) >>> 0;
  n.prmHi = (n.prmHi | n.ambHi) >>> 0;
  if (effective) {
    n.effLo = n.prmLo;
    n.effHi = n.prmHi;
  } else {
    n.effLo = n.ambLo;
    n.effHi = n.ambHi;
  }
  n.securebits &= ~SECBIT_KEEP_CAPS;

  const grew = (n.prmLo & ~n.ambLo) !== 0 || (n.prmHi & ~n.ambHi) !== 0;
  const atSecure = idChanged || n.euid !== n.ruid || n.egid !== n.rgid || (n.ruid !== root && (effective || grew));

  // Past the point of no return: de_thread(), dumpability, commit_creds().
  deThread(rt, t);
  const p = t.process;
  p.dumpable = file.unreadable || old.euid !== old.ruid || old.egid !== old.rgid ? rt.sysctl.suidDumpable : 1;
  commitCreds(rt, t, old, n);
  if (rt.listening) rt.emitRule(t, 'execve', -1, 0, 'exec', atSecure ? 'exec (AT_SECURE)' : 'exec');
  return Object.freeze({ ret: 0, errno: 0, atSecure, tid: t.tid });
}

/** de_thread(): every other thread of the group dies; a non-leader caller takes the tgid as its tid. */
function deThread(rt: Runtime, t: Thread): void {
  rt.deThread(t);
}
