/**
 * The reviewed capability <-> privilege mapping (data/cap-priv-map.tsv, see
 * data/cap-priv-map.CHANGES.md for every change to the starting table), compiled into the
 * tables the bridge needs:
 *
 *  - per privilege, the capabilities that grant it as two u32 words and whether one of them is
 *    enough (`any`, the default, like Linux's `capable(A) || capable(B)`) or all are required;
 *  - per capability, its privileges, and among them the high-confidence ones that decide what
 *    capget reports (the illumos rule, see bridge.ts).
 */
import { CAP_COUNT, capByName, capInfo } from '../caps/catalog.js';
import { privByName } from './catalog.js';
import { PRIV_TABLE_SIZE } from './policy-hook.js';
import { CAP_PRIV_ROWS } from './tables.generated.js';

export type Confidence = 'high' | 'medium' | 'low';

export interface CapPrivRow {
  /** Capability number, or null for a privilege with no Linux counterpart (`NONE`). */
  readonly cap: number | null;
  /** Privilege number, or null for a capability with no FreeBSD counterpart (`NONE`). */
  readonly priv: number | null;
  readonly capName: string;
  readonly privName: string;
  readonly confidence: Confidence;
  readonly combine: 'any' | 'all';
  readonly note: string;
}

export const CAP_PRIV_MAP: readonly CapPrivRow[] = CAP_PRIV_ROWS.map(
  ([capName, privName, confidence, combine, note]) => {
    let cap: number | null = null;
    let priv: number | null = null;
    if (capName !== 'NONE') {
      const n = capByName(capName);
      if (n === undefined) throw new Error(`cap-priv-map.tsv: unknown capability ${capName}`);
      cap = n;
    }
    if (privName !== 'NONE') {
      const p = privByName(privName);
      if (!p) throw new Error(`cap-priv-map.tsv: unknown privilege ${privName}`);
      priv = p.number;
    }
    if (cap === null && priv === null) throw new Error('cap-priv-map.tsv: a row cannot be NONE on both sides');
    return {
      cap,
      priv,
      capName,
      privName,
      confidence: confidence as Confidence,
      combine: combine as 'any' | 'all',
      note,
    };
  },
);

/** Per privilege number: capabilities 0..31 that grant it. */
export const PRIV_CAP_LO = new Uint32Array(PRIV_TABLE_SIZE);
/** Per privilege number: capabilities 32..40 that grant it (bit n-32). */
export const PRIV_CAP_HI = new Uint32Array(PRIV_TABLE_SIZE);
/** Per privilege number: 1 when every mapped capability is required (combine=all). */
export const PRIV_CAP_ALL = new Uint8Array(PRIV_TABLE_SIZE);

const capRows: CapPrivRow[][] = Array.from({ length: CAP_COUNT }, () => []);
const privRows = new Map<number, CapPrivRow[]>();
/** Capabilities with no FreeBSD counterpart: the engine keeps them itself. */
const noCounterpart = new Set<number>();

for (const r of CAP_PRIV_MAP) {
  if (r.cap !== null) capRows[r.cap]!.push(r);
  if (r.priv !== null) {
    const list = privRows.get(r.priv) ?? [];
    list.push(r);
    privRows.set(r.priv, list);
  }
  if (r.cap !== null && r.priv === null) noCounterpart.add(r.cap);
  if (r.cap !== null && r.priv !== null) {
    if (r.cap < 32) PRIV_CAP_LO[r.priv]! |= 1 << r.cap;
    else PRIV_CAP_HI[r.priv]! |= 1 << (r.cap - 32);
    PRIV_CAP_LO[r.priv] = PRIV_CAP_LO[r.priv]! >>> 0;
    if (r.combine === 'all') PRIV_CAP_ALL[r.priv] = 1;
  }
}

/** Rows for one capability (privileges it maps to, or its NONE row). */
export function rowsForCap(cap: number): readonly CapPrivRow[] {
  return capRows[cap] ?? [];
}

/** Rows for one privilege number (capabilities, or its NONE row). */
export function rowsForPriv(priv: number): readonly CapPrivRow[] {
  return privRows.get(priv) ?? [];
}

/** Privilege numbers a capability maps to, optionally only at one confidence. */
export function privsForCap(cap: number, confidence?: Confidence): number[] {
  const out: number[] = [];
  for (const r of rowsForCap(cap)) {
    if (r.priv !== null && (confidence === undefined || r.confidence === confidence) && !out.includes(r.priv)) {
      out.push(r.priv);
    }
  }
  return out;
}

/** Capability numbers that grant a privilege. */
export function capsForPriv(priv: number): number[] {
  const out: number[] = [];
  for (const r of rowsForPriv(priv)) if (r.cap !== null && !out.includes(r.cap)) out.push(r.cap);
  return out;
}

/** True for SETPCAP, NET_BROADCAST, LEASE, WAKE_ALARM, BLOCK_SUSPEND, AUDIT_READ, CHECKPOINT_RESTORE. */
export function capHasNoCounterpart(cap: number): boolean {
  return noCounterpart.has(cap);
}

/** True when a privilege is marked Linux-less (only a NONE row). */
export function privIsLinuxless(priv: number): boolean {
  const rows = rowsForPriv(priv);
  return rows.length > 0 && rows.every((r) => r.cap === null);
}

export function capNameOf(cap: number): string {
  return capInfo(cap)?.name ?? `cap#${cap}`;
}
