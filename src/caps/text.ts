/**
 * The libcap text format (cap_text_formats(7)), byte-compatible with libcap 2.66's
 * cap_from_text() and cap_to_text() on a kernel with CAP_LAST_CAP = 40.
 *
 * Parsing follows cap_from_text's state machine character by character, so that exactly the
 * inputs libcap accepts are accepted (e.g. `x+e-i`, `=`, `013+ep` as octal 11) and exactly the
 * ones it rejects are errors — with the clause and character position, which libcap never says.
 *
 * Capability numbers 41..63 are legal in the text (libcap keeps 64 bits) but are not
 * capabilities of this kernel: they are carried in `beyond` so formatting can print them as
 * libcap does, and they are dropped by anything that turns text into kernel sets.
 */

import { CapSet, VALID_HI } from './capset.js';
import { CAP_COUNT, CAPABILITIES, capByName, suggestCapName } from './catalog.js';
import { inputError } from './errors.js';

export const FLAG_E = 1;
export const FLAG_P = 2;
export const FLAG_I = 4;

export interface CapTriple {
  readonly effective: CapSet;
  readonly permitted: CapSet;
  readonly inheritable: CapSet;
}

/** Bits 41..63 of each set (in the high word's upper bits), as written by number in the text. */
export interface BeyondBits {
  readonly effective: number;
  readonly permitted: number;
  readonly inheritable: number;
}

export interface ParsedCapText extends CapTriple {
  readonly beyond: BeyondBits;
}

const NO_BEYOND: BeyondBits = Object.freeze({ effective: 0, permitted: 0, inheritable: 0 });
const BEYOND_MASK = ~VALID_HI >>> 0;
const MAX_TEXT_BITS = 64; // libcap's __CAP_MAXBITS

// C <ctype.h> in the "C" locale; libcap is locale-independent in practice.
const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isAlnum = (c: string | undefined) => isAlpha(c) || isDigit(c);

function textError(text: string, clauseStart: number, pos: number, why: string): never {
  let end = clauseStart;
  while (end < text.length && !isSpace(text[end])) end++;
  const clause = text.slice(clauseStart, end);
  throw inputError('bad-cap-text', `bad capability text at character ${pos + 1}, in clause "${clause}": ${why}`);
}

/** End index of the last number or name read by strtoul0/lookupName (saves a tuple per call). */
let scanEnd = 0;

function digitValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : 99; // a-f, else "not a digit"
}

/** strtoul(s, &end, 0) restricted to what can follow a leading digit; the end goes to scanEnd. */
function strtoul0(s: string, i: number): number {
  let base = 10;
  let j = i;
  if (s.charCodeAt(j) === 48) {
    const x = s.charCodeAt(j + 1) | 0x20;
    if (x === 120 && digitValue(s.charCodeAt(j + 2)) < 16) {
      base = 16;
      j += 2;
    } else {
      base = 8;
    }
  }
  let v = 0;
  const start = j;
  for (; j < s.length; j++) {
    const d = digitValue(s.charCodeAt(j));
    if (d >= base) break;
    v = v * base + d;
  }
  // "0" alone in base 8 consumes the zero itself.
  scanEnd = j === start ? i + 1 : j;
  return v;
}

