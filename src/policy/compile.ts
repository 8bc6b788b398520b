/**
 * Compiling a resolved profile into decision tables. The casbin model (policies/model.conf) is
 * the reference: a request (object, uid, syscall) is decided by the first matching rule in
 * priority order, with `priority(p.eft) || deny`. Here that order is computed once per object:
 *
 *   order(rule) = ((1000 - priority) * 2 + (effect == allow)) * 100000 + declaration index
 *
 * so higher priority comes first, deny comes before allow at equal priority (deny overrides),
 * and declaration order breaks the remaining ties. For each of the 41 capabilities and each
 * privilege number, the matching rules are listed in that order. If the first of them has no
 * condition, the object's decision is a constant and becomes one bit in a mask; otherwise the
 * object gets a short chain of conditional rules (uid range, syscall set) ending at the first
 * unconditional rule, walked at decision time. No match: a capability is denied, a privilege gets
 * no verdict (priv_check's other stages decide), exactly as casbin returns false with no
 * explanation.
 *
 * The hot path (decideCap, decidePriv) reads a bit in a word, and only for conditional objects
 * walks the chain; it allocates nothing.
 */
import { CAP_COUNT, CAPABILITIES } from '../caps/catalog.js';
import {
  CAP_ALLOW,
  CAP_COMPLAIN,
  CAP_DENY,
  POLICY_DENY,
  POLICY_GRANT,
  POLICY_NONE,
  type PolicyVerdict,
  PRIV_COMPLAIN,
  PRIV_TABLE_SIZE,
  type ProfilePolicy,
} from '../priv/policy-hook.js';
import { privCatalog } from './privdata.js';
import { type AuditSettings, type Mode, PRIORITY_IMPLICIT, type Profile, type Rule, UID_ANY_MAX } from './types.js';

// decideCap/decidePriv result codes live with the contract the runtime reads (priv layer).
export { CAP_ALLOW, CAP_COMPLAIN, CAP_DENY, PRIV_COMPLAIN };

/** capFast/privFast marker: the decision depends on uid or syscall. */
const CONDITIONAL = 255;

export const ORDER_INDEX_SPAN = 100000;

/** The casbin priority (smaller decides first) of the rule declared at `index`. */
export function ruleOrder(rule: Rule, index: number): number {
  return ((1000 - rule.priority) * 2 + (rule.effect === 'allow' ? 1 : 0)) * ORDER_INDEX_SPAN + index;
}

/** The rules the tables and the casbin enforcer both use: the written ones, then the implicit allow. */
export function decisionRules(p: Pick<Profile, 'rules' | 'sets'>): Rule[] {
  const rules = [...p.rules];
  const bounding = p.sets.bounding;
  if (!bounding.isEmpty()) {
    rules.push({
      effect: 'allow',
      objects: bounding.size === CAP_COUNT ? ['CAP_*'] : bounding.toNames(),
      uidMin: 0,
      uidMax: UID_ANY_MAX,
      syscalls: null,
      priority: PRIORITY_IMPLICIT,
      source: 'implicit: capabilities in the bounding set are allowed unless a rule says otherwise',
      implicit: true,
    });
  }
  return rules;
}

const isUnconditional = (r: Rule) => r.uidMin === 0 && r.uidMax === UID_ANY_MAX && r.syscalls === null;

export interface Chain {
  /** Conditional rules, in decision order. */
  readonly rules: Int32Array;
  /** The unconditional rule after them, or -1 (no match). */
  readonly fallback: number;
  /** Per entry: [uidMin, uidMax] of rules[k], side by side for the walk. */
  readonly uids: Float64Array;
  /** Per entry: the rule's syscall set, or null for any. */
  readonly syscalls: readonly (ReadonlySet<string> | null)[];
  /** Per entry, then one for the fallback: the decision code it yields (mode applied). */
  readonly codes: Uint8Array;
}

/** Canonical privilege names by number (aliases dropped), as requests spell them. */
function privNames(): ReadonlyMap<number, string> {
  return privCatalog().byNumber;
}

export class CompiledProfile implements ProfilePolicy {
  readonly name: string;
  readonly mode: Mode;
  readonly audit: AuditSettings;
  readonly profile: Profile;
  /** The rules the decisions index into (written rules, then the implicit bounding allow). */
  readonly rules: readonly Rule[];

