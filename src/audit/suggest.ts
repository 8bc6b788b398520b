/**
 * Denials -> profile change. Reads what was refused and writes the smallest profile that would
 * have allowed it: each capability as an allow rule narrowed to the system calls that needed it,
 * each FreeBSD privilege likewise, and the jail parameters those privileges need. The result is
 * a profile YAML document (schema/profile.schema.json) to review, not to apply blindly, so every
 * rule carries a comment with the evidence (how often, which calls, which processes). Jail
 * parameters are reported, not written: profiles derive allow.* from their rules.
 *
 * What is deliberately not suggested:
 *   - denials by Linux's invariants on a thread's own sets (see NOT_A_GRANT): those are a
 *     program dropping or raising its sets against the rules, not a missing grant;
 *   - privileges whose jail rule is 'never': no jail parameter unlocks them; they are listed
 *     under `cannot` so the operator sees them.
 */
import type * as Yaml from 'yaml';
import { CAPABILITIES, capByName } from '../caps/catalog.js';
import { privByName } from '../priv/catalog.js';
import { type JailTerm, jailRuleFor } from '../priv/jail.js';
import { lazyRequire } from '../util/lazy.js';
import type { AuditRecord } from './record.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

export interface SuggestOptions {
  name: string;
  /** Parent profile to extend (a name in policies/ or a path). */
  extendsProfile?: string;
  target?: 'jail' | 'chroot' | 'container';
  /** Count complain-mode records as needs too (default true: that is what complain mode is for). */
  includeComplain?: boolean;
}

interface Need {
  count: number;
  syscalls: Set<string>;
  tgids: Set<number>;
}

export interface Suggestion {
  /** Profile document, ready for YAML. */
  profile: Record<string, unknown>;
  caps: string[];
  privs: string[];
  jailParams: string[];
  cannot: { subject: string; why: string }[];
  ignored: { record: number; why: string }[];
  considered: number;
}

/**
 * Suggested allows outrank a parent's ordinary denies (priority 0, e.g. k8s-restricted's
 * `deny PRIV_*`) — being denied is why they are suggested — but not a deliberate high-priority
 * deny such as strict's (1000): a profile written to refuse everything keeps refusing.
 */
const SUGGESTED_PRIORITY = 100;

/**
 * The runtime's stages for Linux's own invariants on a thread's sets (capset's pid, bounding,
 * permitted and effective rules; prctl's securebits locks and ambient preconditions): a program
 * breaking them needs a fix in the program, not a grant. A missing capability shows up at the
 * 'capability' stage instead (e.g. CAP_SETPCAP for PR_CAPBSET_DROP).
 */
const NOT_A_GRANT = new Set(['pid', 'bounding', 'permitted', 'effective', 'securebits', 'ambient']);

export class SuggestBuilder {
  private readonly caps = new Map<number, Need>();
  private readonly privs = new Map<string, Need>();
  private readonly ignored: { record: number; why: string }[] = [];
  private n = 0;

  constructor(private readonly opts: SuggestOptions) {}

  add(r: AuditRecord): void {
    this.n++;
    if (r.verdict === 'allowed') return;
    if (r.verdict === 'complain' && this.opts.includeComplain === false) return;
    if (NOT_A_GRANT.has(r.stage)) {
      this.ignored.push({ record: this.n, why: `${r.syscall}: ${r.stage} rule (${r.reason}) is not a missing grant` });
      return;
    }
    const call = r.syscall;
    if (r.priv !== undefined && privByName(r.priv)) {
      bump(this.privs, r.priv, call, r.tgid);
    }
    const cap = r.capNumber ?? (r.cap !== undefined ? capByName(r.cap) : undefined);
    if (cap !== undefined && cap >= 0 && cap < CAPABILITIES.length) bump(this.caps, cap, call, r.tgid);
    else if (r.priv === undefined)
      this.ignored.push({ record: this.n, why: `${call}: names no capability or privilege` });
  }

