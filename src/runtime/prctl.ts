/**
 * prctl(2) capability options: security/commoncap.c cap_task_prctl() (which answers before the
 * generic switch in kernel/sys.c) plus PR_SET/GET_NO_NEW_PRIVS and PR_SET/GET_DUMPABLE from
 * kernel/sys.c. Arguments are `unsigned long`: callers may pass numbers or bigints, and a
 * negative number means its 64-bit two's complement (-1 = 0xffffffffffffffff), as the C
 * argument would be.
 */

import {
  PR_CAP_AMBIENT,
  PR_CAP_AMBIENT_CLEAR_ALL,
  PR_CAP_AMBIENT_IS_SET,
  PR_CAP_AMBIENT_LOWER,
  PR_CAP_AMBIENT_RAISE,
  PR_CAPBSET_DROP,
  PR_CAPBSET_READ,
  PR_GET_DUMPABLE,
  PR_GET_KEEPCAPS,
  PR_GET_NO_NEW_PRIVS,
  PR_GET_SECUREBITS,
  PR_SET_DUMPABLE,
  PR_SET_KEEPCAPS,
  PR_SET_NO_NEW_PRIVS,
  PR_SET_SECUREBITS,
  SECBIT_KEEP_CAPS,
  SECURE_ALL_LOCKS,
  SECURE_KEEP_CAPS,
  SECURE_KEEP_CAPS_LOCKED,
  SECURE_NO_CAP_AMBIENT_RAISE,
} from './abi.js';
import { CAP_SETPCAP } from './caps-const.js';
import { EINVAL, EPERM } from './errno.js';
import { fail, OK, ok, type SyscallResult } from './result.js';
import type { Runtime } from './runtime.js';
import type { Thread } from './task.js';

/** An `unsigned long` syscall argument. */
export type ULong = number | bigint;

const MODELLED = new Set<number>([
  PR_GET_DUMPABLE,
  PR_SET_DUMPABLE,
  PR_GET_KEEPCAPS,
  PR_SET_KEEPCAPS,
  PR_CAPBSET_READ,
  PR_CAPBSET_DROP,
  PR_GET_SECUREBITS,
  PR_SET_SECUREBITS,
  PR_SET_NO_NEW_PRIVS,
  PR_GET_NO_NEW_PRIVS,
  PR_CAP_AMBIENT,
]);

/**
 * True for the prctl options the runtime models. For any other option `prctl()` answers
 * EINVAL as the kernel does for an unknown option, but a real kernel knows ~70 more options
 * (PR_SET_NAME, PR_SET_PDEATHSIG, ...), so a replay must report those as "not modelled"
 * rather than predict EINVAL: ask this predicate first.
 */
export function isModelledPrctl(option: ULong): boolean {
  return MODELLED.has(optionInt(option));
}

/** prctl's option is a C `int`: the low 32 bits of the register, signed. */
export function optionInt(option: ULong): number {
  if (typeof option === 'number' && Number.isInteger(option) && option >= -0x80000000 && option <= 0x7fffffff) {
    return option;
  }
  return Number(BigInt.asIntN(32, toU64(option)));
}

/** The 64-bit unsigned value of an `unsigned long` argument. */
export function toU64(v: ULong): bigint {
  if (typeof v === 'bigint') return BigInt.asUintN(64, v);
  if (!Number.isSafeInteger(v)) throw new RangeError(`prctl argument ${v} is not an integer`);
  return BigInt.asUintN(64, BigInt(v));
}

/**
 * The unsigned value of an argument as a number when it is a safe integer (the common case,
 * no allocation), else as a bigint above Number.MAX_SAFE_INTEGER. Mixed number/bigint
 * comparisons are exact in JavaScript, so `x <= 40` and `x === 0` work on either form.
 */
type U = number | bigint;
function norm(v: ULong): U {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return v;
  const b = toU64(v);
  return b <= 0x1fffffffffffffn ? Number(b) : b;
}

const R_EINVAL = fail(EINVAL);
const R_EPERM = fail(EPERM);

/** cap_valid(x): 0 <= x <= CAP_LAST_CAP (of the release), on the unsigned value. */
function capValid(rt: Runtime, x: U): boolean {
  return x <= rt.kernelConfig.lastCap;
}

