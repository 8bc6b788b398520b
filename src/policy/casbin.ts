/**
 * The casbin reference enforcer for a profile: the model in policies/model.conf, the profile's
 * rules as policy lines. It is built on demand (explain, tests, benchmarks), never on the
 * decision path: each casbin call is a linear scan over every policy line.
 *
 * Policies are added to a Model and the lines sorted by casbin itself (there is no
 * MemoryAdapter); the priority column is zero-padded so that casbin's string comparisons in
 * addPolicy agree with its numeric sort.
 */
import { readFileSync } from 'node:fs';
import type * as Casbin from 'casbin';
import type { Enforcer } from 'casbin';
import { lazyRequire } from '../util/lazy.js';
import { ruleOrder } from './compile.js';
import { modelPath } from './paths.js';
import { type Rule, UID_ANY_MAX } from './types.js';

/** casbin is only needed for `profile explain` and the property tests: load it on first use. */
const casbin = lazyRequire<typeof Casbin>('casbin');

let modelText: string | undefined;
export function modelConf(): string {
  modelText ??= readFileSync(modelPath(), 'utf8');
  return modelText;
}

/** One policy line per (rule, object): [priority, obj, uid, sc, eft, rule index]. */
export function policyLines(rules: readonly Rule[]): string[][] {
  const lines: string[][] = [];
  rules.forEach((r, i) => {
    const uid = r.uidMin === 0 && r.uidMax === UID_ANY_MAX ? '*' : `${r.uidMin}-${r.uidMax}`;
    const sc = r.syscalls === null ? '*' : r.syscalls.join('|');
    for (const o of r.objects) {
      lines.push([String(ruleOrder(r, i)).padStart(12, '0'), o, uid, sc, r.effect, String(i)]);
    }
  });
  return lines;
}

/** uidIn(r.uid, p.uid): "*" matches any uid; "LOW-HIGH" an inclusive range. */
export function uidIn(uid: unknown, range: unknown): boolean {
  if (range === '*') return true;
  const s = String(range);
  const dash = s.indexOf('-');
  const n = Number(uid);
  return n >= Number(s.slice(0, dash)) && n <= Number(s.slice(dash + 1));
}

/** syscallIn(r.sc, p.sc): "*" matches any (and none); otherwise r.sc must be one of the list. */
export function syscallIn(sc: unknown, list: unknown): boolean {
  if (list === '*') return true;
  return sc !== '' && String(list).split('|').includes(String(sc));
}

export async function buildEnforcer(rules: readonly Rule[]): Promise<Enforcer> {
  const { newEnforcer, newModelFromString } = casbin();
  const e = await newEnforcer(newModelFromString(modelConf()));
  await e.addFunction('uidIn', (a: unknown, b: unknown) => uidIn(a, b));
  await e.addFunction('syscallIn', (a: unknown, b: unknown) => syscallIn(a, b));
  const lines = policyLines(rules);
  if (lines.length > 0) e.getModel().addPolicies('p', 'p', lines);
  e.sortPolicies();
  return e;
}

/** casbin's answer and the index of the rule it names (enforceExSync), or -1. */
export function casbinDecide(e: Enforcer, obj: string, uid: number, sc: string): { allow: boolean; rule: number } {
  const [allow, explain] = e.enforceExSync(obj, uid, sc);
  return { allow, rule: explain.length > 0 ? Number(explain[5]) : -1 };
}
