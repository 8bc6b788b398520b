/**
 * Decoders for the argument and result text strace prints: top-level argument splitting,
 * integer/flag expressions (`SECBIT_KEEP_CAPS|0x100`, `0x29 /* CAP_??? *\/`, `-1`, `0600`),
 * capability masks (`1<<CAP_CHOWN|1<<CAP_NET_RAW`), struct fields (`{version=…, pid=0}`) and
 * C string literals (`"\1\0\0\2"`). Only the syscalls capctl models go through here, so these
 * may allocate; the per-line scanner in line.ts does not.
 */
import { NAMES } from './constants.js';

/** Split an argument list at top-level commas (outside quotes, brackets and comments). */
export function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i = skipString(text, i);
    } else if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 1;
    } else if (c === 40 || c === 91 || c === 123) depth++;
    else if (c === 41 || c === 93 || c === 125) depth--;
    else if (c === 44 /* , */ && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last !== '' || out.length > 0) out.push(last);
  return out;
}

/** Index of the closing quote of the string literal opening at `i`. */
export function skipString(text: string, i: number): number {
  const n = text.length;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c === 92 /* \ */) j++;
    else if (c === 34) return j;
  }
  return n;
}

/** Remove `/* … *\/` comments; returns the text and the first comment's body (or ''). */
export function stripComment(text: string): { value: string; comment: string } {
  const s = text.indexOf('/*');
  if (s < 0) return { value: text.trim(), comment: '' };
  const e = text.indexOf('*/', s + 2);
  const comment = text.slice(s + 2, e < 0 ? text.length : e).trim();
  const rest = text.slice(0, s) + (e < 0 ? '' : text.slice(e + 2));
  return { value: rest.trim(), comment };
}

/** A C integer literal as strace prints it: decimal, `0x` hex, leading-0 octal, optional sign. */
export function parseNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  let neg = false;
  let s = t;
  if (s[0] === '-') {
    neg = true;
    s = s.slice(1);
  }
  let v: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) v = Number.parseInt(s, 8);
  else if (/^[0-9]+$/.test(s)) v = Number(s);
  else return undefined;
  return neg ? -v : v;
}

/**
 * Evaluate an integer or flags expression: `|`-joined terms, each a number, a known name
 * (CAP_*, PR_*, SECBIT_*, AF_*, SOCK_*, S_IF*, CLONE_*, SIG*), or `1<<NAME`. Comments are
 * ignored (with `-X verbose` the number comes first and the comment repeats it). Returns
 * undefined when a term is unknown. Flags are combined with arithmetic, not `|`, so values
 * above 2^31 (CLONE_IO, unsigned long arguments) survive.
 */
export function evalInt(text: string): number | undefined {
  const { value } = stripComment(text);
  if (value === '') return undefined;
  if (value.indexOf('|') < 0) return evalTerm(value);
  let acc = 0;
  for (const term of value.split('|')) {
    const v = evalTerm(term.trim());
    if (v === undefined) return undefined;
    acc = orNumber(acc, v);
  }
  return acc;
}

function evalTerm(t: string): number | undefined {
  const n = parseNumber(t);
  if (n !== undefined) return n;
  if (t.startsWith('1<<')) {
    const b = NAMES.get(t.slice(3)) ?? parseNumber(t.slice(3));
    return b === undefined ? undefined : 2 ** b;
  }
  const named = NAMES.get(t);
  if (named !== undefined) return named;
  // Real-time signals: strace names signal 32 SIGRTMIN and 32+n SIGRT_n (glibc's SIGSETXID is SIGRT_1).
  if (t.startsWith('SIGRT')) {
    if (t === 'SIGRTMIN') return 32;
    if (t === 'SIGRTMAX') return 64;
    const n = /^SIGRT_(\d+)$/.exec(t);
    if (n) return 32 + Number(n[1]);
  }
  // socket(AF_PACKET, …, htons(ETH_P_ALL)): the protocol in network byte order.
  if (t.startsWith('htons(') && t.endsWith(')')) {
    const v = evalInt(t.slice(6, -1));
    return v === undefined ? undefined : ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
  }
  // `makedev(0x1, 0x3)` and other call-like terms are not integers.
  return undefined;
}

