/**
 * priv_check(cred, priv): FreeBSD's priv_check_cred() (sys/kern/kern_priv.c) with its stages in
 * the kernel's order, plus the Linux bridge's capability stage.
 *
 *   1. fast paths     PRIV_VFS_LOOKUP / PRIV_VFS_GENERATION skip the jail switch
 *                     (priv_check_cred_vfs_lookup / _vfs_generation); not taken when a policy
 *                     is attached, as the kernel takes the slow path when MAC hooks privileges
 *   2. policy veto    mac_priv_check() -> the profile's POLICY_DENY
 *   3. jail filter    prison_priv_check()
 *   4. sysctl grants  security.bsd.unprivileged_mlock (VM_MLOCK/MUNLOCK),
 *                     security.bsd.unprivileged_read_msgbuf (MSGBUF) - after the jail filter,
 *                     so a jail without allow.mlock / allow.read_msgbuf blocks them for everyone
 *   5. superuser      suser_enabled(cred) && uid == 0 (real uid for MAXFILES, MAXPROC,
 *                     PROC_LIMIT; VFS_READ_DIR refused to jailed root)
 *      or, for a bridged Linux thread, the capability stage:
 *                     suser_enabled(cred) && (effective & profileCaps) covers caps(priv)
 *                     (any one of them, or all for combine=all privileges)
 *   6. grants         PRIV_KMEM_READ always; PRIV_DEBUG_UNPRIV if unprivileged_proc_debug
 *   7. policy grant   mac_priv_grant() -> the profile's POLICY_GRANT
 *   8. EPERM, reported as decided by stage 5 (superuser / capability): the grants in 6-7 are
 *      narrow exceptions, and "the thread lacks CAP_X" is what a person can act on
 *
 * The hot path is `privCheck`: integer work on tables compiled once per prison (jail + profile),
 * no allocation, and a small integer result. Reason strings are built only by `explainPrivCheck`.
 */
import { CAP_COUNT } from '../caps/catalog.js';
import {
  PRIV_DEBUG_UNPRIV,
  PRIV_KMEM_READ,
  PRIV_MAXFILES,
  PRIV_MAXPROC,
  PRIV_MSGBUF,
  PRIV_PROC_LIMIT,
  PRIV_VFS_GENERATION,
  PRIV_VFS_LOOKUP,
  PRIV_VFS_READ_DIR,
  PRIV_VM_MLOCK,
  PRIV_VM_MUNLOCK,
  privName,
  privValid,
} from './catalog.js';
import { compileJailFilter, type JailConfig, jailRuleFor, makeJailConfig, termHolds, termText } from './jail.js';
import { capNameOf, capsForPriv, PRIV_CAP_ALL, PRIV_CAP_HI, PRIV_CAP_LO, privIsLinuxless } from './mapping.js';
import { POLICY_DENY, POLICY_GRANT, PRIV_TABLE_SIZE, type PrivPolicy } from './policy-hook.js';

export const EPERM = 1;
export const EINVAL = 22;

// Stage numbers, in priv_check_cred order. A result code is errno | stage << 8 | reason << 12.
export const STAGE_FAST_PATH = 1;
export const STAGE_POLICY = 2;
export const STAGE_JAIL = 3;
export const STAGE_SYSCTL = 4;
export const STAGE_SUPERUSER = 5;
export const STAGE_CAPABILITY = 6;
export const STAGE_GRANT = 7;
export const STAGE_POLICY_GRANT = 8;
export const STAGE_DEFAULT = 9;
export const STAGE_INVALID = 10;

export const STAGE_NAMES: readonly string[] = [
  '',
  'fast-path',
  'policy',
  'jail',
  'sysctl',
  'superuser',
  'capability',
  'grant',
  'policy-grant',
  'default',
  'invalid',
];

// Reason numbers (which rule of the deciding stage applied).
const R_JAIL_NEVER = 1;
const R_JAIL_PARAM = 2;
const R_SYSCTL_MLOCK = 1;
const R_SYSCTL_MSGBUF = 2;
const R_GRANT_KMEM = 1;
const R_GRANT_DEBUG = 2;
const R_FAST_JAILED = 1;

const code = (errno: number, stage: number, reason = 0) => errno | (stage << 8) | (reason << 12);

