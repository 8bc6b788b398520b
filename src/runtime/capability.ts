/**
 * capget(2) and capset(2): kernel/capability.c (SYSCALL_DEFINE2(capget/capset),
 * cap_validate_magic, cap_get_target_pid) and security/commoncap.c (cap_capget, cap_capset).
 * Integer work on the raw words; nothing is allocated unless a decision listener is attached.
 */

import {
  _LINUX_CAPABILITY_U32S_1,
  _LINUX_CAPABILITY_U32S_3,
  _LINUX_CAPABILITY_VERSION_1,
  _LINUX_CAPABILITY_VERSION_2,
  _LINUX_CAPABILITY_VERSION_3,
} from './abi.js';
import { CAP_SETPCAP } from './caps-const.js';
import { EFAULT, EINVAL, EPERM, ESRCH } from './errno.js';
import {
  BAD_ADDRESS,
  type BadAddress,
  type CapUserData,
  type CapUserHeader,
  fail,
  OK,
  type SyscallResult,
} from './result.js';
import type { Runtime } from './runtime.js';
import type { Thread } from './task.js';

const R_EFAULT = fail(EFAULT);
const R_EINVAL = fail(EINVAL);
const R_EPERM = fail(EPERM);
const R_ESRCH = fail(ESRCH);

/**
 * cap_validate_magic(): the number of data elements the version transfers (1 or 2), or a
 * negative errno. An unknown version is answered by writing _LINUX_CAPABILITY_VERSION_3 back
 * into hdr->version (put_user; a fault there is EFAULT) and EINVAL.
 */
function validateMagic(hdr: CapUserHeader | BadAddress | null): number {
  if (hdr === null || hdr === BAD_ADDRESS) return -EFAULT; // get_user(version) faults
  switch (hdr.version >>> 0) {
    case _LINUX_CAPABILITY_VERSION_1:
      return _LINUX_CAPABILITY_U32S_1; // warn_legacy_capability_use(), once per boot
    case _LINUX_CAPABILITY_VERSION_2:
      return _LINUX_CAPABILITY_U32S_3; // warn_deprecated_v2(), once per boot
    case _LINUX_CAPABILITY_VERSION_3:
      return _LINUX_CAPABILITY_U32S_3;
    default:
      if (hdr.writable === false) return -EFAULT;
      hdr.version = _LINUX_CAPABILITY_VERSION_3;
      return -EINVAL;
  }
}

function accessible(data: CapUserData): number {
  return data.accessibleBytes ?? data.words.length * 4;
}

/**
 * capget(hdr, data), in the kernel's order:
 *   1. version: fault → EFAULT; unknown → write back v3, result EINVAL
 *   2. data == NULL → 0 if the result is 0 or EINVAL (version probe; pid never read), else EFAULT
 *   3. result EINVAL → EINVAL
 *   4. pid: fault → EFAULT; pid < 0 → EINVAL
 *   5. pid 0 or own tid → caller; else find_task_by_vpid(pid) over the whole runtime → ESRCH
 *   6. copy_to_user of 3 (v1) or 6 (v2/v3) u32 words → EFAULT if not all writable
 * No permission check: cap_capget() lets any task read any visible task's sets.
 */
export function sysCapget(
  rt: Runtime,
  t: Thread,
  hdr: CapUserHeader | BadAddress | null,
  data: CapUserData | BadAddress | null,
): SyscallResult {
  const tocopy = validateMagic(hdr);
  if (data === null || tocopy < 0) {
    if (data === null) return tocopy === -EINVAL || tocopy > 0 ? OK : fail(-tocopy);
    return fail(-tocopy);
  }
  const h = hdr as CapUserHeader;
  if (h.pidReadable === false) return R_EFAULT;
  const pid = h.pid | 0;
  if (pid < 0) return R_EINVAL;
  let target: Thread | undefined = t;
  if (pid !== 0 && pid !== t.tid) {
    target = rt.findThread(pid);
    if (target === undefined) return R_ESRCH;
  }
  if (data === BAD_ADDRESS) return R_EFAULT;
  const c = target.cred;
  const w = data.words;
  const bytes = accessible(data);
  // copy_to_user copies up to the fault; element words are written in order.
  const words = tocopy * 3;
  const n = Math.min(words, bytes >>> 2, w.length);
  if (n > 0) w[0] = c.effLo;
  if (n > 1) w[1] = c.prmLo;
  if (n > 2) w[2] = c.inhLo;
  if (n > 3) w[3] = c.effHi;
  if (n > 4) w[4] = c.prmHi;
  if (n > 5) w[5] = c.inhHi;
  return n < words ? R_EFAULT : OK;
}

