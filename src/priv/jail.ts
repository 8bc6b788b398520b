/**
 * Jails: the parameters that decide privileges, with FreeBSD's defaults, and prison_priv_check()
 * (sys/kern/kern_jail.c) as data. The rules per privilege come from data/jail-priv.tsv:
 *
 *   always  - prison_priv_check returns 0 (the later stages still decide)
 *   param   - returns 0 only if the condition in allow_param holds for this jail
 *   never   - returns EPERM (the `default:` arm of its switch)
 *
 * allow_param mini-syntax (from the spec): `|` or, `&` and (and binds tighter); terms are
 * `allow.<name>`, `vnet`, `enforce_statfs<2`, `enforce_statfs>0`, `root_is_mountpoint`.
 */
import { closestName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { privByName } from './catalog.js';
import { PRIV_TABLE_SIZE } from './policy-hook.js';
import { JAIL_ALLOW_ROWS, JAIL_RULE_ROWS } from './tables.generated.js';

export type JailParamKind = 'bool' | 'int' | 'vnet';

export interface JailParamDef {
  readonly name: string;
  readonly kind: JailParamKind;
  /** FreeBSD's value in a new jail (JAIL_DEFAULT_ALLOW, enforce_statfs=2, ...). */
  readonly default: number;
  readonly min?: number;
  readonly max?: number;
  /** Where the name comes from: a jail(8) parameter, a fact about the jail, or a host sysctl. */
  readonly source: 'jail' | 'fact' | 'sysctl';
  readonly meaning: string;
}

/**
 * Everything `--jail-param` accepts. The allow.* rows come from data/jail-allow-params.tsv.
 * Two names are not jail(8) parameters and say so: `jailed` (0 models prison0, the host itself)
 * and `root_is_mountpoint` (a fact about the jail's path that the nfsd rule tests). The
 * security.bsd.* names are the host sysctls priv_check_cred() reads.
 */
export const JAIL_PARAMS: readonly JailParamDef[] = [
  ...JAIL_ALLOW_ROWS.map(
    ([name, def, meaning]): JailParamDef => ({ name, kind: 'bool', default: def, source: 'jail', meaning }),
  ),
  {
    name: 'enforce_statfs',
    kind: 'int',
    default: 2,
    min: 0,
    max: 2,
    source: 'jail',
    meaning:
      'which mount points statfs shows the jail (2: only its root and below); allow.mount needs <2, nfsd needs >0',
  },
  {
    name: 'vnet',
    kind: 'vnet',
    default: 0,
    source: 'jail',
    meaning: 'new: the jail has its own network stack (VIMAGE), which passes most network privileges',
  },
  {
    name: 'securelevel',
    kind: 'int',
    default: -1,
    min: -1,
    max: 3,
    source: 'jail',
    meaning: 'kern.securelevel seen inside the jail (can only be raised); callers of priv_check test it',
  },
  {
    name: 'children.max',
    kind: 'int',
    default: 0,
    min: 0,
    max: 2 ** 31 - 1,
    source: 'jail',
    meaning: 'how many child jails the jail may create; 0 makes jail_set(2) fail even though PRIV_JAIL_SET passes',
  },
  {
    name: 'persist',
    kind: 'bool',
    default: 0,
    source: 'jail',
    meaning: 'the jail outlives its last process; no privilege depends on it',
  },
  {
    name: 'jailed',
    kind: 'bool',
    default: 1,
    source: 'fact',
    meaning: 'capctl: 1 models a jail, 0 models prison0 (the host), where prison_priv_check passes everything',
  },
  {
    name: 'root_is_mountpoint',
    kind: 'bool',
    default: 0,
    source: 'fact',
    meaning: "capctl: the jail's root directory is a mount point (required for allow.nfsd)",
  },
  {
    name: 'security.bsd.suser_enabled',
    kind: 'bool',
    default: 1,
    source: 'sysctl',
    meaning: 'prison0 copy of allow.suser: uid 0 on the host is privileged at all',
  },
  {
    name: 'security.bsd.unprivileged_mlock',
    kind: 'bool',
    default: 1,
    source: 'sysctl',
    meaning: 'grants PRIV_VM_MLOCK/MUNLOCK to anyone, after the jail filter',
  },
  {
    name: 'security.bsd.unprivileged_read_msgbuf',
    kind: 'bool',
    default: 1,
    source: 'sysctl',
    meaning: 'grants PRIV_MSGBUF to anyone, after the jail filter',
  },
  {
    name: 'security.bsd.unprivileged_proc_debug',
    kind: 'bool',
    default: 1,
    source: 'sysctl',
    meaning: 'prison0 copy of allow.unprivileged_proc_debug (PRIV_DEBUG_UNPRIV grant)',
  },
];

const PARAM_BY_NAME = new Map(JAIL_PARAMS.map((p) => [p.name, p]));

export function jailParamDef(name: string): JailParamDef | undefined {
  return PARAM_BY_NAME.get(name);
}

/** A parsed, complete jail configuration: every parameter has a value. */
export interface JailConfig {
  readonly values: ReadonlyMap<string, number>;
  readonly jailed: boolean;
  readonly vnet: boolean;
  readonly enforceStatfs: number;
  readonly securelevel: number;
  readonly childrenMax: number;
  /** suser_enabled(cred): allow.suser in a jail, security.bsd.suser_enabled in prison0. */
  readonly suser: boolean;
  readonly unprivilegedMlock: boolean;
  readonly unprivilegedReadMsgbuf: boolean;
  /** allow.unprivileged_proc_debug in a jail, the sysctl in prison0. */
  readonly unprivilegedProcDebug: boolean;
  get(name: string): number;
}

function parseBool(name: string, v: string): number {
  const t = v.trim().toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes' || t === 'on') return 1;
  if (t === '0' || t === 'false' || t === 'no' || t === 'off') return 0;
  throw inputError('bad-jail-param', `jail parameter ${name} is a boolean: "${v}" is not 0, 1, true or false`);
}

function parseValue(def: JailParamDef, v: string): number {
  if (def.kind === 'bool') return parseBool(def.name, v);
  if (def.kind === 'vnet') {
    const t = v.trim().toLowerCase();
    // jail(8): vnet = "new" gives the jail its own stack; "inherit" shares the parent's.
    if (t === 'new') return 1;
    if (t === 'inherit') return 0;
    return parseBool(def.name, v);
  }
  const t = v.trim();
  if (!/^-?\d+$/.test(t)) throw inputError('bad-jail-param', `jail parameter ${def.name} wants an integer, got "${v}"`);
  const n = Number(t);
  if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
    throw inputError('bad-jail-param', `jail parameter ${def.name}=${n} is outside ${def.min}..${def.max}`);
  }
  return n;
}