export const CODE_INVALID = code(EINVAL, STAGE_INVALID);
const CODE_FAST_OK = code(0, STAGE_FAST_PATH);
const CODE_FAST_DENY = code(EPERM, STAGE_FAST_PATH);
const CODE_FAST_JAILED = code(EPERM, STAGE_FAST_PATH, R_FAST_JAILED);
const CODE_SUSER_OK = code(0, STAGE_SUPERUSER);
const CODE_CAP_OK = code(0, STAGE_CAPABILITY);
const CODE_SUSER_DENY = code(EPERM, STAGE_SUPERUSER);
const CODE_CAP_DENY = code(EPERM, STAGE_CAPABILITY);

/** errno of a result code: 0 when allowed. */
export function codeErrno(c: number): number {
  return c & 0xff;
}
export function codeStage(c: number): number {
  return (c >>> 8) & 0xf;
}
export function codeAllowed(c: number): boolean {
  return (c & 0xff) === 0;
}

/**
 * A jail (or prison0) with its profile, compiled to per-privilege tables. Build it once when the
 * jail is configured (`compilePrison`), then share it between all credentials in that jail, as
 * every ucred in a jail points to the same struct prison.
 */
export interface Prison {
  readonly jail: JailConfig;
  readonly policy: PrivPolicy | undefined;
  /** Decided before the superuser step (fast-path refusal, policy veto, jail filter, sysctl grant); 0 = go on. */
  readonly pre: Uint32Array;
  /** Native stage 5: 0 effective uid; 1 real uid (MAXFILES, MAXPROC, PROC_LIMIT); 2 refused (suser off, READ_DIR in a jail). */
  readonly suserMode: Uint8Array;
  /**
   * Bridge stage 5: the capabilities that count for each privilege here, as two words:
   * caps(priv) & profileCaps, or 0 when nothing can grant it (suser off, READ_DIR in a jail, or
   * a combine=all privilege whose capabilities the profile does not all allow).
   */
  readonly needLo: Uint32Array;
  readonly needHi: Uint32Array;
  /** 1 for combine=all privileges (every capability in need* must be effective). */
  readonly needAll: Uint8Array;
  /** Result codes when stage 5 grants (bridge / native): 'capability' or 'superuser', or 'fast-path'. */
  readonly okBridge: Uint32Array;
  readonly okNative: Uint32Array;
  /** Result codes when stage 5 does not grant: a grant (6-7), else EPERM charged to stage 5 (or the fast path). */
  readonly denyBridge: Uint32Array;
  readonly denyNative: Uint32Array;
  readonly suser: boolean;
  readonly jailed: boolean;
  /** The VFS fast paths are taken only without a policy (the kernel's slow path runs MAC). */
  readonly fastPath: boolean;
  /** Capabilities the profile lets count (two kernel words). */
  readonly capAllowLo: number;
  readonly capAllowHi: number;
}

/** What priv_check needs from a credential. `bridge` marks a Linux-ABI thread. */
export interface PrivCred {
  /** Effective uid (cr_uid). */
  uid: number;
  /** Real uid (cr_ruid). */
  ruid: number;
  /** Linux effective capability set, two kernel words (read only when `bridge`). */
  effLo: number;
  effHi: number;
  /** true: a Linux-ABI thread on the bridge (capability stage); false: a native FreeBSD credential. */
  bridge: boolean;
  prison: Prison;
}

