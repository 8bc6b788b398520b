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
  /** Decided before the superuser step (policy veto, jail filter, sysctl grant); 0 = go on. */
  readonly pre: Uint32Array;
  /** Decided after the superuser step failed (grants, policy grant); 0 = EPERM. */
  readonly post: Uint32Array;
  /** 0: effective uid; 1: real uid (MAXFILES, MAXPROC, PROC_LIMIT); 2: refused (READ_DIR in a jail). */
  readonly suserMode: Uint8Array;
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
  const pre = new Uint32Array(PRIV_TABLE_SIZE);
  const post = new Uint32Array(PRIV_TABLE_SIZE);
  const suserMode = new Uint8Array(PRIV_TABLE_SIZE);
  const verdicts = policy?.privVerdicts;
  for (let p = 0; p < PRIV_TABLE_SIZE; p++) {
    if (!privValid(p)) {
      pre[p] = CODE_INVALID;
      continue;
    }
    const verdict = verdicts ? verdicts[p] : 0;
    if (verdict === POLICY_DENY) pre[p] = code(EPERM, STAGE_POLICY);
    else if (pass[p] === 0)
      pre[p] = code(EPERM, STAGE_JAIL, jailRuleFor(p)?.rule === 'param' ? R_JAIL_PARAM : R_JAIL_NEVER);
    else if ((p === PRIV_VM_MLOCK || p === PRIV_VM_MUNLOCK) && jail.unprivilegedMlock)
      pre[p] = code(0, STAGE_SYSCTL, R_SYSCTL_MLOCK);
    else if (p === PRIV_MSGBUF && jail.unprivilegedReadMsgbuf) pre[p] = code(0, STAGE_SYSCTL, R_SYSCTL_MSGBUF);

    if (p === PRIV_MAXFILES || p === PRIV_MAXPROC || p === PRIV_PROC_LIMIT) suserMode[p] = 1;
    else if (p === PRIV_VFS_READ_DIR && jail.jailed) suserMode[p] = 2;

    if (p === PRIV_KMEM_READ) post[p] = code(0, STAGE_GRANT, R_GRANT_KMEM);
    else if (p === PRIV_DEBUG_UNPRIV && jail.unprivilegedProcDebug) post[p] = code(0, STAGE_GRANT, R_GRANT_DEBUG);
    else if (verdict === POLICY_GRANT) post[p] = code(0, STAGE_POLICY_GRANT);
    else post[p] = 0; // nothing grants it: EPERM, charged to the superuser/capability stage
  }
  return {
    jail,
    policy,
    pre,
    post,
    suserMode,
    suser: jail.suser,
    jailed: jail.jailed,
    fastPath: policy === undefined,
    capAllowLo: policy ? policy.capAllowLo >>> 0 : 0xffffffff,
    capAllowHi: policy ? policy.capAllowHi >>> 0 : 0x1ff,
  };
}

/**
 * Stage 5 for one credential: does the superuser policy (native) or the capability stage
 * (bridge) grant `priv`?
 *
 *   native:  suser_enabled && (mode == ruid ? ruid : uid) == 0 && !(jailed && priv == READ_DIR)
 *   bridge:  suser_enabled && !(jailed && priv == READ_DIR) &&
 *            any:  (pE & profileCaps & caps(priv)) != 0
 *            all:  caps(priv) != 0 && (pE & profileCaps & caps(priv)) == caps(priv)
 */
function superuserGrants(cred: PrivCred, pr: Prison, priv: number): boolean {
  if (!pr.suser) return false;
  const mode = pr.suserMode[priv]!;
  if (mode === 2) return false;
  if (!cred.bridge) return (mode === 1 ? cred.ruid : cred.uid) === 0;
  const lo = PRIV_CAP_LO[priv]!;
  const hi = PRIV_CAP_HI[priv]!;
  const eLo = cred.effLo & pr.capAllowLo;
  const eHi = cred.effHi & pr.capAllowHi;
  if (PRIV_CAP_ALL[priv] === 1) return (lo | hi) !== 0 && (eLo & lo) >>> 0 === lo && (eHi & hi) >>> 0 === hi;
  return ((eLo & lo) | (eHi & hi)) !== 0;
}

/**
 * priv_check(cred, priv). Returns a result code: `codeErrno(c)` is 0 (allowed) or EPERM (EINVAL
 * for a number outside PRIV_VALID, where the kernel would panic on its KASSERT), `codeStage(c)`
 * the stage that decided. No allocation.
 */
export function privCheck(cred: PrivCred, priv: number): number {
  const i = priv >>> 0;
  if (i !== priv || i >= PRIV_TABLE_SIZE) return CODE_INVALID;
  const pr = cred.prison;
  // 1. Fast paths (priv_check_cred_vfs_lookup / priv_check_cred_vfs_generation).
  if ((i === PRIV_VFS_LOOKUP || i === PRIV_VFS_GENERATION) && pr.fastPath) {
    if (i === PRIV_VFS_GENERATION && pr.jailed) return CODE_FAST_JAILED;
    return superuserGrants(cred, pr, i) ? CODE_FAST_OK : CODE_FAST_DENY;
  }
  // 2-4. Policy veto, jail filter, sysctl grants: precompiled per prison.
  const pre = pr.pre[i]!;
  if (pre !== 0) return pre;
  // 5. Superuser, or the bridge's capability stage.
  if (superuserGrants(cred, pr, i)) return cred.bridge ? CODE_CAP_OK : CODE_SUSER_OK;
  // 6-7. Grants and policy grant: precompiled.
  const post = pr.post[i]!;
  if (post !== 0) return post;
  // 8. EPERM. The denial is reported against the stage that could have granted and did not
  // (superuser, or the capability stage on the bridge): that is what a person acts on.
  return cred.bridge ? CODE_CAP_DENY : CODE_SUSER_DENY;
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