/** Throws an input error naming the closest known parameter. */
function unknownParam(name: string): never {
  const hint = closestName(name, [...PARAM_BY_NAME.keys()]);
  throw inputError('unknown-jail-param', `unknown jail parameter "${name}"${hint ? ` (did you mean ${hint}?)` : ''}`);
}

/** The boolean parameter `allow.nox` negates (`allow.x`), or undefined when `k` is no such form. */
export function negatedBoolParam(k: string): string | undefined {
  if (PARAM_BY_NAME.has(k)) return undefined;
  const no = /^(.*\.)no([a-z_].*)$/.exec(k);
  return no && PARAM_BY_NAME.get(`${no[1]}${no[2]}`)?.kind === 'bool' ? `${no[1]}${no[2]}` : undefined;
}

/**
 * Parse `K=V` strings (as `--jail-param` gives them) into a record. A bare `allow.x` means
 * `allow.x=1` and `allow.nox` means `allow.x=0`, as jail(8) writes booleans.
 */
export function parseJailParamArgs(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of args) {
    const eq = a.indexOf('=');
    let k = eq < 0 ? a.trim() : a.slice(0, eq).trim();
    let v = eq < 0 ? '1' : a.slice(eq + 1);
    if (k === '') throw inputError('bad-jail-param', `"${a}" is not K=V`);
    const negated = negatedBoolParam(k);
    if (negated !== undefined) {
      k = negated;
      if (eq >= 0) throw inputError('bad-jail-param', `"${a}": the negated form takes no value`);
      v = '0';
    }
    if (eq < 0 && PARAM_BY_NAME.get(k)?.kind === 'int') {
      throw inputError('bad-jail-param', `"${a}" needs a value (${k}=N)`);
    }
    out[k] = v;
  }
  return out;
}

/** Build a complete configuration from parameter strings; unknown names and bad values are input errors. */
export function makeJailConfig(params: Readonly<Record<string, string>> = {}): JailConfig {
  const values = new Map<string, number>();
  for (const d of JAIL_PARAMS) values.set(d.name, d.default);
  for (const [k, v] of Object.entries(params)) {
    const def = PARAM_BY_NAME.get(k);
    if (!def) unknownParam(k);
    values.set(k, parseValue(def, String(v)));
  }
  const get = (n: string) => {
    const v = values.get(n);
    if (v === undefined) unknownParam(n);
    return v;
  };
  const jailed = get('jailed') === 1;
  return {
    values,
    jailed,
    vnet: get('vnet') === 1,
    enforceStatfs: get('enforce_statfs'),
    securelevel: get('securelevel'),
    childrenMax: get('children.max'),
    suser: jailed ? get('allow.suser') === 1 : get('security.bsd.suser_enabled') === 1,
    unprivilegedMlock: get('security.bsd.unprivileged_mlock') === 1,
    unprivilegedReadMsgbuf: get('security.bsd.unprivileged_read_msgbuf') === 1,
    unprivilegedProcDebug: jailed
      ? get('allow.unprivileged_proc_debug') === 1
      : get('security.bsd.unprivileged_proc_debug') === 1,
    get,
  };
}