/** Bitwise OR on non-negative integers up to 2^53 (JS `|` truncates to 32 bits). */
export function orNumber(a: number, b: number): number {
  if (a < 0 || b < 0) return a | b;
  const hi = Math.floor(a / 2 ** 32) | Math.floor(b / 2 ** 32);
  return (hi >>> 0) * 2 ** 32 + (((a >>> 0) | (b >>> 0)) >>> 0);
}

/** A 64-bit capability mask as the kernel's two u32 words. */
export interface MaskWords {
  lo: number;
  hi: number;
}

/**
 * A capability mask as strace's print_cap_bits() prints it: the low word's flags, then the
 * high word's (CAP_TO_INDEX'ed, so caps 32..40 appear as `1<<CAP_MAC_OVERRIDE` …), each with a
 * hex remainder for bits without a name. Every cap 0..31 has a name, so in the default style a
 * hex term belongs to the high word; a lone hex term with no names (`-X raw`) is ambiguous and
 * read as the low word. With `-X verbose` the comment after a number names its bits.
 */
export function parseCapMask(text: string): MaskWords | undefined {
  // Traces print the same few sets over and over: remember recent answers by their text.
  const hit = maskCache.get(text);
  if (hit !== undefined) return hit;
  const v = parseCapMaskUncached(text);
  if (v !== undefined) {
    if (maskCache.size >= MASK_CACHE_SIZE) maskCache.clear();
    maskCache.set(text, Object.freeze(v));
  }
  return v;
}

const MASK_CACHE_SIZE = 512;
const maskCache = new Map<string, MaskWords>();

function parseCapMaskUncached(text: string): MaskWords | undefined {
  const t = text.trim();
  if (t === '0') return { lo: 0, hi: 0 };
  const terms = splitTopLevelBar(t);
  let lo = 0;
  let hi = 0;
  let named = false;
  const numeric: { v: number; comment: string }[] = [];
  for (const raw of terms) {
    const { value, comment } = stripComment(raw);
    if (value.startsWith('1<<')) {
      const name = value.slice(3);
      const bit = NAMES.get(name) ?? parseNumber(name);
      if (bit === undefined || bit < 0 || bit > 63) return undefined;
      named = true;
      if (bit < 32) lo |= 1 << bit;
      else hi |= 1 << (bit - 32);
      continue;
    }
    const v = parseNumber(value);
    if (v === undefined || v < 0 || v > 0xffffffff) return undefined;
    numeric.push({ v, comment });
  }
  for (let k = 0; k < numeric.length; k++) {
    const { v, comment } = numeric[k]!;
    let toHi: boolean;
    if (named || comment === 'CAP_???') toHi = true;
    else if (comment !== '') {
      const inner = parseCapMaskUncached(comment);
      toHi = inner !== undefined && inner.lo === 0 && inner.hi !== 0;
    } else toHi = numeric.length === 2 && k === 1;
    if (toHi) hi |= v;
    else lo |= v;
  }
  return { lo: lo >>> 0, hi: hi >>> 0 };
}

/**
 * `-X raw` prints a mask whose low word is 0 as the high word alone (`0x1ff`), the same text as
 * a low word of 0x1ff: a lone hex number, with no names and no comment, could be either word.
 */
export function isAmbiguousRawMask(text: string): boolean {
  const t = text.trim();
  if (t === '0' || t.includes('|') || t.includes('<<') || t.includes('/*')) return false;
  const v = parseNumber(t);
  return v !== undefined && v !== 0;
}