/** Compile a jail configuration and an optional profile into the per-privilege tables. */
export function compilePrison(jail: JailConfig = makeJailConfig(), policy?: PrivPolicy): Prison {
  const pass = compileJailFilter(jail);
  const n = PRIV_TABLE_SIZE;
  const pre = new Uint32Array(n);
  const suserMode = new Uint8Array(n);
  const needLo = new Uint32Array(n);
  const needHi = new Uint32Array(n);
  const needAll = new Uint8Array(n);
  const okBridge = new Uint32Array(n);
  const okNative = new Uint32Array(n);
  const denyBridge = new Uint32Array(n);
  const denyNative = new Uint32Array(n);
  const verdicts = policy?.privVerdicts;
  const fastPath = policy === undefined;
  const allowLo = policy ? policy.capAllowLo >>> 0 : 0xffffffff;
  const allowHi = policy ? policy.capAllowHi >>> 0 : 0x1ff;
  for (let p = 0; p < n; p++) {
    if (!privValid(p)) {
      pre[p] = CODE_INVALID;
      continue;
    }
    const fast = fastPath && (p === PRIV_VFS_LOOKUP || p === PRIV_VFS_GENERATION);
    const verdict = verdicts ? verdicts[p] : 0;
    // Stages 1-4: what does not depend on the credential.
    if (fast) {
      // priv_check_cred_vfs_generation refuses jailed credentials; both skip the jail switch.
      if (p === PRIV_VFS_GENERATION && jail.jailed) pre[p] = CODE_FAST_JAILED;
    } else if (verdict === POLICY_DENY) pre[p] = code(EPERM, STAGE_POLICY);
    else if (pass[p] === 0)
      pre[p] = code(EPERM, STAGE_JAIL, jailRuleFor(p)?.rule === 'param' ? R_JAIL_PARAM : R_JAIL_NEVER);
    else if ((p === PRIV_VM_MLOCK || p === PRIV_VM_MUNLOCK) && jail.unprivilegedMlock)
      pre[p] = code(0, STAGE_SYSCTL, R_SYSCTL_MLOCK);
    else if (p === PRIV_MSGBUF && jail.unprivilegedReadMsgbuf) pre[p] = code(0, STAGE_SYSCTL, R_SYSCTL_MSGBUF);

    // Stage 5 inputs.
    const refused = !jail.suser || (p === PRIV_VFS_READ_DIR && jail.jailed);
    if (refused) suserMode[p] = 2;
    else if (p === PRIV_MAXFILES || p === PRIV_MAXPROC || p === PRIV_PROC_LIMIT) suserMode[p] = 1;
    const lo = PRIV_CAP_LO[p]! & allowLo;
    const hi = PRIV_CAP_HI[p]! & allowHi;
    const all = PRIV_CAP_ALL[p] === 1;
    const coverable = !all || (lo === PRIV_CAP_LO[p] && hi === PRIV_CAP_HI[p]);
    if (!refused && coverable) {
      needLo[p] = lo;
      needHi[p] = hi;
    }
    needAll[p] = all ? 1 : 0;
    okBridge[p] = fast ? CODE_FAST_OK : CODE_CAP_OK;
    okNative[p] = fast ? CODE_FAST_OK : CODE_SUSER_OK;

    // Stages 6-8.
    let post = 0;
    if (fast) post = 0;
    else if (p === PRIV_KMEM_READ) post = code(0, STAGE_GRANT, R_GRANT_KMEM);
    else if (p === PRIV_DEBUG_UNPRIV && jail.unprivilegedProcDebug) post = code(0, STAGE_GRANT, R_GRANT_DEBUG);
    else if (verdict === POLICY_GRANT) post = code(0, STAGE_POLICY_GRANT);
    denyBridge[p] = post !== 0 ? post : fast ? CODE_FAST_DENY : CODE_CAP_DENY;
    denyNative[p] = post !== 0 ? post : fast ? CODE_FAST_DENY : CODE_SUSER_DENY;
  }
  return {
    jail,
    policy,
    pre,
    suserMode,
    needLo,
    needHi,
    needAll,
    okBridge,
    okNative,
    denyBridge,
    denyNative,
    suser: jail.suser,
    jailed: jail.jailed,
    fastPath,
    capAllowLo: allowLo,
    capAllowHi: allowHi,
  };
}

/**
 * priv_check(cred, priv). Returns a result code: `codeErrno(c)` is 0 (allowed) or EPERM (EINVAL
 * for a number outside PRIV_VALID, where the kernel would panic on its KASSERT), `codeStage(c)`
 * the stage that decided. No allocation: a range check, one table read for stages 1-4, the
 * stage-5 test (uid compare, or two masked word tests), one table read for the result.
 *
 * Stage 5, with the prison's tables already folding in suser_enabled, READ_DIR and the profile:
 *   native:  mode != refused && (mode == ruid ? cr_ruid : cr_uid) == 0
 *   bridge:  any:  (pE & need(priv)) != 0
 *            all:  need(priv) != 0 && (pE & need(priv)) == need(priv)
 *   where need(priv) = caps(priv) & profileCaps   (0 when nothing may grant it)
 */
export function privCheck(cred: PrivCred, priv: number): number {
  const i = priv >>> 0;
  if (i !== priv || i >= PRIV_TABLE_SIZE) return CODE_INVALID;
  const pr = cred.prison;
  const pre = pr.pre[i]!;
  if (pre !== 0) return pre;
  if (cred.bridge) {
    const lo = pr.needLo[i]!;
    const hi = pr.needHi[i]!;
    const eLo = (cred.effLo & lo) >>> 0;
    const eHi = (cred.effHi & hi) >>> 0;
    const ok = pr.needAll[i] === 0 ? (eLo | eHi) !== 0 : (lo | hi) !== 0 && eLo === lo && eHi === hi;
    return ok ? pr.okBridge[i]! : pr.denyBridge[i]!;
  }
  const m = pr.suserMode[i]!;
  return m !== 2 && (m === 1 ? cred.ruid : cred.uid) === 0 ? pr.okNative[i]! : pr.denyNative[i]!;
}