  // --- PrivPolicy (contract 3): the projection priv_check reads, with the mode applied ---
  readonly privVerdicts: Uint8Array;
  readonly capAllowLo: number;
  readonly capAllowHi: number;

  // --- Capability tables: constant decisions as bits; conditional caps walk a chain ---
  readonly capAllowBitsLo: number;
  readonly capAllowBitsHi: number;
  readonly capCondLo: number;
  readonly capCondHi: number;
  readonly capRule: Int32Array;
  readonly capChains: readonly (Chain | undefined)[];

  // --- Privilege tables: one bit per privilege number in each of three word arrays ---
  readonly privGrantBits: Uint32Array;
  readonly privDenyBits: Uint32Array;
  readonly privCondBits: Uint32Array;
  readonly privRule: Int32Array;
  readonly privChains: readonly (Chain | undefined)[];

  // --- Per-rule effect, indexed by rule (conditions live in each chain, next to each other) ---
  private readonly ruleAllow: Uint8Array;
  private readonly complain: boolean;
  /** What decideCap returns for a denial: CAP_DENY, or CAP_COMPLAIN in complain mode. */
  private readonly capDenyCode: number;
  /** What decidePriv returns for a veto: POLICY_DENY, or PRIV_COMPLAIN in complain mode. */
  private readonly privDenyCode: number;
  /** Per capability: CAP_ALLOW or the deny code, or CONDITIONAL. */
  private readonly capFast: Uint8Array;
  /** Per privilege: the constant verdict with the mode applied, or CONDITIONAL. */
  private readonly privFast: Uint8Array;
  private privCondTable: Uint8Array | undefined;