function splitTopLevelBar(t: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < t.length; i++) {
    if (t.charCodeAt(i) === 47 && t.charCodeAt(i + 1) === 42) {
      const e = t.indexOf('*/', i + 2);
      i = e < 0 ? t.length : e + 1;
    } else if (t.charCodeAt(i) === 124) {
      out.push(t.slice(start, i));
      start = i + 1;
    }
  }
  out.push(t.slice(start));
  return out;
}

/**
 * Fields of a struct literal `{a=1, b={…}, c=[…]}` (or after strace's `=> ` update marker).
 * Returns undefined when the text is not a struct (an address, NULL, `???`).
 */
export function parseStruct(text: string): Map<string, string> | undefined {
  const t = text.trim();
  if (t.length < 2 || t[0] !== '{' || t[t.length - 1] !== '}') return undefined;
  const m = new Map<string, string>();
  for (const f of splitArgs(t.slice(1, -1))) {
    const eq = f.indexOf('=');
    if (eq < 0) continue; // `...` marks fields strace elided
    m.set(f.slice(0, eq).trim(), f.slice(eq + 1).trim());
  }
  return m;
}

/**
 * Bytes of a C string literal as strace prints it (`"\1\0\0\2\0 \0"`, `"\x01\x00"`, `"a\n"`).
 * Returns undefined for anything else (NULL, an address). `truncated` is set when strace
 * printed `...` after the closing quote (the value was longer than -s).
 */
export function parseCString(text: string): { bytes: number[]; truncated: boolean } | undefined {
  const t = text.trim();
  if (t[0] !== '"') return undefined;
  const end = skipString(t, 0);
  if (end >= t.length) return undefined;
  const bytes: number[] = [];
  for (let i = 1; i < end; i++) {
    const c = t.charCodeAt(i);
    if (c !== 92) {
      bytes.push(c & 0xff);
      continue;
    }
    const d = t[++i];
    if (d === 'x') {
      let v = 0;
      let k = 0;
      while (k < 2 && /[0-9a-fA-F]/.test(t[i + 1] ?? '')) {
        v = v * 16 + Number.parseInt(t[++i]!, 16);
        k++;
      }
      bytes.push(v);
    } else if (d !== undefined && d >= '0' && d <= '7') {
      let v = d.charCodeAt(0) - 48;
      let k = 1;
      while (k < 3 && /[0-7]/.test(t[i + 1] ?? '')) {
        v = v * 8 + (t.charCodeAt(++i) - 48);
        k++;
      }
      bytes.push(v & 0xff);
    } else {
      const esc: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, a: 7, b: 8, '\\': 92, '"': 34 };
      bytes.push(esc[d ?? ''] ?? (d ?? '').charCodeAt(0));
    }
  }
  return { bytes, truncated: t.slice(end + 1).startsWith('...') };
}

/** A path argument: the string literal's text (strace escapes non-printables). */
export function parsePath(text: string): string | undefined {
  const s = parseCString(text);
  if (!s || s.truncated) return undefined;
  return Buffer.from(s.bytes).toString('latin1');
}

/**
 * An `unsigned long` argument as a 64-bit value: like evalInt, but exact for values beyond
 * 2^53 (`0xffffffffffffffff /* CAP_??? *\/`) and with negative numbers wrapped (`-1`).
 */
export function evalULong(text: string): bigint | undefined {
  const { value } = stripComment(text);
  if (value === '') return undefined;
  let acc = 0n;
  for (const raw of value.split('|')) {
    const t = raw.trim();
    let v: bigint | undefined;
    if (/^-?(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(t)) {
      const neg = t[0] === '-';
      const body = neg ? t.slice(1) : t;
      const b = /^0[0-7]+$/.test(body) ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
      v = BigInt.asUintN(64, neg ? -b : b);
    } else {
      const n = evalTerm(t);
      if (n === undefined) return undefined;
      v = BigInt.asUintN(64, BigInt(n));
    }
    acc |= v;
  }
  return acc;
}