// ---------------------------------------------------------------------------------------------
// Explanations (slow path: strings, for people and audit records)

export interface PrivDecision {
  readonly priv: number;
  readonly privName: string;
  readonly allowed: boolean;
  /** 0, EPERM, or EINVAL for an invalid privilege number. */
  readonly errno: number;
  /** The stage that decided: 'fast-path', 'policy', 'jail', 'sysctl', 'superuser', 'capability', 'grant', 'policy-grant', 'default', 'invalid'. */
  readonly stage: string;
  /** The deciding stage's reason (the last entry of `chain`). */
  readonly reason: string;
  /** One line per stage that ran, in order. */
  readonly chain: readonly string[];
  readonly code: number;
}

function jailLine(pr: Prison, priv: number): { pass: boolean; line: string } {
  const name = privName(priv);
  if (!pr.jailed) return { pass: true, line: 'jail: prison0 (not jailed): prison_priv_check passes everything' };
  const r = jailRuleFor(priv);
  if (!r || r.rule === 'never') {
    return { pass: false, line: `jail: ${name} is never allowed in a jail (prison_priv_check default: EPERM)` };
  }
  if (r.rule === 'always') {
    const extra = priv === PRIV_VFS_READ_DIR ? ' (but the superuser step refuses it to jailed root)' : '';
    return { pass: true, line: `jail: ${name} is always allowed in a jail${extra}` };
  }
  const cfg = pr.jail;
  const holds = r.anyOf.some((alt) => alt.every((t) => termHolds(t, cfg)));
  const terms = [...new Set(r.anyOf.flat().map(termText))];
  const values = terms.map((t) => {
    if (t === 'vnet') return `vnet=${cfg.vnet ? 'new' : 'inherit'}`;
    if (t.startsWith('enforce_statfs')) return `enforce_statfs=${cfg.enforceStatfs}`;
    return `${t}=${cfg.get(t)}`;
  });
  return {
    pass: holds,
    line: holds
      ? `jail: ${name} needs ${r.text}; this jail has ${[...new Set(values)].join(', ')}: allowed`
      : `jail: ${name} needs ${r.text}; this jail has ${[...new Set(values)].join(', ')}: EPERM`,
  };
}

function capList(priv: number): string {
  const caps = capsForPriv(priv).map(capNameOf);
  if (caps.length === 0) return '';
  return PRIV_CAP_ALL[priv] === 1 ? caps.join(' and ') : caps.join(' or ');
}

function superuserLine(cred: PrivCred, pr: Prison, priv: number, granted: boolean): string {
  const name = privName(priv);
  const stage = cred.bridge ? 'capability' : 'superuser';
  const suserName = pr.jailed ? 'allow.suser' : 'security.bsd.suser_enabled';
  if (!pr.suser)
    return `${stage}: ${suserName}=0, so ${cred.bridge ? 'no capability confers' : 'uid 0 confers no'} privilege`;
  if (pr.suserMode[priv] === 2) return `${stage}: ${name} is refused to jailed root at the superuser step`;
  if (!cred.bridge) {
    const real = pr.suserMode[priv] === 1;
    const id = real ? cred.ruid : cred.uid;
    const which = real ? 'real uid' : 'effective uid';
    return granted ? `superuser: ${which} is 0: allowed` : `superuser: ${which} is ${id}, not 0`;
  }
  const caps = capList(priv);
  if (caps === '') {
    return privIsLinuxless(priv)
      ? `capability: ${name} has no Linux counterpart, so no capability grants it`
      : `capability: no capability maps to ${name}`;
  }
  if (granted) return `capability: effective set holds ${caps}: allowed`;
  const blocked: string[] = [];
  const missing: string[] = [];
  for (const c of capsForPriv(priv)) {
    const inEff = c < 32 ? (cred.effLo >>> c) & 1 : (cred.effHi >>> (c - 32)) & 1;
    const inProfile = c < 32 ? (pr.capAllowLo >>> c) & 1 : (pr.capAllowHi >>> (c - 32)) & 1;
    if (inEff && !inProfile) blocked.push(`${capNameOf(c)} (held, but profile ${pr.policy?.name} does not allow it)`);
    if (!inEff || !inProfile) missing.push(capNameOf(c));
  }
  const all = PRIV_CAP_ALL[priv] === 1;
  const lack = all
    ? `needs ${caps}; effective set lacks ${missing.join(' and ')}`
    : missing.length === 1
      ? `effective set lacks ${caps}`
      : `effective set holds none of ${missing.join(', ')}`;
  const uidNote = cred.uid === 0 ? ' (uid 0 alone does not count on the bridge)' : '';
  return `capability: ${lack}${uidNote}${blocked.length ? `; ${blocked.join(', ')}` : ''}`;
}

