/**
 * Denials -> profile. Reads what was refused and writes the smallest profile that would have
 * allowed it: each capability as an allow rule narrowed to the system calls that needed it,
 * each FreeBSD privilege likewise, and the jail parameters those privileges need. The result is
 * a profile YAML document (schema/profile.schema.json) to review, not to apply blindly, so every
 * rule carries a comment with the evidence (how often, which calls, which processes). Jail
 * parameters are reported, not written: profiles derive allow.* from their rules.
 *
 * Two shapes (docs/audit.md, "audit suggest"):
 *   - standalone (default): every set stated — bounding, permitted and effective hold exactly
 *     the needed capabilities, inheritable and ambient are empty — then the narrowed allows at
 *     priority 1 and one `deny ALL, PRIV_*` at priority 0, so nothing the log did not show
 *     is allowed, whatever defaults a reader assumes for unstated sets;
 *   - `--extends BASE`: `capabilities.add` puts the needed capabilities in the base's sets and
 *     each allow gets a priority one above the highest base deny rule that names the same
 *     capability or privilege (at equal priority deny wins, so that is the least that takes
 *     effect). A base deny at the maximum priority (1000, e.g. strict) cannot be outranked:
 *     the suggestion is refused with the rule named, instead of a profile that allows nothing.
 *
 * Logs that name no system call (AppArmor and SELinux log the capability check, not the call:
 * syscall "capable") give an allow for every call: a condition on a name that is not a system
 * call would never match, and the deny beside it would deny what was logged.
 *
 * What is deliberately not suggested:
 *   - denials by Linux's invariants on a thread's own sets (see NOT_A_GRANT): those are a
 *     program dropping or raising its sets against the rules, not a missing grant;
 *   - privileges whose jail rule is 'never': no jail parameter unlocks them; they are listed
 *     under `cannot` so the operator sees them.
 */
import type * as Yaml from 'yaml';
import { CAPABILITIES, capByName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { isSyscallName } from '../caps/syscall-names.js';
import { privByName } from '../priv/catalog.js';
import { type JailTerm, jailRuleFor } from '../priv/jail.js';
import { lazyRequire } from '../util/lazy.js';
import type { AuditRecord } from './record.js';

const yaml = lazyRequire<typeof Yaml>('yaml');

export interface SuggestOptions {
  name: string;
  /**
   * Parent profile to extend: `ref` as written into `extends:` (a name in policies/ or a
   * path), `base` what the suggestion needs to know of the parent, loaded (src/cli/audit-cmd.ts
   * suggestBase builds it from a compiled profile: the audit layer does not read profiles).
   */
  extends?: { ref: string; base: SuggestBase };
  target?: 'jail' | 'chroot' | 'container';
  /** Count complain-mode records as needs too (default true: that is what complain mode is for). */
  includeComplain?: boolean;
}

interface Need {
  count: number;
  /** Real system call names the log showed. */
  syscalls: Set<string>;
  /** Some record named no system call (AppArmor, SELinux): the allow cannot be narrowed. */
  anyCall: boolean;
  tgids: Set<number>;
}

/** The parent profile, as far as a suggestion over it needs to know. */
export interface SuggestBase {
  name: string;
  /** The highest priority a rule may have (rules at it cannot be outranked). */
  maxPriority: number;
  /** The parent's written deny rule of highest priority naming `object` (a CAP_ or PRIV_ name). */
  topDeny(object: string): { priority: number; rule: string } | undefined;
  /** Whether the parent allows capability `cap` for every call (uid 0, no system call). */
  allowsCapEverywhere(cap: number): boolean;
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

/** Standalone: the allows, above the catch-all deny at 0. */
const STANDALONE_ALLOW = 1;

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
      this.ignored.push({
        record: this.n,
        why: `${r.syscall ?? '(syscall unknown)'}: ${r.stage} rule (${r.reason}) is not a missing grant`,
      });
      return;
    }
    // No syscall (audit follow): no condition can be written, so the grant is unconditional.
    const call = r.syscall ?? '';
    if (r.priv !== undefined && privByName(r.priv)) {
      bump(this.privs, r.priv, call, r.tgid);
    }
    const cap = r.capNumber ?? (r.cap !== undefined ? capByName(r.cap) : undefined);
    if (cap !== undefined && cap >= 0 && cap < CAPABILITIES.length) bump(this.caps, cap, call, r.tgid);
    else if (r.priv === undefined)
      this.ignored.push({ record: this.n, why: `${call || '(syscall unknown)'}: names no capability or privilege` });
  }

  build(): Suggestion {
    const capNums = [...this.caps.keys()].sort((a, b) => a - b);
    const capNames = capNums.map((c) => CAPABILITIES[c]!.name);
    const privNames = [...this.privs.keys()].sort();
    const base = this.opts.extends?.base;
    const rules: Record<string, unknown>[] = [];
    for (const c of capNums) {
      const need = this.caps.get(c)!;
      const name = CAPABILITIES[c]!.name;
      const priority = base ? priorityOver(base, name) : STANDALONE_ALLOW;
      rules.push({ effect: 'allow', caps: [name], ...when(need), priority, comment: evidence(need) });
      // With a base, `capabilities.add` puts the cap in the bounding set, and a cap there is
      // allowed for every call unless a rule says otherwise: this deny keeps the grant as
      // narrow as the evidence — unless the base already allowed the cap everywhere (the
      // suggestion only adds). Standalone, the catch-all deny below does the same.
      if (base && need.syscalls.size > 0 && !need.anyCall && !base.allowsCapEverywhere(c)) {
        rules.push({
          effect: 'deny',
          caps: [name],
          priority: priority - 1,
          comment: `${name} only for the calls above`,
        });
      }
    }
    const jail = new Map<string, boolean | number>();
    const cannot: { subject: string; why: string }[] = [];
    for (const p of privNames) {
      const need = this.privs.get(p)!;
      const priority = base ? priorityOver(base, p) : STANDALONE_ALLOW;
      rules.push({ effect: 'allow', privs: [p], ...when(need), priority, comment: evidence(need) });
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
    if (this.opts.extends) profile.extends = [this.opts.extends.ref];
    if (this.opts.target) profile.target = this.opts.target;
    if (base) {
      if (capNames.length > 0) profile.capabilities = { add: capNames };
    } else {
      // Every set stated: a reader never has to know what an unstated set defaults to.
      // Copies: one shared array would be written as a YAML anchor and aliases.
      profile.capabilities = {
        bounding: [...capNames],
        permitted: [...capNames],
        effective: [...capNames],
        inheritable: [],
        ambient: [],
      };
      rules.push({
        effect: 'deny',
        caps: ['ALL'],
        privs: ['PRIV_*'],
        priority: 0,
        comment: 'everything the log did not show',
      });
    }
    if (rules.length > 0) profile.rules = rules;
    return {
      profile,
      caps: capNames,
      privs: privNames,
      jailParams: [...jail.keys()],
      cannot,
      ignored: this.ignored,
      considered: this.n,
    };
  }
}