/** The parameters that differ from FreeBSD's defaults, as K=V strings (for reasons and reports). */
export function nonDefaultParams(cfg: JailConfig): string[] {
  const out: string[] = [];
  for (const d of JAIL_PARAMS) {
    const v = cfg.values.get(d.name);
    if (v !== d.default) out.push(`${d.name}=${v}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// prison_priv_check rules

export type JailRuleKind = 'always' | 'param' | 'never';

/** One term of an allow_param condition. */
export type JailTerm =
  | { readonly kind: 'allow'; readonly param: string }
  | { readonly kind: 'vnet' }
  | { readonly kind: 'enforce_statfs'; readonly op: '<' | '>'; readonly value: number }
  | { readonly kind: 'root_is_mountpoint' };

export interface JailRule {
  readonly priv: number;
  readonly privName: string;
  readonly rule: JailRuleKind;
  /** The condition as written in jail-priv.tsv, e.g. `vnet|allow.raw_sockets`. */
  readonly text: string;
  /** Disjunction of conjunctions. Empty for always/never. */
  readonly anyOf: readonly (readonly JailTerm[])[];
}

function parseTerm(t: string, where: string): JailTerm {
  if (t === 'vnet') return { kind: 'vnet' };
  if (t === 'root_is_mountpoint') return { kind: 'root_is_mountpoint' };
  const es = /^enforce_statfs([<>])(\d)$/.exec(t);
  if (es) return { kind: 'enforce_statfs', op: es[1] as '<' | '>', value: Number(es[2]) };
  if (t.startsWith('allow.') && PARAM_BY_NAME.has(t)) return { kind: 'allow', param: t };
  throw new Error(`jail-priv.tsv ${where}: unknown condition term "${t}"`);
}

/** Every PRIV_* name's rule, in jail-priv.tsv order (246 rows). */
export const JAIL_RULES: readonly JailRule[] = JAIL_RULE_ROWS.map(([name, rule, text]) => {
  const info = privByName(name);
  if (!info) throw new Error(`jail-priv.tsv: ${name} is not in the privilege catalog`);
  const anyOf = rule === 'param' ? text.split('|').map((alt) => alt.split('&').map((t) => parseTerm(t, name))) : [];
  return { priv: info.number, privName: name, rule: rule as JailRuleKind, text, anyOf };
});

const RULE_BY_NUMBER = new Map<number, JailRule>();
for (const r of JAIL_RULES) if (!RULE_BY_NUMBER.has(r.priv)) RULE_BY_NUMBER.set(r.priv, r);

/** The rule for a privilege number; numbers priv.h does not define fall into `default:` (never). */
export function jailRuleFor(priv: number): JailRule | undefined {
  return RULE_BY_NUMBER.get(priv);
}

export function termHolds(t: JailTerm, cfg: JailConfig): boolean {
  switch (t.kind) {
    case 'vnet':
      return cfg.vnet;
    case 'root_is_mountpoint':
      return cfg.get('root_is_mountpoint') === 1;
    case 'enforce_statfs':
      return t.op === '<' ? cfg.enforceStatfs < t.value : cfg.enforceStatfs > t.value;
    case 'allow':
      return cfg.get(t.param) === 1;
  }
}

export function termText(t: JailTerm): string {
  switch (t.kind) {
    case 'vnet':
      return 'vnet';
    case 'root_is_mountpoint':
      return 'root_is_mountpoint';
    case 'enforce_statfs':
      return `enforce_statfs${t.op}${t.value}`;
    case 'allow':
      return t.param;
  }
}

/** prison_priv_check(cred, priv) for a credential in this jail: true means it returns 0. */
export function prisonPrivCheck(cfg: JailConfig, priv: number): boolean {
  if (!cfg.jailed) return true; // prison_priv_check returns 0 for unjailed credentials
  const r = RULE_BY_NUMBER.get(priv);
  if (!r || r.rule === 'never') return false;
  if (r.rule === 'always') return true;
  return r.anyOf.some((alt) => alt.every((t) => termHolds(t, cfg)));
}

/**
 * For each allow.* parameter, the privileges whose prison_priv_check condition names it
 * (e.g. allow.raw_sockets -> [PRIV_NETINET_RAW]), in jail-priv.tsv order.
 */
export const PRIVS_GATED_BY: ReadonlyMap<string, readonly string[]> = (() => {
  const gated = new Map<string, string[]>();
  for (const r of JAIL_RULES) {
    for (const alt of r.anyOf) {
      for (const t of alt) {
        if (t.kind !== 'allow') continue;
        const list = gated.get(t.param) ?? [];
        if (!list.includes(r.privName)) list.push(r.privName);
        gated.set(t.param, list);
      }
    }
  }
  return gated;
})();

/** Jail parameters that appear in a privilege's condition (for `priv explain` / `cap explain`). */
export function paramsInRule(r: JailRule): string[] {
  const out = new Set<string>();
  for (const alt of r.anyOf) for (const t of alt) out.add(termText(t));
  return [...out];
}

/** One byte per privilege: 1 when prison_priv_check passes in this jail. Built once per jail. */
export function compileJailFilter(cfg: JailConfig): Uint8Array {
  const pass = new Uint8Array(PRIV_TABLE_SIZE);
  for (let p = 0; p < PRIV_TABLE_SIZE; p++) pass[p] = prisonPrivCheck(cfg, p) ? 1 : 0;
  return pass;
}