export function sysPrctl(
  rt: Runtime,
  t: Thread,
  option: ULong,
  a2: ULong,
  a3: ULong,
  a4: ULong,
  a5: ULong,
): SyscallResult {
  const opt = optionInt(option);
  const arg2 = norm(a2);
  const c = t.cred;
  switch (opt) {
    case PR_CAPBSET_READ:
      // if (!cap_valid(arg2)) return -EINVAL; return !!cap_raised(cap_bset, arg2);
      if (!capValid(rt, arg2)) return R_EINVAL;
      return ok(c.hasBounding(Number(arg2)) ? 1 : 0);

    case PR_CAPBSET_DROP: {
      // cap_prctl_drop(): CAP_SETPCAP in E first (EPERM), then cap_valid (EINVAL); B only.
      // The host decides (a profile restricts it); reported once, allowed or not.
      if (
        !rt.ruleCapable(
          t,
          'prctl',
          CAP_SETPCAP,
          'PR_CAPBSET_DROP with CAP_SETPCAP',
          'PR_CAPBSET_DROP needs CAP_SETPCAP',
        )
      )
        return R_EPERM;
      if (!capValid(rt, arg2)) return R_EINVAL;
      const cap = Number(arg2);
      if (cap < 32) c.bndLo = (c.bndLo & ~(1 << cap)) >>> 0;
      else c.bndHi = (c.bndHi & ~(1 << (cap - 32))) >>> 0;
      return OK;
    }

    case PR_GET_SECUREBITS:
      return ok(c.securebits);

    case PR_SET_SECUREBITS: {
      // EPERM if
      //  [1] ((old & ALL_LOCKS) >> 1) & (old ^ new)      a locked bit would change
      //  [2] old & ALL_LOCKS & ~new                       a set lock would be cleared
      //  [3] new & ~(ALL_LOCKS | ALL_BITS)                an unsupported bit
      //  [4] (changed == 0 || changed & ~0xf00) && !capable(CAP_SETPCAP)
      //      only a real change confined to the EXEC_* bits and their locks (6.14+) is
      //      unprivileged; even a no-op needs CAP_SETPCAP.
      const old = c.securebits;
      // Bits above 0xfff only matter to [3]; [1] and [2] look at the low 12 bits.
      const low = typeof arg2 === 'number' && arg2 <= 0xffffffff ? arg2 & 0xfff : Number(BigInt(arg2) & 0xfffn);
      // Bits the release does not know (0x100..0x800 before 6.14, kernel-version.ts) are "unsupported".
      const beyond = arg2 > 0xfff || (low & ~rt.kernelConfig.securebitsValid) !== 0;
      const changedLow = old ^ low;
      let why = '';
      let needsCap = false;
      if (((old & SECURE_ALL_LOCKS) >> 1) & changedLow) why = 'a locked securebit would change';
      else if (old & SECURE_ALL_LOCKS & ~low) why = 'a set lock bit would be cleared';
      else if (beyond) why = 'bits outside 0xfff';
      else if (changedLow === 0 || (changedLow & ~0xf00) !== 0) {
        needsCap = true;
        const d = rt.capableFor(t, 'prctl', CAP_SETPCAP);
        if (rt.listening)
          rt.reportCapable(
            t,
            'prctl',
            CAP_SETPCAP,
            d,
            'PR_SET_SECUREBITS allowed',
            'PR_SET_SECUREBITS needs CAP_SETPCAP',
          );
        if (d.errno !== 0) return R_EPERM;
      }
      if (why !== '') {
        if (rt.listening) rt.emitRule(t, 'prctl', -1, EPERM, 'securebits', why);
        return R_EPERM;
      }
      c.securebits = low;
      if (rt.listening && !needsCap) rt.emitRule(t, 'prctl', CAP_SETPCAP, 0, 'capability', 'PR_SET_SECUREBITS allowed');
      return OK;
    }

    case PR_GET_KEEPCAPS:
      return ok(c.secure(SECURE_KEEP_CAPS) ? 1 : 0);

    case PR_SET_KEEPCAPS:
      // arg2 > 1 (unsigned) → EINVAL; KEEP_CAPS_LOCKED → EPERM; no privilege needed.
      if (arg2 > 1) return R_EINVAL;
      if (c.secure(SECURE_KEEP_CAPS_LOCKED)) {
        if (rt.listening) rt.emitRule(t, 'prctl', -1, EPERM, 'securebits', 'SECBIT_KEEP_CAPS is locked');
        return R_EPERM;
      }
      c.securebits = arg2 === 1 ? c.securebits | SECBIT_KEEP_CAPS : c.securebits & ~SECBIT_KEEP_CAPS;
      return OK;

    case PR_CAP_AMBIENT:
      // Before 4.3 the option does not exist (kernel-version.ts).
      if (!rt.kernelConfig.ambient) return R_EINVAL;
      return ambient(rt, t, arg2, norm(a3), norm(a4), norm(a5));

    case PR_SET_NO_NEW_PRIVS:
      // if (arg2 != 1 || arg3 || arg4 || arg5) return -EINVAL; sticky, per thread.
      if (arg2 !== 1 || norm(a3) !== 0 || norm(a4) !== 0 || norm(a5) !== 0) return R_EINVAL;
      c.noNewPrivs = true;
      return OK;

    case PR_GET_NO_NEW_PRIVS:
      if (arg2 !== 0 || norm(a3) !== 0 || norm(a4) !== 0 || norm(a5) !== 0) return R_EINVAL;
      return ok(c.noNewPrivs ? 1 : 0);

    case PR_GET_DUMPABLE:
      return ok(t.process.dumpable);

    case PR_SET_DUMPABLE:
      // if (arg2 != SUID_DUMP_DISABLE && arg2 != SUID_DUMP_USER) return -EINVAL;
      if (arg2 !== 0 && arg2 !== 1) return R_EINVAL;
      t.process.dumpable = arg2 === 1 ? 1 : 0;
      return OK;

    default:
      // security_task_prctl() and the generic switch know nothing of it.
      return R_EINVAL;
  }
}