/** Parse libcap text into the three sets. Throws a CapctlError('bad-cap-text') on bad input. */
export function parseCapText(text: string): ParsedCapText {
  // Working state: six u32 words, as libcap's cap_t holds them (bits 0..63).
  let eLo = 0;
  let eHi = 0;
  let pLo = 0;
  let pHi = 0;
  let iLo = 0;
  let iHi = 0;
  const s = text;
  let i = 0;
  for (;;) {
    let listLo = 0;
    let listHi = 0;
    let flags = 0;
    let listed = false;
    while (isSpace(s[i])) i++;
    if (i >= s.length) break;
    const clauseStart = i;

    const c0 = s[i];
    if (isAlnum(c0) || c0 === '_') {
      for (;;) {
        if (isAllWord(s, i)) {
          // Since libcap 2.29 `all` means the caps this kernel names, not all 64 bits.
          // forceall() assigns the list rather than OR-ing into it, so numbers 41..63 listed
          // before `all` are dropped (`57,all+p` is `=p`), while ones after it stay.
          i += 3;
          listLo = 0xffffffff;
          listHi = VALID_HI;
        } else {
          const at = i;
          const n = lookupName(s, i);
          if (n < 0) textError(s, clauseStart, at, describeBadName(s, at));
          i = scanEnd;
          if (n < 32) listLo |= 1 << n;
          else listHi |= 1 << (n - 32);
        }
        if (s[i] !== ',') break;
        i++;
        if (!isAlnum(s[i]) && s[i] !== '_') textError(s, clauseStart, i, 'expected a capability name after ","');
      }
      listed = true;
    } else if (c0 === '+' || c0 === '-') {
      textError(s, clauseStart, i, `"${c0}" needs a capability list before it`);
    } else {
      // A clause that starts with its operator means `all` (only "=" gets past the check below).
      listLo = 0xffffffff;
      listHi = VALID_HI;
    }
    listLo >>>= 0;
    listHi >>>= 0;

    let op = s[i];
    const opPos = i;
    i++;
    if (op === '=' && (s[i] === '+' || s[i] === '-')) {
      if (!listed) textError(s, clauseStart, i, `"=${s[i]}" needs a capability list before it`);
      op = s[i] === '+' ? 'P' : 'M';
      i++;
    } else if (op !== '+' && op !== '-' && op !== '=') {
      textError(
        s,
        clauseStart,
        opPos,
        op === undefined ? 'missing operator (=, + or -) and flags' : `expected an operator (=, + or -), found "${op}"`,
      );
    }

    do {
      const c = s[i];
      if (c !== undefined && !isSpace(c)) {
        if (c === 'e') flags |= FLAG_E;
        else if (c === 'i') flags |= FLAG_I;
        else if (c === 'p') flags |= FLAG_P;
        else textError(s, clauseStart, i, `bad flag "${c}" (flags are e, i and p, lower case)`);
        i++;
      } else if (op !== '=') {
        textError(
          s,
          clauseStart,
          i,
          `"${op === 'P' ? '=+' : op === 'M' ? '=-' : op}" needs at least one flag (e, i, p)`,
        );
      }
      let clear = 0;
      let set = 0;
      if (op === '=' || op === 'P' || op === 'M') {
        clear = FLAG_E | FLAG_P | FLAG_I;
        if (op === 'M') clear |= flags;
        else set = flags;
      } else if (op === '+') {
        set = flags;
      } else {
        clear = flags;
      }
      if (clear & FLAG_E) (eLo &= ~listLo), (eHi &= ~listHi);
      if (clear & FLAG_P) (pLo &= ~listLo), (pHi &= ~listHi);
      if (clear & FLAG_I) (iLo &= ~listLo), (iHi &= ~listHi);
      if (set & FLAG_E) (eLo |= listLo), (eHi |= listHi);
      if (set & FLAG_P) (pLo |= listLo), (pHi |= listHi);
      if (set & FLAG_I) (iLo |= listLo), (iHi |= listHi);

      if (s[i] === '+' || s[i] === '-') {
        if (!listed) textError(s, clauseStart, i, `chaining "${s[i]}" needs an explicit capability list`);
        flags = 0;
        op = s[i];
        i++;
        if (!isAlpha(s[i])) textError(s, clauseStart, i, `"${op}" needs at least one flag (e, i, p)`);
      }
    } while (i < s.length && !isSpace(s[i]));
  }
  return {
    effective: CapSet.fromWords(eLo, eHi),
    permitted: CapSet.fromWords(pLo, pHi),
    inheritable: CapSet.fromWords(iLo, iHi),
    beyond:
      ((eHi | pHi | iHi) & BEYOND_MASK) === 0
        ? NO_BEYOND
        : {
            effective: (eHi & BEYOND_MASK) >>> 0,
            permitted: (pHi & BEYOND_MASK) >>> 0,
            inheritable: (iHi & BEYOND_MASK) >>> 0,
          },
  };
}

function isAllWord(s: string, i: number): boolean {
  if ((s.charCodeAt(i) | 0x20) !== 97 || (s.charCodeAt(i + 1) | 0x20) !== 108 || (s.charCodeAt(i + 2) | 0x20) !== 108) {
    return false;
  }
  const next = s[i + 3];
  return !(isAlnum(next) || next === '_');
}

/**
 * libcap's lookupname(): a C number (< 64) or a run of letters and '_' naming a cap. Returns
 * the number, or -1, with the end in scanEnd.
 */
function lookupName(s: string, i: number): number {
  if (isDigit(s[i])) {
    const v = strtoul0(s, i);
    return v < MAX_TEXT_BITS ? v : -1;
  }
  let j = i;
  for (;;) {
    const c = s.charCodeAt(j);
    const l = c | 0x20;
    if ((l >= 97 && l <= 122) || c === 95) j++;
    else break;
  }
  scanEnd = j;
  // libcap's gperf table only has the cap_-prefixed spellings.
  if (
    (s.charCodeAt(i) | 0x20) !== 99 ||
    (s.charCodeAt(i + 1) | 0x20) !== 97 ||
    (s.charCodeAt(i + 2) | 0x20) !== 112 ||
    s.charCodeAt(i + 3) !== 95
  ) {
    return -1;
  }
  const word = s.slice(i, j);
  // Most texts spell names in one case; try the exact spelling before folding.
  return EXACT_NAMES.get(word) ?? capByName(word) ?? -1;
}

