/**
 * A 64-bit capability set held as the kernel holds kernel_cap_t in its user ABI: two u32 words,
 * `lo` for caps 0..31 and `hi` for caps 32..63. Bits above CAP_LAST_CAP are kept out: every
 * constructor masks with VALID, as capset(2) does (`cap_valid` in kernel/capability.c).
 *
 * Instances are immutable; operations return new sets. Hot paths in the runtime work on the raw
 * words through the `*Words` helpers below and allocate nothing.
 */
import { CAP_COUNT, CAP_LAST_CAP, capByName, capTextName, suggestCapName } from './catalog.js';
import { inputError } from './errors.js';

/** Mask of valid bits in the high word: caps 32..CAP_LAST_CAP. */
export const VALID_HI = (2 ** (CAP_LAST_CAP - 31) - 1) >>> 0; // 0x1ff
export const VALID_LO = 0xffffffff;

export class CapSet {
  readonly lo: number;
  readonly hi: number;

  private constructor(lo: number, hi: number) {
    this.lo = lo >>> 0;
    this.hi = (hi & VALID_HI) >>> 0;
  }

  static readonly EMPTY = new CapSet(0, 0);
  static readonly FULL = new CapSet(VALID_LO, VALID_HI);

  /** From the two kernel words; bits above CAP_LAST_CAP are discarded. */
  static fromWords(lo: number, hi: number): CapSet {
    if (lo === 0 && (hi & VALID_HI) === 0) return CapSet.EMPTY;
    return new CapSet(lo, hi);
  }

  static fromBigInt(v: bigint): CapSet {
    return CapSet.fromWords(Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
  }

  static of(...caps: number[]): CapSet {
    let lo = 0;
    let hi = 0;
    for (const c of caps) {
      checkCapNumber(c);
      if (c < 32) lo |= 1 << c;
      else hi |= 1 << (c - 32);
    }
    return CapSet.fromWords(lo, hi);
  }

  /** From names such as `CAP_NET_RAW`, `cap_net_raw` or `net_raw` (any case). */
  static fromNames(names: Iterable<string>): CapSet {
    const nums: number[] = [];
    for (const n of names) nums.push(parseCapName(n));
    return CapSet.of(...nums);
  }

  /**
   * From the hex that /proc/PID/status prints (`000001ffffffffff`), with or without `0x`.
   * Strict: only hex digits, at most 16 of them.
   */
  static fromHex(text: string): CapSet {
    const t = text.trim().replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]{1,16}$/.test(t)) {
      throw inputError('bad-hex', `not a capability mask: "${text}" (want up to 16 hex digits, e.g. 000001ffffffffff)`);
    }
    const padded = t.padStart(16, '0');
    return CapSet.fromWords(Number.parseInt(padded.slice(8), 16), Number.parseInt(padded.slice(0, 8), 16));
  }

  /** From the kernel's `__user_cap_data_struct` array: [{effective,permitted,inheritable}] x2. */
  static fromUserData(lo: number, hi: number): CapSet {
    return CapSet.fromWords(lo, hi);
  }

  has(cap: number): boolean {
    if (cap < 0 || cap > CAP_LAST_CAP) return false;
    return cap < 32 ? ((this.lo >>> cap) & 1) === 1 : ((this.hi >>> (cap - 32)) & 1) === 1;
  }

  add(...caps: number[]): CapSet {
    return this.union(CapSet.of(...caps));
  }

  remove(...caps: number[]): CapSet {
    return this.minus(CapSet.of(...caps));
  }

  union(o: CapSet): CapSet {
    return CapSet.fromWords(this.lo | o.lo, this.hi | o.hi);
  }

  intersect(o: CapSet): CapSet {
    return CapSet.fromWords(this.lo & o.lo, this.hi & o.hi);
  }

  minus(o: CapSet): CapSet {
    return CapSet.fromWords(this.lo & ~o.lo, this.hi & ~o.hi);
  }

  /** Complement within the valid caps. */
  complement(): CapSet {
    return CapSet.fromWords(~this.lo, ~this.hi);
  }

  isSubsetOf(o: CapSet): boolean {
    return (this.lo & ~o.lo) === 0 && (this.hi & ~o.hi) === 0;
  }

  equals(o: CapSet): boolean {
    return this.lo === o.lo && this.hi === o.hi;
  }

  isEmpty(): boolean {
    return this.lo === 0 && this.hi === 0;
  }

  get size(): number {
    return popcount32(this.lo) + popcount32(this.hi);
  }

  /** Capability numbers in ascending order. */
  *[Symbol.iterator](): IterableIterator<number> {
    for (let c = 0; c < CAP_COUNT; c++) if (this.has(c)) yield c;
  }

  toArray(): number[] {
    return [...this];
  }

  /** Kernel names, ascending: `['CAP_CHOWN', 'CAP_NET_RAW']`. */
  toNames(): string[] {
    return this.toArray().map((c) => capTextName(c).toUpperCase());
  }

  toBigInt(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** 16 lowercase hex digits, as in /proc/PID/status. */
  toHex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }

  toString(): string {
    return `0x${this.toHex()}`;
  }

  toJSON(): string {
    return this.toHex();
  }
}

export function popcount32(x: number): number {
  let v = x >>> 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export function checkCapNumber(c: number): void {
  if (!Number.isInteger(c) || c < 0 || c > CAP_LAST_CAP) {
    throw inputError('bad-cap-number', `capability number ${c} is out of range (0..${CAP_LAST_CAP})`);
  }
}

/** Parse one capability name or decimal number; errors carry a did-you-mean. */
export function parseCapName(name: string): number {
  const trimmed = name.trim();
  if (/^\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    checkCapNumber(n);
    return n;
  }
  const n = capByName(trimmed);
  if (n !== undefined) return n;
  const hint = suggestCapName(trimmed);
  throw inputError('unknown-cap', `unknown capability "${trimmed}"${hint ? ` (did you mean ${hint}?)` : ''}`);
}
