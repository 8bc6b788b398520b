/**
 * Contract 3: the profile hook into priv_check. A compiled profile (src/policy/, which imports
 * this file, never the other way round) answers two of priv_check_cred()'s stages the way a MAC
 * policy does on FreeBSD:
 *
 *  - the *veto* stage, which runs before the jail filter (mac_priv_check() in kern_priv.c), and
 *  - the *grant* stage, which runs after the superuser step (mac_priv_grant()),
 *
 * plus, for the Linux bridge, which capabilities the profile lets a thread hold at all.
 *
 * The answers are tables, not callbacks: priv_check is a hot path that does one typed-array read
 * per stage. The profile compiles its rules into `privVerdicts` once, when it is loaded.
 */
import { inputError } from '../caps/errors.js';

/** Privilege numbers index tables of this length (priv.h values run 2..710; 1024 leaves room). */
export const PRIV_TABLE_SIZE = 1024;

/** `privVerdicts[priv]`: the profile has no opinion; the other stages decide. */
export const POLICY_NONE = 0;
/** `privVerdicts[priv]`: the profile vetoes the privilege (EPERM before the jail filter runs). */
export const POLICY_DENY = 1;
/**
 * `privVerdicts[priv]`: the profile grants the privilege at the grant stage, as mac_priv_grant()
 * does (e.g. mac_portacl for reserved ports). The jail filter still runs first and can refuse.
 */
export const POLICY_GRANT = 2;

export type PolicyVerdict = typeof POLICY_NONE | typeof POLICY_DENY | typeof POLICY_GRANT;

export interface PrivPolicy {
  /** Profile name, for reason chains and audit records. */
  readonly name: string;
  /**
   * One byte per privilege number, length PRIV_TABLE_SIZE: POLICY_NONE, POLICY_DENY or
   * POLICY_GRANT. Indexes that are not privileges must hold POLICY_NONE.
   */
  readonly privVerdicts: Uint8Array;
  /**
   * Linux capabilities the profile allows a thread to hold, as the two kernel words (caps 0..31
   * in `capAllowLo`, 32..40 in `capAllowHi`). In bridge mode a capability outside this mask
   * neither counts at priv_check's capability stage nor appears in capget's permitted/bounding.
   * A profile that says nothing about capabilities allows none (default deny: 0 / 0); a
   * PrivPolicy built without a profile's capabilities (makePrivPolicy) uses 0xffffffff / 0x1ff.
   */
  readonly capAllowLo: number;
  readonly capAllowHi: number;
  /**
   * Optional: the profile rule behind its verdict for `priv` (for example `deny: PRIV_VFS_MOUNT
   * at web.yaml:12:5`). Called only when a reason chain is printed, never on the hot path.
   */
  explainPriv?(priv: number): string | undefined;
  /**
   * Optional exact answers for rules with uid or system-call conditions. The tables above carry
   * no request, so for a conditional rule they hold an approximation (a capability counts as
   * allowed if some condition allows it; a privilege gets a verdict only if every outcome
   * agrees). `conditionalCapLo/Hi` and `privConditional` mark the capabilities and privileges
   * whose answer depends on the request; for those a host that knows the caller's euid and
   * system call asks `capAllowedFor` / `privVerdictFor` instead of reading the tables.
   */
  readonly conditionalCapLo?: number;
  readonly conditionalCapHi?: number;
  readonly privConditional?: Uint8Array;
  capAllowedFor?(cap: number, uid: number, syscall: string): boolean;
  privVerdictFor?(priv: number, uid: number, syscall: string): PolicyVerdict;
}

/** A profile's answer to one capability use (ProfilePolicy.decideCap). */
export const CAP_DENY = 0;
export const CAP_ALLOW = 1;
/** Complain mode: the profile would deny; the capability is allowed and the use is audited. */
export const CAP_COMPLAIN = 3;
/** decidePriv results beyond POLICY_NONE / POLICY_DENY / POLICY_GRANT: complain mode's "would deny". */
export const PRIV_COMPLAIN = 3;

/**
 * Contract 3b: a whole profile as the runtime's hosts consult it (src/runtime/profile-host.ts) —
 * the priv_check projection plus exact per-request capability decisions. The policy layer's
 * CompiledProfile implements it; the runtime needs nothing else from a profile.
 */
export interface ProfilePolicy extends PrivPolicy {
  readonly mode: 'enforce' | 'complain';
  /** CAP_DENY, CAP_ALLOW or CAP_COMPLAIN for `cap` used by euid `uid` in `syscall` ('' = none). */
  decideCap(cap: number, uid?: number, syscall?: string): number;
  /** POLICY_NONE/DENY/GRANT or PRIV_COMPLAIN for `priv` in that request. */
  decidePriv(priv: number, uid?: number, syscall?: string): number;
  /** One line: why the profile refuses `cap` for this request (its rule, or "does not allow"). */
  capDenialReason(cap: number, uid: number, syscall: string): string;
}

/** Input to makePrivPolicy: privilege numbers, and the capability words if the profile limits them. */
export interface PrivPolicySpec {
  name: string;
  deny?: Iterable<number>;
  grant?: Iterable<number>;
  capAllowLo?: number;
  capAllowHi?: number;
  explain?: (priv: number) => string | undefined;
}

/**
 * Build a PrivPolicy from lists of privilege numbers. A privilege in both lists is denied: a
 * veto runs before the grant stage in priv_check_cred(), so the veto is what a kernel would do.
 */
export function makePrivPolicy(spec: PrivPolicySpec): PrivPolicy {
  const privVerdicts = new Uint8Array(PRIV_TABLE_SIZE);
  for (const p of spec.grant ?? []) {
    checkPrivIndex(p);
    privVerdicts[p] = POLICY_GRANT;
  }
  for (const p of spec.deny ?? []) {
    checkPrivIndex(p);
    privVerdicts[p] = POLICY_DENY;
  }
  const policy: PrivPolicy = {
    name: spec.name,
    privVerdicts,
    capAllowLo: (spec.capAllowLo ?? 0xffffffff) >>> 0,
    capAllowHi: (spec.capAllowHi ?? 0x1ff) >>> 0,
  };
  if (spec.explain) return { ...policy, explainPriv: spec.explain };
  return policy;
}

function checkPrivIndex(p: number): void {
  if (!Number.isInteger(p) || p <= 0 || p >= PRIV_TABLE_SIZE) {
    throw inputError('bad-priv-number', `privilege number ${p} is outside 1..${PRIV_TABLE_SIZE - 1}`);
  }
}
