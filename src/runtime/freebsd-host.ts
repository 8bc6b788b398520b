/**
 * Contract 1, FreeBSD side: a PrivilegeHost that answers the runtime's capable() questions the
 * way a Linux binary would meet them inside a FreeBSD jail, through the capctl bridge.
 *
 * For capable(cred, cap, op):
 *   1. A capability with no FreeBSD counterpart (SETPCAP, LEASE, ...) is kept by the engine:
 *      allowed iff suser_enabled && cap in (pE & profileCaps).
 *   2. Otherwise the operation names the privilege the native kern_* path would check
 *      (src/priv/ops.ts): priv_check(cred, priv) in kern_priv.c's order with the bridge's
 *      capability stage (src/priv/check.ts).
 *   3. If priv_check allows, the caller's own checks run (securelevel, allow.mount.<fs>,
 *      children.max, allow.set_hostname: src/priv/caller.ts), stage 'caller'.
 *   4. A denial returns the caller's errno (EACCES for a reserved port, else EPERM).
 * An operation the Linuxulator cannot perform at all (AF_PACKET sockets) is answered with its
 * errno at stage 'linuxulator'. An operation no rule names falls back to the capability's
 * privileges by the capget rule: allowed if every high-confidence one passes (for analogy-only
 * capabilities, any mapped one).
 *
 * capget/capset/prctl/set*id/exec keep Linux semantics (runtime), but their capability tests
 * come here too (Runtime.capableFor), so a jail and its profile restrict them; the initial sets
 * differ (`initialCredentialFor`).
 */
import { CapSet } from '../caps/capset.js';
import { CAP_COUNT } from '../caps/catalog.js';
import { initialCapSets, reportableCaps } from '../priv/bridge.js';
import { type CallerContext, callerAfterAllow, callerDeniedErrno } from '../priv/caller.js';
import { privName } from '../priv/catalog.js';
import { codeAllowed, compilePrison, explainPrivCheck, type Prison, type PrivCred, privCheck } from '../priv/check.js';
import { makeJailConfig } from '../priv/jail.js';
import { capHasNoCounterpart, capNameOf, privsForCap } from '../priv/mapping.js';
import { opRuleFor, unsupportedOp } from '../priv/ops.js';
import type { PrivPolicy } from '../priv/policy-hook.js';
import { Credential } from './credential.js';
import { EPERM } from './errno.js';
import type { HostDecision, PrivilegedOp, PrivilegeHost } from './host.js';

export interface FreeBSDHostOptions {
  /** jail(8) parameters as K=V strings (`allow.raw_sockets: '1'`); unknown names are input errors. */
  jailParams: Record<string, string>;
  /** The attached profile (contract 3). */
  policy?: PrivPolicy;
}

export interface FreeBSDHost extends PrivilegeHost {
  readonly kind: 'freebsd';
  /** The compiled jail + profile every credential of this host runs in. */
  readonly prison: Prison;
  /** priv_check for a Linux thread's credential and a privilege number (result code, see check.ts). */
  privCheck(cred: Credential, priv: number): number;
}

function decision(errno: number, stage: string, reason: string, priv?: number): HostDecision {
  return priv === undefined ? { errno, stage, reason } : { errno, stage, reason, priv };
}