  build(): Suggestion {
    const capNums = [...this.caps.keys()].sort((a, b) => a - b);
    const privNames = [...this.privs.keys()].sort();
    const rules: Record<string, unknown>[] = [];
    for (const c of capNums) {
      const need = this.caps.get(c)!;
      const name = CAPABILITIES[c]!.name;
      rules.push({
        effect: 'allow',
        caps: [name],
        when: { syscall: [...need.syscalls].sort() },
        priority: SUGGESTED_PRIORITY,
        comment: evidence(need),
      });
      // `capabilities.add` puts the cap in the sets, and a cap in the bounding set is allowed
      // for every call unless a rule says otherwise: this deny keeps the grant as narrow as the
      // evidence. Delete it to grant the capability everywhere.
      rules.push({
        effect: 'deny',
        caps: [name],
        priority: SUGGESTED_PRIORITY - 1,
        comment: `${name} only for the calls above`,
      });
    }
    const jail = new Map<string, boolean | number>();
    const cannot: { subject: string; why: string }[] = [];
    for (const p of privNames) {
      const need = this.privs.get(p)!;
      rules.push({
        effect: 'allow',
        privs: [p],
        when: { syscall: [...need.syscalls].sort() },
        priority: SUGGESTED_PRIORITY,
        comment: evidence(need),
      });
      const info = privByName(p)!;
      const rule = jailRuleFor(info.number);
      if (!rule || rule.rule === 'always') continue;
      if (rule.rule === 'never') {
        cannot.push({ subject: p, why: 'prison_priv_check refuses it in every jail; run it outside a jail' });
        continue;
      }
      // Prefer an alternative that needs no vnet: a vnet is a network design decision, not a
      // permission to hand out (a vnet jail gets raw sockets and routing as a side effect).
      const alt = rule.anyOf.find((a) => a.every((t) => t.kind !== 'vnet')) ?? rule.anyOf[0] ?? [];
      for (const t of alt) setJailTerm(jail, t);
    }
    const profile: Record<string, unknown> = {
      name: this.opts.name,
      description: `suggested by capctl audit suggest from ${this.n} record(s)`,
    };
    if (this.opts.extendsProfile) profile.extends = [this.opts.extendsProfile];
    if (this.opts.target) profile.target = this.opts.target;
    if (capNums.length > 0) profile.capabilities = { add: capNums.map((c) => CAPABILITIES[c]!.name) };
    if (rules.length > 0) profile.rules = rules;
    return {
      profile,
      caps: capNums.map((c) => CAPABILITIES[c]!.name),
      privs: privNames,
      jailParams: [...jail.keys()],
      cannot,
      ignored: this.ignored,
      considered: this.n,
    };
  }
}

function bump<K>(m: Map<K, Need>, k: K, syscall: string, tgid: number): void {
  let n = m.get(k);
  if (!n) {
    n = { count: 0, syscalls: new Set(), tgids: new Set() };
    m.set(k, n);
  }
  n.count++;
  n.syscalls.add(syscall);
  n.tgids.add(tgid);
}

function setJailTerm(jail: Map<string, boolean | number>, t: JailTerm): void {
  if (t.kind === 'allow') jail.set(t.param, true);
  else if (t.kind === 'vnet') jail.set('vnet', true);
  else if (t.kind === 'enforce_statfs') jail.set('enforce_statfs', t.op === '<' ? t.value - 1 : t.value + 1);
  // root_is_mountpoint is a property of the jail's path, not a parameter: left to the operator.
}

function evidence(n: Need): string {
  return `${n.count} denial(s) in ${[...n.syscalls].sort().join(', ')} by ${n.tgids.size} process(es)`;
}

/** The suggestion as a YAML profile with a header saying where it came from. */
export function suggestionYaml(s: Suggestion, sources: string[]): string {
  const head = [
    `# Suggested by capctl audit suggest from ${s.considered} record(s) in ${sources.join(', ')}.`,
    '# Review before use: each rule is as narrow as the evidence (capability and system calls).',
  ];
  if (s.jailParams.length > 0) {
    // allow.* parameters are derived from the rules by `capctl jail create`, not written in profiles.
    head.push(`# In a FreeBSD jail this needs: ${s.jailParams.join(' ')} (capctl jail create derives them).`);
  }
  for (const c of s.cannot) head.push(`# cannot be granted by a profile: ${c.subject}: ${c.why}`);
  return `${head.join('\n')}\n${yaml().stringify(s.profile, { lineWidth: 0 })}`;
}