/** `when: syscall:` for the calls the log named, or nothing when some record named none. */
function when(need: Need): { when?: { syscall: string[] } } {
  if (need.anyCall || need.syscalls.size === 0) return {};
  return { when: { syscall: [...need.syscalls].sort() } };
}

/**
 * The priority an allow for `object` needs to take effect over `base`: one above the highest
 * written deny rule of the base that names it (any condition: a conditional deny may match
 * the same call). None: 1, above the base's ordinary rules at 0.
 */
function priorityOver(base: SuggestBase, object: string): number {
  const top = base.topDeny(object);
  if (top && top.priority >= base.maxPriority) {
    throw inputError(
      'cannot-extend',
      `cannot extend ${base.name}: it denies ${object} at priority ${base.maxPriority} (${top.rule}), which no rule can outrank (at equal priority deny wins); drop --extends for a standalone profile`,
    );
  }
  return Math.max((top?.priority ?? -1) + 1, 1);
}

function bump<K>(m: Map<K, Need>, k: K, syscall: string, tgid: number): void {
  let n = m.get(k);
  if (!n) {
    n = { count: 0, syscalls: new Set(), anyCall: false, tgids: new Set() };
    m.set(k, n);
  }
  n.count++;
  if (isSyscallName(syscall)) n.syscalls.add(syscall);
  else n.anyCall = true;
  n.tgids.add(tgid);
}

function setJailTerm(jail: Map<string, boolean | number>, t: JailTerm): void {
  if (t.kind === 'allow') jail.set(t.param, true);
  else if (t.kind === 'vnet') jail.set('vnet', true);
  else if (t.kind === 'enforce_statfs') jail.set('enforce_statfs', t.op === '<' ? t.value - 1 : t.value + 1);
  // root_is_mountpoint is a property of the jail's path, not a parameter: left to the operator.
}

function evidence(n: Need): string {
  const calls = [...n.syscalls].sort();
  if (n.anyCall) calls.push('checks the log names no system call for (allowed for every call)');
  return `${n.count} denial(s) in ${calls.join(', ')} by ${n.tgids.size} process(es)`;
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