/**
 * capset(hdr, data), in the kernel's order:
 *   1. version (as capget; data not looked at yet)
 *   2. pid: fault → EFAULT; pid != 0 && pid != caller's tid → EPERM
 *   3. copy_from_user of 3/6 words → EFAULT (NULL data included)
 *   4. sets := lo | hi << 32 (v1: hi = 0), each & CAP_VALID_MASK
 *   5. cap_capset() rules → EPERM, else commit on the calling thread only
 */
export function sysCapset(
  rt: Runtime,
  t: Thread,
  hdr: CapUserHeader | BadAddress | null,
  data: CapUserData | BadAddress | null,
): SyscallResult {
  const tocopy = validateMagic(hdr);
  if (tocopy < 0) return fail(-tocopy);
  const h = hdr as CapUserHeader;
  if (h.pidReadable === false) return R_EFAULT;
  const pid = h.pid | 0;
  // "may only affect current now": task_pid_vnr(current) is the caller's tid.
  if (pid !== 0 && pid !== t.tid) {
    if (rt.listening)
      rt.emitRule(t, 'capset', -1, EPERM, 'pid', `capset may only change the calling thread (pid ${pid})`);
    return R_EPERM;
  }
  if (data === null || data === BAD_ADDRESS) return R_EFAULT;
  const words = tocopy * 3;
  if (accessible(data) < words * 4 || data.words.length < words) return R_EFAULT;
  const w = data.words;
  const eLo = w[0]! >>> 0;
  const pLo = w[1]! >>> 0;
  const iLo = w[2]! >>> 0;
  let eHi = 0;
  let pHi = 0;
  let iHi = 0;
  if (tocopy === 2) {
    // CAP_VALID_MASK of the running release (caps beyond CAP_LAST_CAP are dropped).
    const valid = rt.validHi;
    eHi = (w[3]! & valid) >>> 0;
    pHi = (w[4]! & valid) >>> 0;
    iHi = (w[5]! & valid) >>> 0;
  }
  // cap_capset() (security/commoncap.c), inlined so the words stay in registers. Old = current credential.
  //   [1] !capable(CAP_SETPCAP in old E) && I' ⊄ (old I | old P)  → EPERM
  //   [2] I' ⊄ (old I | old B)                                    → EPERM
  //   [3] P' ⊄ old P                                              → EPERM
  //   [4] E' ⊄ P'                                                 → EPERM
  //   then E, P, I := E', P', I' and A := old A & P' & I' (ambient invariant).
  const c = t.cred;
  // [1] cap_inh_is_capped(): CAP_SETPCAP in the caller's effective set lifts the I ⊆ I ∪ P cap.
  // The host is asked only when the capability decides (I' grows beyond old I | P): that is the
  // kernel's capable() call, which a profile or a jail restricts like any other use.
  const setpcap = c.hasEffective(CAP_SETPCAP);
  if ((iLo & ~(c.inhLo | c.prmLo)) !== 0 || (iHi & ~(c.inhHi | c.prmHi)) !== 0) {
    const d = rt.capableFor(t, 'capset', CAP_SETPCAP);
    if (d.errno !== 0) {
      if (rt.listening) {
        rt.reportCapable(
          t,
          'capset',
          CAP_SETPCAP,
          d,
          'CAP_SETPCAP allows it',
          'new inheritable exceeds old I | P without CAP_SETPCAP',
        );
      }
      return R_EPERM;
    }
  }
  // [2] Even with CAP_SETPCAP, new I bits must come from old I or the bounding set.
  if ((iLo & ~(c.inhLo | c.bndLo)) !== 0 || (iHi & ~(c.inhHi | c.bndHi)) !== 0) {
    if (rt.listening) rt.emitRule(t, 'capset', -1, EPERM, 'bounding', 'new inheritable exceeds old I | B');
    return R_EPERM;
  }
  // [3] Permitted never grows.
  if ((pLo & ~c.prmLo) !== 0 || (pHi & ~c.prmHi) !== 0) {
    if (rt.listening) rt.emitRule(t, 'capset', -1, EPERM, 'permitted', 'new permitted exceeds old permitted');
    return R_EPERM;
  }
  // [4] Effective within the new permitted.
  if ((eLo & ~pLo) !== 0 || (eHi & ~pHi) !== 0) {
    if (rt.listening) rt.emitRule(t, 'capset', -1, EPERM, 'effective', 'new effective exceeds new permitted');
    return R_EPERM;
  }
  c.effLo = eLo;
  c.effHi = eHi;
  c.prmLo = pLo;
  c.prmHi = pHi;
  c.inhLo = iLo;
  c.inhHi = iHi;
  // pA' = pA & pP' & pI'
  c.ambLo = (c.ambLo & pLo & iLo) >>> 0;
  c.ambHi = (c.ambHi & pHi & iHi) >>> 0;
  if (rt.listening) {
    rt.emitRule(t, 'capset', setpcap ? CAP_SETPCAP : -1, 0, 'capability', 'capset rules satisfied');
  }
  return OK;
}
