import type { CapSet } from '../../src/caps/capset.js';
import { capByName } from '../../src/caps/catalog.js';
import {
  Credential,
  type CredentialInit,
  createRuntime,
  type Runtime,
  type RuntimeOptions,
} from '../../src/runtime/index.js';

export const V1 = 0x19980330;
export const V2 = 0x20071026;
export const V3 = 0x20080522;
/** The §8 host's full set: all 41 caps minus CAP_SYS_RESOURCE (24). */
export const HOST_FULL = 0x1fffeffffffn;

/** Bit mask of capabilities by short name: caps('CHOWN', 'KILL') = 0x21n. */
export function caps(...names: string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const c = capByName(n);
    if (c === undefined) throw new Error(`unknown cap ${n}`);
    m |= 1n << BigInt(c);
  }
  return m;
}

/** A runtime with one process (tid 1000) holding the §8 start state, overridden by `init`. */
export function setup(init: CredentialInit = {}, opts: RuntimeOptions = {}): { rt: Runtime; tid: number } {
  const rt = createRuntime(opts);
  const cred = Credential.from({
    effective: HOST_FULL,
    permitted: HOST_FULL,
    bounding: HOST_FULL,
    ...init,
  });
  const t = rt.spawn(cred, { tid: 1000 });
  return { rt, tid: t.tid };
}

export interface Sets {
  e: bigint;
  p: bigint;
  i: bigint;
}

/** capget v3 of `pid` (0 = self), as 64-bit sets. */
export function get3(rt: Runtime, tid: number, pid = 0): Sets & { ret: number; errno: number } {
  const words = new Uint32Array(6);
  const r = rt.capget(tid, { version: V3, pid }, { words });
  const w = (lo: number, hi: number) => (BigInt(words[hi]!) << 32n) | BigInt(words[lo]!);
  return { ret: r.ret, errno: r.errno, e: w(0, 3), p: w(1, 4), i: w(2, 5) };
}

/** capset v3 with 64-bit sets. */
export function set3(rt: Runtime, tid: number, s: Sets, pid = 0): { ret: number; errno: number } {
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  const words = new Uint32Array([lo(s.e), lo(s.p), lo(s.i), hi(s.e), hi(s.p), hi(s.i)]);
  const r = rt.capset(tid, { version: V3, pid }, { words });
  return { ret: r.ret, errno: r.errno };
}

export function big(s: CapSet): bigint {
  return s.toBigInt();
}