  constructor(profile: Profile) {
    this.profile = profile;
    this.name = profile.name;
    this.mode = profile.mode;
    this.audit = profile.audit;
    this.complain = profile.mode === 'complain';
    this.capDenyCode = this.complain ? CAP_COMPLAIN : CAP_DENY;
    this.privDenyCode = this.complain ? PRIV_COMPLAIN : POLICY_DENY;
    const rules = decisionRules(profile);
    this.rules = rules;
    const n = rules.length;
    this.ruleAllow = new Uint8Array(n);
    const sys: (ReadonlySet<string> | null)[] = [];
    rules.forEach((r, i) => {
      this.ruleAllow[i] = r.effect === 'allow' ? 1 : 0;
      sys.push(r.syscalls === null ? null : new Set(r.syscalls));
    });

    // Per-object rule lists in decision order.
    const order = rules.map((r, i) => ({ i, key: ruleOrder(r, i) })).sort((a, b) => a.key - b.key);
    const capLists: number[][] = Array.from({ length: CAP_COUNT }, () => []);
    const privLists = new Map<number, number[]>();
    const names = privNames();
    const capNameToNum = new Map(CAPABILITIES.map((c) => [c.name, c.number]));
    const privNameToNum = new Map([...names].map(([num, nm]) => [nm, num]));
    for (const { i } of order) {
      const seenCap = new Set<number>();
      const seenPriv = new Set<number>();
      for (const o of rules[i]!.objects) {
        const star = o.indexOf('*');
        if (star >= 0) {
          // keyMatch(name, o) for names at least as long as the prefix is startsWith(prefix).
          const prefix = o.slice(0, star);
          for (const c of CAPABILITIES) if (c.name.startsWith(prefix)) seenCap.add(c.number);
          for (const [num, nm] of names) if (nm.startsWith(prefix)) seenPriv.add(num);
        } else {
          const c = capNameToNum.get(o);
          if (c !== undefined) seenCap.add(c);
          const p = privNameToNum.get(o);
          if (p !== undefined) seenPriv.add(p);
        }
      }
      for (const c of seenCap) capLists[c]!.push(i);
      for (const p of seenPriv) {
        let l = privLists.get(p);
        if (!l) privLists.set(p, (l = []));
        l.push(i);
      }
    }
    const capCode = (r: number) => (r >= 0 && rules[r]!.effect === 'allow' ? CAP_ALLOW : this.capDenyCode);
    const privCode = (r: number) =>
      r < 0 ? POLICY_NONE : rules[r]!.effect === 'allow' ? POLICY_GRANT : this.privDenyCode;
    const chainOf = (list: number[], code: (r: number) => number): { chain?: Chain; rule: number } => {
      const cond: number[] = [];
      let fallback = -1;
      for (const i of list) {
        if (isUnconditional(rules[i]!)) {
          fallback = i;
          break;
        }
        cond.push(i);
      }
      if (cond.length === 0) return { rule: fallback };
      const uids = new Float64Array(cond.length * 2);
      cond.forEach((r, k) => {
        uids[2 * k] = rules[r]!.uidMin;
        uids[2 * k + 1] = rules[r]!.uidMax;
      });
      const syscalls = cond.map((r) => sys[r]!);
      const codes = Uint8Array.from([...cond, fallback].map(code));
      return { chain: { rules: Int32Array.from(cond), fallback, uids, syscalls, codes }, rule: -1 };
    };

    let aLo = 0;
    let aHi = 0;
    let cLo = 0;
    let cHi = 0;
    this.capRule = new Int32Array(CAP_COUNT).fill(-1);
    const capChains: (Chain | undefined)[] = new Array(CAP_COUNT).fill(undefined);
    for (let c = 0; c < CAP_COUNT; c++) {
      const { chain, rule } = chainOf(capLists[c]!, capCode);
      const bit = 1 << (c & 31);
      if (chain) {
        capChains[c] = chain;
        if (c < 32) cLo |= bit;
        else cHi |= bit;
      } else {
        this.capRule[c] = rule;
        if (rule >= 0 && this.ruleAllow[rule] === 1) {
          if (c < 32) aLo |= bit;
          else aHi |= bit;
        }
      }
    }
    this.capAllowBitsLo = aLo >>> 0;
    this.capAllowBitsHi = aHi >>> 0;
    this.capCondLo = cLo >>> 0;
    this.capCondHi = cHi >>> 0;
    this.capChains = capChains;
    this.capFast = new Uint8Array(CAP_COUNT);
    for (let c = 0; c < CAP_COUNT; c++) {
      const [cond, allow] = c < 32 ? [this.capCondLo, this.capAllowBitsLo] : [this.capCondHi, this.capAllowBitsHi];
      const bit = 1 << (c & 31);
      this.capFast[c] = (cond & bit) !== 0 ? CONDITIONAL : (allow & bit) !== 0 ? CAP_ALLOW : this.capDenyCode;
    }

    const words = PRIV_TABLE_SIZE >>> 5;
    this.privGrantBits = new Uint32Array(words);
    this.privDenyBits = new Uint32Array(words);
    this.privCondBits = new Uint32Array(words);
    this.privRule = new Int32Array(PRIV_TABLE_SIZE).fill(-1);
    const privChains: (Chain | undefined)[] = new Array(PRIV_TABLE_SIZE).fill(undefined);
    for (const [p, list] of privLists) {
      const { chain, rule } = chainOf(list, privCode);
      const w = p >>> 5;
      const bit = 1 << (p & 31);
      if (chain) {
        privChains[p] = chain;
        this.privCondBits[w]! |= bit;
      } else {
        this.privRule[p] = rule;
        if (rule >= 0) {
          if (this.ruleAllow[rule] === 1) this.privGrantBits[w]! |= bit;
          else this.privDenyBits[w]! |= bit;
        }
      }
    }
    this.privChains = privChains;
    this.privFast = new Uint8Array(PRIV_TABLE_SIZE);
    for (let p = 0; p < PRIV_TABLE_SIZE; p++) {
      const w = p >>> 5;
      const bit = 1 << (p & 31);
      this.privFast[p] =
        (this.privCondBits[w]! & bit) !== 0
          ? CONDITIONAL
          : (this.privDenyBits[w]! & bit) !== 0
            ? this.privDenyCode
            : (this.privGrantBits[w]! & bit) !== 0
              ? POLICY_GRANT
              : POLICY_NONE;
    }

    // The PrivPolicy projection: priv_check's tables carry no uid or syscall. A conditional
    // capability counts as holdable if some condition lets it be used (each use is still
    // decided by decideCap with the uid); a conditional privilege gets a table verdict only
    // when all its outcomes agree, so neither a conditional veto nor a conditional grant
    // reaches requests its condition does not name. Complain mode vetoes nothing.
    let pLo = 0;
    let pHi = 0;
    for (let c = 0; c < CAP_COUNT; c++) {
      const allowed = this.complain || this.capProjection(c);
      if (allowed) {
        if (c < 32) pLo |= 1 << c;
        else pHi |= 1 << (c - 32);
      }
    }
    this.capAllowLo = pLo >>> 0;
    this.capAllowHi = pHi >>> 0;
    this.privVerdicts = new Uint8Array(PRIV_TABLE_SIZE);
    for (const p of names.keys()) {
      let v = this.privProjection(p);
      if (this.complain && v === POLICY_DENY) v = POLICY_NONE;
      this.privVerdicts[p] = v;
    }
  }