/**
 * PR_CAP_AMBIENT (cap_task_prctl):
 *   CLEAR_ALL: arg3|arg4|arg5 → EINVAL; A := 0
 *   otherwise !cap_valid(arg3) | arg4 | arg5 → EINVAL (even for an unknown arg2)
 *   IS_SET → !!(A & cap); arg2 ∉ {RAISE, LOWER} → EINVAL
 *   RAISE: cap ∉ P || cap ∉ I || SECBIT_NO_CAP_AMBIENT_RAISE → EPERM; A |= cap
 *   LOWER: A &= ~cap
 */
function ambient(rt: Runtime, t: Thread, arg2: U, arg3: U, arg4: U, arg5: U): SyscallResult {
  const c = t.cred;
  if (arg2 === PR_CAP_AMBIENT_CLEAR_ALL) {
    if (arg3 !== 0 || arg4 !== 0 || arg5 !== 0) return R_EINVAL;
    c.ambLo = 0;
    c.ambHi = 0;
    return OK;
  }
  if (!capValid(rt, arg3) || arg4 !== 0 || arg5 !== 0) return R_EINVAL;
  const cap = Number(arg3);
  if (arg2 === PR_CAP_AMBIENT_IS_SET) return ok(c.hasAmbient(cap) ? 1 : 0);
  if (arg2 !== PR_CAP_AMBIENT_RAISE && arg2 !== PR_CAP_AMBIENT_LOWER) return R_EINVAL;
  if (arg2 === PR_CAP_AMBIENT_RAISE) {
    if (!c.hasPermitted(cap) || !c.hasInheritable(cap) || c.secure(SECURE_NO_CAP_AMBIENT_RAISE)) {
      if (rt.listening) {
        const why = c.secure(SECURE_NO_CAP_AMBIENT_RAISE)
          ? 'SECBIT_NO_CAP_AMBIENT_RAISE is set'
          : 'ambient raise needs the capability in both permitted and inheritable';
        rt.emitRule(t, 'prctl', cap, EPERM, 'ambient', why);
      }
      return R_EPERM;
    }
    if (cap < 32) c.ambLo = (c.ambLo | (1 << cap)) >>> 0;
    else c.ambHi = (c.ambHi | (1 << (cap - 32))) >>> 0;
    if (rt.listening) rt.emitRule(t, 'prctl', cap, 0, 'ambient', 'capability in permitted and inheritable');
    return OK;
  }
  if (cap < 32) c.ambLo = (c.ambLo & ~(1 << cap)) >>> 0;
  else c.ambHi = (c.ambHi & ~(1 << (cap - 32))) >>> 0;
  return OK;
}