/** priv_check with its reason chain. Agrees with `privCheck` (test/priv/check.test.ts checks it). */
export function explainPrivCheck(cred: PrivCred, priv: number): PrivDecision {
  const c = privCheck(cred, priv);
  const stage = codeStage(c);
  const pr = cred.prison;
  const name = privName(priv);
  const chain: string[] = [];
  const done = (): PrivDecision => ({
    priv,
    privName: name,
    allowed: codeAllowed(c),
    errno: codeErrno(c),
    stage: STAGE_NAMES[stage] ?? String(stage),
    reason: chain[chain.length - 1] ?? '',
    chain,
    code: c,
  });
  if (stage === STAGE_INVALID) {
    chain.push(`invalid: ${priv} is outside PRIV_VALID (1 < priv < 711); the kernel would panic on its KASSERT`);
    return done();
  }
  if (stage === STAGE_FAST_PATH) {
    if (c >>> 12 === R_FAST_JAILED) {
      chain.push(`fast-path: ${name} is always refused to jailed credentials (priv_check_cred_vfs_generation)`);
    } else {
      chain.push(`fast-path: ${name} skips the jail switch (priv_check_cred_vfs_lookup/generation)`);
      chain.push(superuserLine(cred, pr, priv, codeAllowed(c)).replace(/^(superuser|capability)/, 'fast-path'));
    }
    return done();
  }
  const pol = pr.policy;
  if (stage === STAGE_POLICY) {
    const why = pol?.explainPriv?.(priv);
    chain.push(`policy: profile ${pol?.name} vetoes ${name}${why ? ` (${why})` : ''}: EPERM`);
    return done();
  }
  chain.push(pol ? `policy: profile ${pol.name} does not veto ${name}` : 'policy: no profile attached');
  const jl = jailLine(pr, priv);
  chain.push(jl.line);
  if (stage === STAGE_JAIL) return done();
  if (stage === STAGE_SYSCTL) {
    const sysctl = priv === PRIV_MSGBUF ? 'security.bsd.unprivileged_read_msgbuf' : 'security.bsd.unprivileged_mlock';
    chain.push(`sysctl: ${sysctl}=1 grants ${name} to anyone the jail filter let through`);
    return done();
  }
  const granted = codeAllowed(c) && (stage === STAGE_SUPERUSER || stage === STAGE_CAPABILITY);
  chain.push(superuserLine(cred, pr, priv, granted));
  if (granted) return done();
  if (stage === STAGE_GRANT) {
    chain.push(
      priv === PRIV_KMEM_READ
        ? 'grant: PRIV_KMEM_READ is granted to everyone (the /dev/mem file mode decides)'
        : `grant: ${pr.jailed ? 'allow.unprivileged_proc_debug' : 'security.bsd.unprivileged_proc_debug'}=1 grants PRIV_DEBUG_UNPRIV`,
    );
    return done();
  }
  if (stage === STAGE_POLICY_GRANT) {
    const why = pol?.explainPriv?.(priv);
    chain.push(`policy-grant: profile ${pol?.name} grants ${name}${why ? ` (${why})` : ''}`);
    return done();
  }
  chain.push(`no grant applies to ${name} (KMEM_READ, DEBUG_UNPRIV, profile): EPERM`);
  return done();
}

/** A credential for a bridged Linux thread (effective set as two words). */
export function bridgeCred(prison: Prison, uid: number, effLo: number, effHi: number, ruid = uid): PrivCred {
  return { uid, ruid, effLo: effLo >>> 0, effHi: effHi >>> 0, bridge: true, prison };
}

/** A native FreeBSD credential (uid decides at the superuser step). */
export function nativeCred(prison: Prison, uid: number, ruid = uid): PrivCred {
  return { uid, ruid, effLo: 0, effHi: 0, bridge: false, prison };
}

/** The full capability words, for "what could a thread holding every capability do here". */
export const FULL_LO = 0xffffffff;
export const FULL_HI = (2 ** (CAP_COUNT - 32) - 1) >>> 0;
