/**
 * The policy layer's view of the FreeBSD facts it needs: privilege names and numbers, which
 * allow.* parameter (if any) lets a jail use a privilege, and which privileges each capability
 * maps to. TEMPORARY: read from the shared TSVs until the priv layer's catalog lands.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './paths.js';

export interface PrivCatalogView {
  /** Every PRIV_* name (no _PRIV_ markers), ascending by number. */
  readonly names: readonly string[];
  readonly byName: ReadonlyMap<string, number>;
  readonly byNumber: ReadonlyMap<number, string>;
}

export interface JailRule {
  rule: 'always' | 'never' | 'param';
  /** For 'param': the expression from jail-priv.tsv, e.g. `vnet|allow.raw_sockets`. */
  expr: string;
}

function dataFile(name: string): string {
  const local = join(packageRoot(), 'data', name);
  return existsSync(local) ? local : join('/work/shared/data', name);
}

function readTsv(name: string): string[][] {
  const lines = readFileSync(dataFile(name), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  return lines.slice(1).map((l) => l.split('\t'));
}

let catalog: PrivCatalogView | undefined;
export function privCatalog(): PrivCatalogView {
  if (catalog) return catalog;
  const byName = new Map<string, number>();
  const byNumber = new Map<number, string>();
  const rows = readTsv('freebsd-priv.tsv')
    .filter((r) => r[0]!.startsWith('PRIV_'))
    .map((r) => [r[0]!, Number(r[1])] as const)
    .sort((a, b) => a[1] - b[1]);
  for (const [n, v] of rows) {
    byName.set(n, v);
    if (!byNumber.has(v)) byNumber.set(v, n);
  }
  catalog = { names: rows.map((r) => r[0]), byName, byNumber };
  return catalog;
}

let jailRules: Map<number, JailRule> | undefined;
export function jailRuleFor(priv: number): JailRule | undefined {
  if (!jailRules) {
    jailRules = new Map();
    const cat = privCatalog();
    for (const r of readTsv('jail-priv.tsv')) {
      const n = cat.byName.get(r[0]!);
      if (n !== undefined) jailRules.set(n, { rule: r[1] as JailRule['rule'], expr: r[2] ?? '' });
    }
  }
  return jailRules.get(priv);
}

export interface AllowParamInfo {
  param: string;
  defaultOn: boolean;
  meaning: string;
}
let allowParams: AllowParamInfo[] | undefined;
export function jailAllowParams(): readonly AllowParamInfo[] {
  allowParams ??= readTsv('jail-allow-params.tsv').map((r) => ({
    param: r[0]!,
    defaultOn: r[1] === '1',
    meaning: r[2] ?? '',
  }));
  return allowParams;
}

let capPrivs: number[][] | undefined;
/** Privilege numbers a capability maps to (cap-to-priv.tsv, every confidence); [] for NONE. */
export function privsForCap(cap: number): readonly number[] {
  if (!capPrivs) {
    capPrivs = Array.from({ length: 41 }, () => []);
    const cat = privCatalog();
    for (const r of readTsv('cap-to-priv.tsv')) {
      const n = cat.byName.get(r[2]!);
      if (n !== undefined) capPrivs[Number(r[1])]!.push(n);
    }
  }
  return capPrivs[cap] ?? [];
}