  /** The deciding rule's index for a chain, or -1. */
  private walk(chain: Chain, uid: number, syscall: string): number {
    const k = chainPosition(chain, uid, syscall);
    return k < chain.rules.length ? chain.rules[k]! : chain.fallback;
  }

  /**
   * May a thread use capability `cap`? CAP_ALLOW, CAP_DENY, or CAP_COMPLAIN (complain mode: the
   * profile would deny; allow and audit). `syscall` is '' when the check is not made by a syscall.
   */
  decideCap(cap: number, uid = 0, syscall = ''): number {
    // capFast is the allow and conditional masks with the mode folded in, one byte per
    // capability; only conditional capabilities walk their chain.
    if (!(cap >= 0 && cap < CAP_COUNT)) return this.capDenyCode;
    const v = this.capFast[cap]!;
    if (v !== CONDITIONAL) return v;
    return walkCode(this.capChains[cap]!, uid, syscall);
  }

  private ruleAllowed(r: number): boolean {
    return r >= 0 && this.ruleAllow[r] === 1;
  }

  /**
   * The profile's verdict on privilege `priv`: POLICY_NONE (no rule; priv_check's other stages
   * decide), POLICY_DENY, POLICY_GRANT, or PRIV_COMPLAIN (complain mode: would deny; no veto, audit).
   */
  decidePriv(priv: number, uid = 0, syscall = ''): number {
    // privFast folds the three bit tables and the mode into one byte per privilege; only
    // conditional privileges walk their chain.
    if (!(priv >= 0 && priv < PRIV_TABLE_SIZE)) return POLICY_NONE;
    const v = this.privFast[priv]!;
    if (v !== CONDITIONAL) return v;
    return walkCode(this.privChains[priv]!, uid, syscall);
  }

  // PrivPolicy's exact answers for conditional rules (see policy-hook.ts).
  get conditionalCapLo(): number {
    return this.capCondLo;
  }

  get conditionalCapHi(): number {
    return this.capCondHi;
  }

  get privConditional(): Uint8Array {
    if (!this.privCondTable) {
      this.privCondTable = new Uint8Array(PRIV_TABLE_SIZE);
      for (let p = 0; p < PRIV_TABLE_SIZE; p++) this.privCondTable[p] = this.privFast[p] === CONDITIONAL ? 1 : 0;
    }
    return this.privCondTable;
  }

  /** As the capAllow mask, for one request: complain mode refuses nothing (it audits instead). */
  capAllowedFor(cap: number, uid: number, syscall: string): boolean {
    return this.decideCap(cap, uid, syscall) !== CAP_DENY;
  }

  /** As privVerdicts, for one request: a complain-mode deny is no veto. */
  privVerdictFor(priv: number, uid: number, syscall: string): PolicyVerdict {
    const v = this.decidePriv(priv, uid, syscall);
    return v === POLICY_DENY || v === POLICY_GRANT ? v : POLICY_NONE;
  }

  /** Index (into `rules`) of the rule that decides a capability request, or -1 for none. */
  capDenialReason(cap: number, uid: number, syscall: string): string {
    const r = this.capRuleFor(cap, uid, syscall);
    const rule = r >= 0 ? this.rules[r] : undefined;
    const name = CAPABILITIES[cap]?.name ?? `cap ${cap}`;
    return `profile ${this.name} ${rule ? `denies ${name}: ${describeRule(rule)}` : `does not allow ${name}`}`;
  }

  capRuleFor(cap: number, uid = 0, syscall = ''): number {
    if (cap < 0 || cap >= CAP_COUNT) return -1;
    const ch = this.capChains[cap];
    return ch ? this.walk(ch, uid, syscall) : this.capRule[cap]!;
  }