const EXACT_NAMES = new Map<string, number>();
for (const c of CAPABILITIES) {
  EXACT_NAMES.set(c.libcapName, c.number);
  EXACT_NAMES.set(c.name, c.number);
}

function describeBadName(s: string, i: number): string {
  if (isDigit(s[i])) {
    let j = i;
    while (/[0-9a-fA-FxX]/.test(s[j] ?? '')) j++;
    return `capability number ${s.slice(i, j)} is out of range (0..63 in text, 0..40 known)`;
  }
  let j = i;
  while (isAlnum(s[j]) || s[j] === '_') j++;
  const word = s.slice(i, j);
  if (!/^cap_/i.test(word) && capByName(word) !== undefined) {
    return `unknown capability "${word}" (libcap names need the cap_ prefix: cap_${word.toLowerCase()})`;
  }
  const hint = suggestCapName(/^cap_/i.test(word) ? word : `cap_${word}`);
  return `unknown capability "${word}"${hint ? ` (did you mean ${hint}?)` : ''}`;
}

const FLAG_TEXT = ['', 'e', 'p', 'ep', 'i', 'ei', 'ip', 'eip'] as const;
const HISTO = new Int32Array(8);
const STATES = new Uint8Array(CAP_COUNT);

function stateOf(e: number, p: number, iw: number, bit: number): number {
  return ((e >>> bit) & 1) * FLAG_E + ((p >>> bit) & 1) * FLAG_P + ((iw >>> bit) & 1) * FLAG_I;
}

/**
 * cap_to_text(): the canonical form. The most common flag state m among the named caps is
 * printed first as `=flags(m)` (ties go to the lower state, so "clear" wins); then each other
 * state, from eip down to e, lists its caps by number with `+` the flags it adds to m and `-`
 * the flags it removes. When m is empty the leading `=` is dropped and the first group takes
 * `=` (libcap >= 2.41). Bits 41..63 follow as numbers (see formatBeyond).
 */
export function formatCapText(sets: CapTriple, beyond: BeyondBits = NO_BEYOND): string {
  const e = sets.effective;
  const p = sets.permitted;
  const iset = sets.inheritable;
  // One pass for each cap's state; the groups are then read off it (no per-group rescans of
  // the words). Module-level scratch: formatting allocates only the output strings.
  const histo = HISTO;
  histo.fill(0);
  for (let n = 0; n < CAP_COUNT; n++) {
    const t = n < 32 ? stateOf(e.lo, p.lo, iset.lo, n) : stateOf(e.hi, p.hi, iset.hi, n - 32);
    STATES[n] = t;
    histo[t]!++;
  }
  let m = 7;
  for (let t = 7; t--; ) if (histo[t]! >= histo[m]!) m = t;

  const groups: string[] = [];
  for (let t = 8; t--; ) {
    if (t === m || histo[t] === 0) continue;
    let g = '';
    for (let n = 0; n < CAP_COUNT; n++) {
      if (STATES[n] === t) g = g === '' ? CAP_NAMES[n]! : `${g},${CAP_NAMES[n]}`;
    }
    const add = t & ~m;
    const del = m & ~t;
    if (m === 0 && groups.length === 0) g += `=${FLAG_TEXT[t]}`;
    else {
      if (add) g += `+${FLAG_TEXT[add]}`;
      if (del) g += `-${FLAG_TEXT[del]}`;
    }
    groups.push(g);
  }
  let out = m === 0 && groups.length > 0 ? groups.join(' ') : [`=${FLAG_TEXT[m]}`, ...groups].join(' ');
  if (beyond.effective | beyond.permitted | beyond.inheritable) {
    out += formatBeyond(beyond);
  }
  return out;
}

/**
 * libcap 2.66 prints bits the kernel does not name after the named groups, grouped by state
 * (eip first, as above) with caps ascending, and always as `+flags` of their own state: they
 * took no part in choosing m, so they are not written relative to it.
 */
function formatBeyond(beyond: BeyondBits): string {
  let out = '';
  for (let t = 8; --t; ) {
    const nums: number[] = [];
    for (let n = CAP_COUNT; n < MAX_TEXT_BITS; n++) {
      if (stateOf(beyond.effective, beyond.permitted, beyond.inheritable, n - 32) === t) nums.push(n);
    }
    if (nums.length > 0) out += ` ${nums.join(',')}+${FLAG_TEXT[t]}`;
  }
  return out;
}

const CAP_NAMES: readonly string[] = CAPABILITIES.map((c) => c.libcapName);
