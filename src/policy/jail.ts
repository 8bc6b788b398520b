/**
 * Policy at jail creation: from a compiled profile, the jail(8) parameters a FreeBSD jail needs
 * so that jailed root can use what the profile allows, and no more.
 *
 * Which privileges the profile allows:
 *   needed(p) = (some allowed capability maps to p with high confidence, and the profile does
 *               not veto p outright) or (some profile rule grants p)
 * For each needed privilege, prison_priv_check's rule (src/priv/jail.ts, from jail-priv.tsv)
 * says what the jail must have: nothing (always), an allow.* parameter, enforce_statfs, a vnet
 * (a condition is an OR of ANDs; the cheapest alternative is taken, and a vnet only if the
 * profile's jail section already asks for one), or nothing can (never). Parameters that FreeBSD
 * turns on by default in a new jail (allow.reserved_ports) are turned off with allow.noX when
 * nothing needs them. What jail parameters cannot say is listed, not silently dropped.
 */
import { CAP_COUNT, CAPABILITIES } from '../caps/catalog.js';
import {
  JAIL_PARAMS,
  JAIL_RULES,
  type JailTerm,
  jailParamDef,
  jailRuleFor,
  negatedBoolParam,
  PRIVS_GATED_BY,
} from '../priv/jail.js';
import { capHasNoCounterpart, rowsForCap } from '../priv/mapping.js';
import { POLICY_DENY, POLICY_GRANT } from '../priv/policy-hook.js';
import { type CompiledProfile, describeRule } from './compile.js';
import { privCatalog } from './privdata.js';

export interface JailParam {
  key: string;
  /** null: a boolean written bare (allow.raw_sockets); otherwise key=value. */
  value: string | null;
  why: string;
}

export interface JailPlan {
  name: string;
  path: string;
  profile: string;
  params: JailParam[];
  cannotExpress: { subject: string; why: string }[];
  notes: string[];
}

/** What the jail will have besides the profile: a vnet given on the command line (--vnet). */
export interface JailEnv {
  vnet?: boolean;
}

const privName = (n: number) => privCatalog().byNumber.get(n) ?? `priv#${n}`;
const capName = (c: number) => CAPABILITIES[c]!.name;

function truthy(v: string | undefined): boolean {
  return v !== undefined && ['1', 'true', 'yes', 'on', 'new'].includes(v.toLowerCase());
}