  privRuleFor(priv: number, uid = 0, syscall = ''): number {
    if (priv < 0 || priv >= PRIV_TABLE_SIZE) return -1;
    const ch = this.privChains[priv];
    return ch ? this.walk(ch, uid, syscall) : this.privRule[priv]!;
  }

  /** Every outcome a conditional chain can have (its rules' effects and its fallback). */
  private outcomes(chain: Chain): number[] {
    return [...chain.rules, chain.fallback];
  }

  private capProjection(c: number): boolean {
    const ch = this.capChains[c];
    if (!ch) return this.ruleAllowed(this.capRule[c]!);
    return this.outcomes(ch).some((r) => this.ruleAllowed(r));
  }

  private privProjection(p: number): number {
    const ch = this.privChains[p];
    const verdict = (r: number) => (r < 0 ? POLICY_NONE : this.ruleAllow[r] === 1 ? POLICY_GRANT : POLICY_DENY);
    if (!ch) return verdict(this.privRule[p]!);
    const vs = this.outcomes(ch).map(verdict);
    return vs.every((v) => v === vs[0]) ? vs[0]! : POLICY_NONE;
  }

  /** Could some request (any uid, any syscall) be allowed capability `c`? Mode not applied. */
  capMayAllow(c: number): boolean {
    return this.capProjection(c);
  }

  /** Every verdict the profile can give privilege `p` over all uids and syscalls (mode not applied). */
  privOutcomes(p: number): Set<number> {
    const verdict = (r: number) => (r < 0 ? POLICY_NONE : this.ruleAllow[r] === 1 ? POLICY_GRANT : POLICY_DENY);
    const ch = this.privChains[p];
    return new Set(ch ? this.outcomes(ch).map(verdict) : [verdict(this.privRule[p] ?? -1)]);
  }

  /** The first rule (in decision order) through which some request is granted `p`, or -1. */
  privGrantRule(p: number): number {
    const ch = this.privChains[p];
    const rs = ch ? this.outcomes(ch) : [this.privRule[p] ?? -1];
    return rs.find((r) => r >= 0 && this.ruleAllow[r] === 1) ?? -1;
  }

  /** PrivPolicy.explainPriv: the rule behind the table's verdict, for reason chains. */
  explainPriv(priv: number): string | undefined {
    const ch = this.privChains[priv];
    if (ch) return `conditional rules (${[...ch.rules].map((r) => describeRule(this.rules[r]!)).join('; ')})`;
    const r = this.privRule[priv] ?? -1;
    return r < 0 ? undefined : describeRule(this.rules[r]!);
  }
}

/** The decision code of the first chain entry whose uid range and syscall set hold, else the fallback's. */
/**
 * The first entry of a chain whose uid range and system calls match, or rules.length for the
 * fallback. One walk serves both answers: the rule (for explanations) and its code (hot path).
 */
function chainPosition(chain: Chain, uid: number, syscall: string): number {
  const u = chain.uids;
  const n = chain.rules.length;
  for (let k = 0; k < n; k++) {
    if (uid >= u[2 * k]! && uid <= u[2 * k + 1]!) {
      const s = chain.syscalls[k]!;
      if (s === null || s.has(syscall)) return k;
    }
  }
  return n;
}

function walkCode(chain: Chain, uid: number, syscall: string): number {
  return chain.codes[chainPosition(chain, uid, syscall)]!;
}

export function describeRule(r: Rule): string {
  const cond: string[] = [];
  if (r.uidMin !== 0 || r.uidMax !== UID_ANY_MAX)
    cond.push(`uid ${r.uidMin === r.uidMax ? r.uidMin : `${r.uidMin}-${r.uidMax}`}`);
  if (r.syscalls) cond.push(`syscall ${r.syscalls.join('|')}`);
  const where = r.implicit ? r.source : `at ${r.source}`;
  return `${r.effect} ${r.objects.join(',')}${cond.length ? ` when ${cond.join(', ')}` : ''}${r.priority > 0 ? ` priority ${r.priority}` : ''} ${where}`;
}

export function compileProfile(p: Profile): CompiledProfile {
  return new CompiledProfile(p);
}
