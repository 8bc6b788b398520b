/**
 * The FreeBSD privilege catalog: every PRIV_* define of sys/sys/priv.h with its number, the
 * section heading it sits under and a one-line meaning. The rows come from
 * data/freebsd-priv.tsv (through tables.generated.ts); test/priv/catalog.test.ts checks them
 * against the TSV and against values known from the ABI.
 *
 * Two rows are special and are kept visible rather than smoothed over:
 *  - PRIV_NET_SETVLANPCP is an alias: priv.h defines it as PRIV_NET_SETLANPCP (421). The kernel
 *    cannot tell them apart, so lookups by number answer with the canonical name.
 *  - PRIV_VMM_PPTDEV (710) comes from newer vmm sources than the priv.h that was read; its value
 *    is provisional. It is in the catalog so a jail's allow.vmm_ppt has something to gate.
 */
import { closestName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { PRIV_TABLE_SIZE } from './policy-hook.js';
import { PRIV_ALIASES, PRIV_ROWS } from './tables.generated.js';

export type PrivKind = 'priv' | 'alias' | 'provisional';

export interface PrivInfo {
  /** `PRIV_NETINET_RAW` */
  readonly name: string;
  readonly number: number;
  /** The priv.h section heading, e.g. `IPv4 and IPv6`. */
  readonly group: string;
  readonly meaning: string;
  readonly kind: PrivKind;
  /** For an alias: the canonical name with the same number. */
  readonly aliasOf?: string;
}

/** A `_PRIV_*` marker, placeholder or removed name: in priv.h, never passed to priv_check. */
export interface PrivMarker {
  readonly name: string;
  readonly number: number;
  readonly group: string;
  readonly meaning: string;
}

/**
 * priv.h's `_PRIV_LOWEST`; `PRIV_VALID(x)` is `_PRIV_LOWEST < x < _PRIV_HIGHEST`. The priv.h
 * that was read has `_PRIV_HIGHEST` 703, but a tree with PRIV_VMM_PPTDEV (710) must have it above
 * 710, so the model uses 711: the smallest bound that admits every catalogued privilege.
 */
export const PRIV_LOWEST = 1;
export const PRIV_HIGHEST = 711;
/** The value of `_PRIV_HIGHEST` in the priv.h that was read (before PRIV_VMM_PPTDEV). */
export const PRIV_HIGHEST_READ = 703;

/** priv.h's PRIV_VALID(): the range check priv_check_cred() asserts. */
export function privValid(p: number): boolean {
  return Number.isInteger(p) && p > PRIV_LOWEST && p < PRIV_HIGHEST;
}

/** Every PRIV_* name (246, including the alias and the provisional row), in priv.h order. */
export const PRIVS: readonly PrivInfo[] = PRIV_ROWS.filter((r) => r[4] !== 'marker').map(
  ([name, number, group, meaning, kind]) => {
    const info: PrivInfo = { name, number, group, meaning, kind: kind as PrivKind };
    const target = (PRIV_ALIASES as Record<string, string>)[name];
    return target ? { ...info, aliasOf: target } : info;
  },
);

/** The 26 `_PRIV_*` names: markers, placeholders for removed subsystems, reserved slots. */
export const PRIV_MARKERS: readonly PrivMarker[] = PRIV_ROWS.filter((r) => r[4] === 'marker').map(
  ([name, number, group, meaning]) => ({ name, number, group, meaning }),
);

const byName = new Map<string, PrivInfo>();
const byNumber = new Map<number, PrivInfo>();
for (const p of PRIVS) {
  byName.set(p.name.toLowerCase(), p);
  byName.set(p.name.slice(5).toLowerCase(), p);
  // The canonical name wins a number; the alias is only reachable by its name.
  if (p.kind !== 'alias') byNumber.set(p.number, p);
}

/** Named numbers the checker's code uses; test/priv/catalog.test.ts checks them against the table. */
export const PRIV_MAXFILES = 3;
export const PRIV_MAXPROC = 4;
export const PRIV_MSGBUF = 11;
export const PRIV_IO = 12;
export const PRIV_DEBUG_UNPRIV = 82;
export const PRIV_JAIL_SET = 111;
export const PRIV_KLD_LOAD = 130;
export const PRIV_KLD_UNLOAD = 131;
export const PRIV_PROC_LIMIT = 160;
export const PRIV_SYSCTL_WRITEJAIL = 242;
export const PRIV_VFS_LOOKUP = 314;
export const PRIV_VFS_GENERATION = 326;
export const PRIV_VFS_MOUNT = 333;
export const PRIV_VFS_STICKYFILE = 341;
export const PRIV_VFS_SYSFLAGS = 342;
export const PRIV_VFS_READ_DIR = 345;
export const PRIV_VM_MLOCK = 361;
export const PRIV_VM_MUNLOCK = 362;
export const PRIV_NETINET_RESERVEDPORT = 490;
export const PRIV_NETINET_IPFW = 491;
export const PRIV_NETINET_PF = 493;
export const PRIV_NETINET_RAW = 497;
export const PRIV_KMEM_READ = 680;
export const PRIV_KMEM_WRITE = 681;
export const PRIV_SETTIMEOFDAY = 18;
export const PRIV_CLOCK_SETTIME = 17;

/** The canonical entry for a privilege number, or undefined if priv.h defines none. */
export function privInfo(n: number): PrivInfo | undefined {
  return byNumber.get(n);
}

/** Name for a number: the canonical PRIV_* name, else `priv#N`. */
export function privName(n: number): string {
  return byNumber.get(n)?.name ?? `priv#${n}`;
}

/** Look a privilege up by `PRIV_NETINET_RAW`, `netinet_raw` (any case) or its decimal number. */
export function privByName(name: string): PrivInfo | undefined {
  const t = name.trim();
  if (/^\d+$/.test(t)) return byNumber.get(Number(t));
  return byName.get(t.toLowerCase());
}

/** Did-you-mean for a privilege name, in the style the user wrote (with or without PRIV_). */
export function suggestPrivName(input: string): string | undefined {
  const bare = !/^priv_/i.test(input);
  const names = PRIVS.map((p) => (bare ? p.name.slice(5) : p.name));
  const hit = closestName(input, names);
  if (hit === undefined) return undefined;
  return /[a-z]/.test(input) ? hit.toLowerCase() : hit;
}

/** Parse a privilege name or number; errors name the closest privilege. */
export function parsePrivName(name: string): PrivInfo {
  const p = privByName(name);
  if (p) return p;
  if (/^\d+$/.test(name.trim())) {
    throw inputError('unknown-priv', `no privilege has number ${name.trim()} in priv.h`);
  }
  const hint = suggestPrivName(name.trim());
  throw inputError('unknown-priv', `unknown privilege "${name.trim()}"${hint ? ` (did you mean ${hint}?)` : ''}`);
}

/** The priv.h section headings in file order, for `capctl priv list --group`. */
export const PRIV_GROUPS: readonly string[] = [...new Set(PRIVS.map((p) => p.group))];

if (PRIV_HIGHEST > PRIV_TABLE_SIZE) throw new Error('PRIV_TABLE_SIZE must exceed PRIV_HIGHEST');