export function planJail(p: CompiledProfile, name: string, path: string, env: JailEnv = {}): JailPlan {
  const profileJail = p.profile.jail;
  const hasVnet = env.vnet === true || truthy(profileJail.vnet);
  const cannot: { subject: string; why: string }[] = [];
  const notes: string[] = [];

  // 1. Privileges the profile allows, with the reason each is needed.
  const needed = new Map<number, string[]>();
  const need = (priv: number, why: string) => {
    const l = needed.get(priv) ?? [];
    if (!l.includes(why)) l.push(why);
    needed.set(priv, l);
  };
  for (let c = 0; c < CAP_COUNT; c++) {
    if (!p.capMayAllow(c)) continue;
    if (capHasNoCounterpart(c)) {
      cannot.push({
        subject: capName(c),
        why: 'has no FreeBSD privilege: only the capability stage (capctl runtime) grants or limits it',
      });
      continue;
    }
    const high = rowsForCap(c).filter((r) => r.priv !== null && r.confidence === 'high');
    if (high.length === 0) {
      cannot.push({
        subject: capName(c),
        why: `maps to FreeBSD privileges only loosely (${rowsForCap(c)
          .map((r) => `${r.privName} ${r.confidence}`)
          .join(', ')}); no jail parameter is derived from it`,
      });
    }
    for (const r of high) {
      const out = p.privOutcomes(r.priv!);
      if (out.size === 1 && out.has(POLICY_DENY)) continue; // the profile vetoes it for everyone
      need(r.priv!, capName(c));
    }
  }
  for (const n of privCatalog().byNumber.keys()) {
    if (!p.privOutcomes(n).has(POLICY_GRANT)) continue;
    const r = p.privGrantRule(n);
    need(n, `rule ${p.rules[r]!.source}`);
  }

  // 2. What the jail must have for each needed privilege.
  const params = new Map<string, JailParam>();
  const addParam = (key: string, value: string | null, why: string) => {
    const cur = params.get(key);
    if (cur) {
      if (!cur.why.includes(why)) cur.why += `, ${why}`;
    } else params.set(key, { key, value, why });
  };
  const statfs = profileJail.enforce_statfs === undefined ? 2 : Number(profileJail.enforce_statfs);
  const cost = (alt: readonly JailTerm[]) =>
    alt.reduce((s, t) => s + (t.kind === 'vnet' ? (hasVnet ? 0 : 100) : t.kind === 'allow' ? 1 : 2), 0);
  for (const [priv, why] of [...needed].sort((a, b) => a[0] - b[0])) {
    const rule = jailRuleFor(priv);
    const label = `${privName(priv)} (${why.join(', ')})`;
    if (!rule || rule.rule === 'never') {
      cannot.push({ subject: privName(priv), why: `needed for ${why.join(', ')}, but jailed root never gets it` });
      continue;
    }
    if (rule.rule === 'always') continue;
    const alt = [...rule.anyOf].sort((a, b) => cost(a) - cost(b))[0]!;
    if (alt.some((t) => t.kind === 'vnet') && !hasVnet) {
      cannot.push({
        subject: privName(priv),
        why: `needed for ${why.join(', ')}; only a vnet jail passes it (add \`vnet: new\` to the profile's jail section)`,
      });
      continue;
    }
    for (const t of alt) {
      if (t.kind === 'allow') addParam(t.param, null, label);
      else if (t.kind === 'enforce_statfs' && t.op === '<' && statfs >= t.value) {
        addParam('enforce_statfs', String(t.value - 1), label);
      } else if (t.kind === 'enforce_statfs' && t.op === '>' && statfs <= t.value) {
        notes.push(`${privName(priv)} needs enforce_statfs > ${t.value}, but the profile sets ${statfs}`);
      } else if (t.kind === 'root_is_mountpoint') {
        notes.push(`${privName(priv)} also needs the jail's path (${path}) to be a mount point`);
      }
    }
  }

  // 3. Parameters FreeBSD turns on by default that the profile does not need.
  for (const d of JAIL_PARAMS) {
    if (d.source !== 'jail' || d.kind !== 'bool' || d.default !== 1 || params.has(d.name)) continue;
    const privs = PRIVS_GATED_BY.get(d.name);
    if (!privs) continue;
    const off = d.name.replace(/^allow\./, 'allow.no');
    params.set(off, {
      key: off,
      value: null,
      why: `on by default; grants ${privs.join(', ')}, which the profile does not allow`,
    });
  }

  // 4. Privileges the profile refuses but every jail grants.
  const refusedAlways: string[] = [];
  for (const r of JAIL_RULES) {
    if (r.rule !== 'always' || needed.has(r.priv)) continue;
    const out = p.privOutcomes(r.priv);
    const vetoed = out.has(POLICY_DENY);
    const fromDeniedCap = CAPABILITIES.some(
      (c) =>
        !p.capMayAllow(c.number) &&
        rowsForCap(c.number).some((row) => row.priv === r.priv && row.confidence === 'high'),
    );
    if (vetoed || fromDeniedCap) refusedAlways.push(r.privName);
  }
  if (refusedAlways.length > 0) {
    cannot.push({
      subject: `${refusedAlways.length} privileges`,
      why: `every jail grants ${refusedAlways.join(', ')} to its root; the profile refuses them, which only capctl's priv_check policy stage (or a MAC policy) can enforce`,
    });
  }

  // 5. The profile's own jail parameters, as written.
  for (const [k, v] of Object.entries(profileJail)) {
    const def = jailParamDef(k);
    if (params.has(k) && k === 'enforce_statfs') continue;
    const isBool = def?.kind === 'bool';
    if (isBool) {
      const on = truthy(v);
      const key = on
        ? k
        : k.replace(/^(.*\.)?([^.]+)$/, (_m, pre: string | undefined, last: string) => `${pre ?? ''}no${last}`);
      params.set(key, { key, value: null, why: 'from the profile' });
    } else params.set(k, { key: k, value: v, why: 'from the profile' });
  }
  const hasRunner = 'persist' in profileJail || Object.keys(profileJail).some((k) => k.startsWith('exec.'));
  if (!hasRunner) params.set('persist', { key: 'persist', value: null, why: 'keeps the jail after `jail -c` returns' });
  if (p.mode === 'complain')
    notes.push('the profile is in complain mode; the parameters above follow what enforce mode allows');

  const list = [...params.values()];
  const order = (k: string) => (k === 'persist' ? 2 : k.startsWith('allow.') ? 0 : 1);
  list.sort((a, b) => order(a.key) - order(b.key) || (a.key < b.key ? -1 : 1));
  return { name, path, profile: p.profile.file, params: list, cannotExpress: cannot, notes };
}

/** For explanations: what the profile decided about a privilege. */
export function privRuleText(p: CompiledProfile, priv: number): string {
  const r = p.privRuleFor(priv);
  return r < 0 ? 'no rule' : describeRule(p.rules[r]!);
}

/**
 * The priv(9)-relevant parameters `capctl jail create` gives this profile's jail, as
 * `--jail-param` strings: what `capctl run --jail NAME` starts from, so a program run "in" the
 * jail meets the allow.* values the jail really has. Parameters the privilege model does not
 * read (persist, path, addresses) are left out.
 */
export function jailParamArgs(p: CompiledProfile, name: string): string[] {
  return planJail(p, name, '/')
    .params.filter((q) => jailParamDef(negatedBoolParam(q.key) ?? q.key) !== undefined)
    .map((q) => (q.value === null ? q.key : `${q.key}=${q.value}`));
}