/** Build the FreeBSD host for one jail (and profile). Tables are compiled here, once. */
export function createFreeBSDHost(opts: FreeBSDHostOptions): FreeBSDHost {
  const prison = compilePrison(makeJailConfig(opts.jailParams), opts.policy);
  // One scratch credential per host: capable() fills it in instead of allocating one per call.
  const scratch: PrivCred = { uid: 0, ruid: 0, effLo: 0, effHi: 0, bridge: true, prison };
  const load = (c: Credential): PrivCred => {
    scratch.prison = prison;
    scratch.uid = c.euid;
    scratch.ruid = c.ruid;
    scratch.effLo = c.effLo;
    scratch.effHi = c.effHi;
    return scratch;
  };

  // Allowed decisions that pass the caller's checks repeat; their HostDecision is cached per
  // (capability, privilege, stage, path) so the common path builds no strings.
  const allowed = new Map<string, HostDecision>();
  const checkPriv = (cred: PrivCred, cap: number, priv: number, via: string, ctx: CallerContext = {}) => {
    const code = privCheck(cred, priv);
    if (codeAllowed(code)) {
      const caller = callerAfterAllow(prison, priv, ctx);
      if (caller.errno === 0) {
        const key = `${cap}/${priv}/${code}/${via}`;
        let hit = allowed.get(key);
        if (!hit) {
          const d = explainPrivCheck(cred, priv);
          hit = Object.freeze(
            decision(0, d.stage, `${capNameOf(cap)} -> ${privName(priv)} (${via}): ${d.chain.join('; ')}`, priv),
          );
          allowed.set(key, hit);
        }
        return hit;
      }
    }
    const d = explainPrivCheck(cred, priv);
    const head = `${capNameOf(cap)} -> ${privName(priv)} (${via})`;
    if (!d.allowed) {
      const remap = callerDeniedErrno(priv);
      const tail = remap.errno !== EPERM ? `; ${remap.note}` : '';
      return decision(remap.errno, d.stage, `${head}: ${d.chain.join('; ')}${tail}`, priv);
    }
    const caller = callerAfterAllow(prison, priv, ctx);
    return decision(caller.errno, 'caller', `${head}: ${d.chain.join('; ')}; ${caller.reason}`, priv);
  };

  /**
   * A profile rule with a uid or system-call condition cannot live in the prison's tables (they
   * carry no request). For a request that touches one, the exact answers (capAllowedFor,
   * privVerdictFor) are folded into a prison of their own, compiled once per distinct outcome
   * and cached: conditional rules are few, so the cache stays small and the common request
   * never gets here.
   */
  const pol = opts.policy;
  const condLo = (pol?.conditionalCapLo ?? 0) >>> 0;
  const condHi = (pol?.conditionalCapHi ?? 0) >>> 0;
  const privCond = pol?.privConditional;
  const exact = new Map<string, Prison>();
  const prisonFor = (c: Credential, priv: number, syscall: string): Prison => {
    if (!pol) return prison;
    const condPriv = priv >= 0 && privCond !== undefined && privCond[priv] === 1 && pol.privVerdictFor !== undefined;
    if ((condLo | condHi) === 0 && !condPriv) return prison;
    let lo = prison.capAllowLo & ~condLo;
    let hi = prison.capAllowHi & ~condHi;
    if (pol.capAllowedFor) {
      for (let cap = 0; cap < CAP_COUNT; cap++) {
        const bit = 1 << (cap & 31);
        if ((cap < 32 ? condLo : condHi) & bit && pol.capAllowedFor(cap, c.euid, syscall)) {
          if (cap < 32) lo |= bit;
          else hi |= bit;
        }
      }
    }
    lo >>>= 0;
    hi >>>= 0;
    const verdict = condPriv ? pol.privVerdictFor!(priv, c.euid, syscall) : -1;
    if (lo === prison.capAllowLo && hi === prison.capAllowHi && (verdict < 0 || verdict === pol.privVerdicts[priv]))
      return prison;
    const key = `${lo}/${hi}/${priv}/${verdict}`;
    let pr = exact.get(key);
    if (!pr) {
      const privVerdicts = pol.privVerdicts.slice();
      if (verdict >= 0) privVerdicts[priv] = verdict;
      const derived: PrivPolicy = { name: pol.name, privVerdicts, capAllowLo: lo, capAllowHi: hi };
      pr = compilePrison(
        prison.jail,
        pol.explainPriv ? { ...derived, explainPriv: pol.explainPriv.bind(pol) } : derived,
      );
      exact.set(key, pr);
    }
    return pr;
  };

  return {
    kind: 'freebsd',
    prison,
    privCheck(cred: Credential, priv: number): number {
      return privCheck(load(cred), priv);
    },
    capable(cred: Credential, cap: number, op: PrivilegedOp): HostDecision {
      const pc = load(cred);
      if (capHasNoCounterpart(cap)) {
        const pr = prisonFor(cred, -1, op.syscall);
        const bit = cap < 32 ? (cred.effLo & pr.capAllowLo) >>> cap : (cred.effHi & pr.capAllowHi) >>> (cap - 32);
        const name = capNameOf(cap);
        if (!prison.suser)
          return decision(EPERM, 'capability', `${name}: allow.suser=0, no capability confers privilege`);
        if ((bit & 1) === 1)
          return decision(
            0,
            'capability',
            `${name} has no FreeBSD counterpart; the engine keeps it and the effective set holds it`,
          );
        return decision(
          EPERM,
          'capability',
          `${name} has no FreeBSD counterpart; the effective set (or the profile) lacks it`,
        );
      }
      const unsupported = unsupportedOp(op.syscall, op.detail);
      if (unsupported) return decision(unsupported.errno, 'linuxulator', `${capNameOf(cap)}: ${unsupported.reason}`);
      const rule = opRuleFor(op.syscall, cap, op.detail);
      if (rule) {
        pc.prison = prisonFor(cred, rule.priv, op.syscall);
        return checkPriv(pc, cap, rule.priv, rule.path, rule.caller ? rule.caller(op.detail ?? '') : {});
      }
      // No operation rule: the capability's own privileges, by the capget rule (the one
      // `capctl check` used on its own before it asked this host): every high-confidence
      // privilege must pass; a capability mapped only by analogy passes when any one does.
      const high = privsForCap(cap, 'high');
      const via = `no rule for ${op.syscall || 'a bare capability'}, so ${capNameOf(cap)}'s privileges`;
      if (high.length > 0) {
        let last: HostDecision | undefined;
        for (const p of high) {
          pc.prison = prisonFor(cred, p, op.syscall);
          last = checkPriv(pc, cap, p, via);
          if (last.errno !== 0) return last;
        }
        return last!;
      }
      let first: HostDecision | undefined;
      for (const p of privsForCap(cap)) {
        pc.prison = prisonFor(cred, p, op.syscall);
        const d = checkPriv(pc, cap, p, via);
        if (d.errno === 0) return d;
        first ??= d;
      }
      return first ?? decision(EPERM, 'default', `${capNameOf(cap)} maps to no privilege`);
    },
  };
}

