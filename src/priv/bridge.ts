/**
 * The Linux bridge: a Linux-ABI thread on a FreeBSD host. Three things decide a privilege when
 * it is used:
 *
 *   granted(priv) = jail allows priv  &&  profile allows priv  &&
 *                   (pE & profileCaps) holds a capability mapped to priv   (check.ts, stage 5)
 *
 * and capget reports what is really possible instead of the Linuxulator's all-zero answer:
 *
 *   reportable(cap) = suser_enabled && cap in profileCaps &&
 *       high(cap) != {}  ->  every p in high(cap) passes the JAIL for a thread holding all caps
 *       high(cap) == {}  ->  some p in privs(cap) passes the jail  (caps mapped only by analogy)
 *       cap has no FreeBSD counterpart -> true  (the engine keeps it, e.g. SETPCAP)
 *
 * The first case is the illumos LX rule (lx_brand capabilities.c sets a cap only if all its
 * privileges are in the matching Solaris set): a jail that refuses mknod of devices does not
 * pretend to give CAP_MKNOD.
 *
 * "Passes the jail" means priv_check against the jail alone (suser_enabled and the jail
 * parameters: `privPossibleInJail`), not the profile's per-privilege rules. A profile rule may
 * hold only for some system calls (`when: syscall: [socket]`) or uids, and capget carries no
 * operation to evaluate it with; a blanket `deny PRIV_*` beside such an allow would otherwise
 * hide the very capability the allow is for (ping.yaml: CAP_NET_RAW). The profile's say over
 * what capget reports is its capability sets (`profileCaps`, the 'profile' rule); each
 * operation is still decided at use by the full check above, profile rules included.
 *
 * The initial credential of a thread in the jail then has
 *
 *   uid 0:  pP = pE = pB = reportable,  pI = pA = 0
 *   uid !0: pP = pE = 0,  pB = reportable,  pI = pA = 0
 *
 * so capset within those sets succeeds and dropping works as on Linux (capset itself stays the
 * runtime's Linux implementation).
 */
import { CAP_COUNT } from '../caps/catalog.js';
import { bridgeCred, codeAllowed, compilePrison, FULL_HI, FULL_LO, type Prison, privCheck } from './check.js';
import { capHasNoCounterpart, privsForCap } from './mapping.js';

export interface CapWords {
  readonly lo: number;
  readonly hi: number;
}

/** Why a capability is or is not reportable in a prison (for `capctl cap explain` and docs). */
export interface CapReport {
  readonly cap: number;
  readonly reportable: boolean;
  readonly rule: 'no-counterpart' | 'all-high' | 'any-mapped' | 'profile' | 'suser';
  /** The privileges the jail refuses (for all-high) or that were tried (for any-mapped). */
  readonly failing: readonly number[];
}

/** Would priv_check allow `priv` for a bridged thread holding every capability in this prison (profile included)? */
export function privPossible(pr: Prison, priv: number): boolean {
  return codeAllowed(privCheck(bridgeCred(pr, 0, FULL_LO, FULL_HI), priv));
}

// The jail alone, compiled once per prison: every ucred of a jail shares its prison, so this
// runs once per jail + profile, not per capget.
const jailOnly = new WeakMap<Prison, Prison>();

/** The prison's jail without its profile (the same object when no profile is attached). */
export function jailPrison(pr: Prison): Prison {
  if (pr.policy === undefined) return pr;
  let j = jailOnly.get(pr);
  if (j === undefined) {
    j = compilePrison(pr.jail);
    jailOnly.set(pr, j);
  }
  return j;
}

/**
 * Would the jail (suser_enabled and its parameters) let a bridged thread holding every
 * capability use `priv`? The profile's rules are left out: capget reporting asks this (see
 * the comment at the top of this file).
 */
export function privPossibleInJail(pr: Prison, priv: number): boolean {
  return privPossible(jailPrison(pr), priv);
}

export function capReport(pr: Prison, cap: number): CapReport {
  const inProfile = cap < 32 ? (pr.capAllowLo >>> cap) & 1 : (pr.capAllowHi >>> (cap - 32)) & 1;
  if (!pr.suser) return { cap, reportable: false, rule: 'suser', failing: [] };
  if (!inProfile) return { cap, reportable: false, rule: 'profile', failing: [] };
  if (capHasNoCounterpart(cap)) return { cap, reportable: true, rule: 'no-counterpart', failing: [] };
  const high = privsForCap(cap, 'high');
  if (high.length > 0) {
    const failing = high.filter((p) => !privPossibleInJail(pr, p));
    return { cap, reportable: failing.length === 0, rule: 'all-high', failing };
  }
  const all = privsForCap(cap);
  const ok = all.some((p) => privPossibleInJail(pr, p));
  return { cap, reportable: ok, rule: 'any-mapped', failing: ok ? [] : all };
}

/** The capabilities capget may report in this prison, as two kernel words. */
export function reportableCaps(pr: Prison): CapWords {
  let lo = 0;
  let hi = 0;
  for (let c = 0; c < CAP_COUNT; c++) {
    if (!capReport(pr, c).reportable) continue;
    if (c < 32) lo |= 1 << c;
    else hi |= 1 << (c - 32);
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

export interface InitialCapSets {
  readonly effective: CapWords;
  readonly permitted: CapWords;
  readonly inheritable: CapWords;
  readonly bounding: CapWords;
  readonly ambient: CapWords;
}

const NONE: CapWords = Object.freeze({ lo: 0, hi: 0 });

/** The capability sets a thread starts with in this prison (see the formula above). */
export function initialCapSets(pr: Prison, uid: number): InitialCapSets {
  const r = reportableCaps(pr);
  const p = uid === 0 ? r : NONE;
  return { effective: p, permitted: p, inheritable: NONE, bounding: r, ambient: NONE };
}