/** What capget reports as permitted/bounding in this host's jail (two kernel words). */
export function reportableCapsFor(host: FreeBSDHost): CapSet {
  const r = reportableCaps(host.prison);
  return CapSet.fromWords(r.lo, r.hi);
}

/**
 * The credential a Linux thread starts with in the jail: uid `uid` (all four ids), and the
 * capability sets of src/priv/bridge.ts initialCapSets (uid 0: P = E = B = reportable; other
 * uids: B = reportable, P = E = 0; I = A = 0).
 */
export function initialCredentialFor(host: FreeBSDHost, uid = 0, gid = uid): Credential {
  const s = initialCapSets(host.prison, uid);
  const set = (w: { lo: number; hi: number }) => CapSet.fromWords(w.lo, w.hi);
  return Credential.from({
    uid,
    gid,
    effective: set(s.effective),
    permitted: set(s.permitted),
    inheritable: set(s.inheritable),
    bounding: set(s.bounding),
    ambient: set(s.ambient),
  });
}

/**
 * A credential taken from elsewhere (a Linux /proc status) moved into the jail: every set is
 * limited to what this host can report, as capget there would show it. Mutates `c`.
 */
export function restrictToHost(host: FreeBSDHost, c: Credential): void {
  const { lo, hi } = reportableCaps(host.prison);
  c.effLo &= lo;
  c.effHi &= hi;
  c.prmLo &= lo;
  c.prmHi &= hi;
  c.inhLo &= lo;
  c.inhHi &= hi;
  c.bndLo &= lo;
  c.bndHi &= hi;
  c.ambLo &= lo;
  c.ambHi &= hi;
}

/** Convenience: is `priv` allowed for this credential on this host? */
export function freebsdAllows(host: FreeBSDHost, cred: Credential, priv: number): boolean {
  return codeAllowed(host.privCheck(cred, priv));
}
